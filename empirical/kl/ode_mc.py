"""K3 and the ODE negative log-likelihood in R^d by Monte Carlo (Remark 3, docs/theory.md §4).

The probability-flow ODE sampler (4), run from π = N(0, I_d) at T down to t0, has the density
log q^ODE(x) = log π(x(T)) + ∫_{t0}^T [f d - ½ g² ∇·s_θ(t, x(t))] dt along the forward flow from x
(the instantaneous change of variables of Remark 3; :func:`empirical.kl.flow_ode.probability_flow`).
For x_k iid from p_{t0}:

    K3 = KL(p_{t0} ‖ q^ODE) ≈ mean_k [log p_{t0}(x_k) - log q^ODE(x_k)],   NLL ≈ -mean_k log q^ODE(x_k),

both with their Monte Carlo standard errors. In 1-D the deterministic :func:`empirical.kl.kl_ode` is the
reference; in d > 1 this estimator is the only one. The NLL needs no p_{t0}: on train and held-out points
it gives the generalisation gap of docs/theory.md §4 (:func:`ode_logq`).

For the random-feature model (12) the score and its analytic divergence
∇·s = (1/m) Σ_i 1[w_iᵀx + u_iᵀe(t) > 0] a_iᵀw_i come from one pre-activation (:class:`FusedRFScore`),
and the points are flowed in chunks of about :data:`CHUNK_ELEMENTS` / m so that the (chunk, m) arrays
stay in cache and the memory is bounded independently of N.

References
----------
arXiv:2311.01797, probability-flow ODE (4), random-feature model (12) and Remark 3; docs/theory.md §4.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

from ..checks import check_int, check_t0
from ..rf.features import RFScore
from ..quadrature import time_steps
from ..scores import ScoreModel
from ..sde import LinearSDE
from ..targets import ProductTarget, Target
from .flow_ode import METHODS, probability_flow

CHUNK_ELEMENTS = 1 << 19
"""Points per chunk times features m (4 MB per (chunk, m) array, so that they stay in cache): chunks of 512 points
beat one chunk of 10^4 at d = 16, m = 1024, and at m = 4096 (chunks of 128) the peak traced memory stays near
19 MiB where one chunk of 10^4 points would hold 330 MB per (N, m) array."""


@dataclass(frozen=True)
class ODEKL:
    """Monte Carlo K3 and ODE-NLL of one model, in nats, with standard errors and intervals.

    Attributes
    ----------
    kl, kl_se : float
        mean(log p_{t0} - log q^ODE) over the samples, and its standard error (sample sd / √N).
    kl_ci : (float, float)
        Student-t interval at ``level`` for K3.
    nll, nll_se : float
        -mean log q^ODE over the same samples, and its standard error.
    nll_ci : (float, float)
        Student-t interval at ``level`` for the NLL.
    n_samples, d : int
        Number of samples N and dimension d.
    level : float
        Confidence level of the intervals.
    """

    kl: float
    kl_se: float
    kl_ci: tuple[float, float]
    nll: float
    nll_se: float
    nll_ci: tuple[float, float]
    n_samples: int
    d: int
    level: float

    @property
    def nll_per_dim(self) -> float:
        """NLL / d (nats per dimension)."""
        return self.nll / self.d

    @property
    def entropy(self) -> float:
        """nll - kl = -mean log p_{t0}: the Monte Carlo entropy of p_{t0} on the same samples."""
        return self.nll - self.kl


@dataclass(frozen=True, eq=False)
class FusedRFScore:
    """The random-feature score (12) that evaluates s_θ and ∇·s_θ from one pre-activation.

    ``__call__`` and ``dx`` are those of the wrapped :class:`~empirical.rf.features.RFScore`;
    ``score_and_dx`` returns both from a single z = W x + U e(t) (used by
    :func:`~empirical.kl.flow_ode.probability_flow`), bit-identical to the two separate calls:
    s = (1/m) A relu(z) and ∇·s = (1/m) Σ_i 1[z_i > 0] a_iᵀw_i. It writes z and 1[z > 0] into two
    (N, m) work arrays kept between calls (no allocation per evaluation, so no page faults under
    glibc's default allocator); one instance per thread.

    Parameters
    ----------
    rf : RFScore
        One model (not a stack).
    """

    rf: RFScore

    def __post_init__(self) -> None:
        A = self.rf._single()
        object.__setattr__(self, "_aw", np.einsum("ji,ij->i", A, self.rf.features.W))
        object.__setattr__(self, "_work", (np.empty((0, 0)), np.empty((0, 0))))

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        """s_θ(t, x), as :meth:`RFScore.__call__`."""
        return self.rf(t, x)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        """∇·s_θ(t, x), shape (N,), as :meth:`RFScore.dx`."""
        return self.rf.dx(t, x)

    def score_and_dx(self, t: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(s_θ of shape (N, d), ∇·s_θ of shape (N,)) for x of shape (N, d), from one pre-activation."""
        f = self.rf.features
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != f.d:
            raise ValueError(f"x must have shape (N, {f.d}), got {x.shape}")
        z, active = self._work
        if z.shape != (x.shape[0], f.m):
            z, active = np.empty((x.shape[0], f.m)), np.empty((x.shape[0], f.m))
            object.__setattr__(self, "_work", (z, active))
        np.matmul(x, f.W.T, out=z)
        z += f.bias(t)
        np.greater(z, 0.0, out=active)
        return np.maximum(z, 0.0, out=z) @ self.rf.A.T / f.m, active @ self._aw / f.m


@dataclass(frozen=True)
class ProductExactScore:
    """The exact score of a :class:`~empirical.targets.ProductTarget` with its divergence.

    ∇·∇log p_t(x) = Σ_j (log f_{j,t})''((Qᵀx)_j): the trace of Q diag(·) Qᵀ does not depend on Q.

    Parameters
    ----------
    target : ProductTarget
    """

    target: ProductTarget

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        """∇log p_t(x), shape (N, d)."""
        return self.target.score(t, x)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        """Δ log p_t(x), shape (N,)."""
        y = self.target.to_frame(x)
        return sum(f.score_dx(t, y[:, j]) for j, f in enumerate(self.target.factors))


def exact_score_nd(target: ProductTarget) -> ProductExactScore:
    """The exact score of a product target in R^d, with its divergence (the reference model).

    Parameters
    ----------
    target : ProductTarget

    Returns
    -------
    ProductExactScore

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.kl.ode_mc import exact_score_nd
    >>> from empirical.targets import ProductTarget, gaussian
    >>> s = exact_score_nd(ProductTarget([gaussian(0.0, 1.0), gaussian(0.0, 1.0)]))
    >>> s(0.5, np.ones((1, 2))).tolist(), s.dx(0.5, np.ones((1, 2))).tolist()
    ([[-1.0, -1.0]], [-2.0])
    """
    if not isinstance(target, ProductTarget):
        raise ValueError(f"target must be a ProductTarget, got {type(target).__name__}")
    return ProductExactScore(target)


def _fused(score: ScoreModel) -> ScoreModel:
    return FusedRFScore(score) if isinstance(score, RFScore) and not score.stacked else score


def _check_score(score: ScoreModel, t0: float, x: np.ndarray) -> None:
    """Evaluate ``score`` on two points: ValueError naming d or the shapes when it does not fit."""
    d = 1 if x.ndim == 1 else x.shape[1]
    features = getattr(score, "features", None)
    if features is not None and getattr(features, "d", d) != d:
        raise ValueError(f"score has dimension d = {features.d} but the target has d = {d}")
    probe = x[:2]
    try:
        s, div = np.asarray(score(t0, probe)), np.asarray(score.dx(t0, probe))
    except ValueError as err:
        raise ValueError(f"score does not accept points of the target's shape (N, d) with d = {d}: {err}") from err
    if s.ndim == 2 and s.shape[0] == len(probe) and s.shape[1] != d:
        raise ValueError(f"score returns dimension d = {s.shape[1]} but the target has d = {d}")
    if s.shape != probe.shape and not (d == 1 and s.shape == probe.shape[:1]):
        raise ValueError(f"score must return shape (N, {d}) for x of shape (N, {d}), got {s.shape} for N = {len(probe)}")
    if div.shape != probe.shape[:1]:
        raise ValueError(f"score.dx must return shape (N,) for N points, got {div.shape} for N = {len(probe)}")


def ode_logq(sde: LinearSDE, score: ScoreModel, x: np.ndarray, t0: float = 0.0, n_steps: int = 64,
             power: float = 2.0, method: str = "rk4", chunk: int | None = None) -> np.ndarray:
    """log q^ODE(x) at t0 for points x of shape (N, d) (or (N,) in 1-D), flowed in chunks (Remark 3).

    Parameters
    ----------
    sde : LinearSDE
        The forward SDE (2).
    score : ScoreModel
        The model score with ``dx`` (the divergence ∇·s); an :class:`~empirical.rf.features.RFScore` is
        evaluated through :class:`FusedRFScore`.
    x : array_like of shape (N, d), or (N,) for a 1-D score
        Points at t0 (data, train or held-out).
    t0 : float, default 0.0
        In [0, T).
    n_steps, power : int, float, default 64, 2.0
        Steps of :func:`~empirical.quadrature.time_steps` (>= 1) and their grading (>= 1).
    method : {"rk4", "RK45", "DOP853", "Radau"}, default "rk4"
    chunk : int, optional
        Points per flow (>= 1); by default ``CHUNK_ELEMENTS // m`` for a random-feature score with m
        features (at least 64), else 4096. Peak memory is a few (chunk, m) float arrays.

    Notes
    -----
    BLAS runs single-threaded for the duration: the products are thin ((chunk, d) by (d, m)) and the
    work is mostly elementwise, so a second BLAS thread gains nothing on an idle machine and loses several
    times on a loaded one.
    Peak memory: two (chunk, m) work arrays of :class:`FusedRFScore` and the (N, d) points.

    Returns
    -------
    ndarray of shape (N,)

    Raises
    ------
    ValueError
        If an argument is outside its range, or the score's output does not have the points' shape.

    Examples
    --------
    N(0, 1) is invariant under OU: its exact score carries π to itself, so q^ODE = π:

    >>> import numpy as np
    >>> from empirical.kl.ode_mc import exact_score_nd, ode_logq
    >>> from empirical.targets import ProductTarget, gaussian
    >>> p = ProductTarget([gaussian(0.0, 1.0)] * 2)
    >>> x = np.array([[0.0, 0.0], [1.0, -2.0]])
    >>> bool(np.allclose(ode_logq(p.sde, exact_score_nd(p), x), p.logpdf(0.0, x), atol=1e-10))
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    t_nodes = time_steps(t0, sde.T, n_steps, power)
    x = np.asarray(x, dtype=float)
    if x.ndim not in (1, 2) or x.shape[0] < 1:
        raise ValueError(f"x must have shape (N,) or (N, d) with N >= 1, got {x.shape}")
    _check_score(score, float(t_nodes[0]), x)
    score = _fused(score)
    if chunk is None:
        m = score.rf.features.m if isinstance(score, FusedRFScore) else None
        chunk = max(64, CHUNK_ELEMENTS // m) if m else 4096
    chunk = check_int("chunk", chunk, 1)
    with threadpool_limits(limits=1, user_api="blas"):
        return np.concatenate([probability_flow(sde, score, x[i:i + chunk], t_nodes, method).logq
                               for i in range(0, x.shape[0], chunk)])


def _mean_ci(v: np.ndarray, level: float) -> tuple[float, float, tuple[float, float]]:
    mean, se = float(np.mean(v)), float(np.std(v, ddof=1) / np.sqrt(v.size))
    half = float(stats.t.ppf(0.5 + 0.5 * level, v.size - 1)) * se
    return mean, se, (mean - half, mean + half)


def ode_kl_mc(target: Target, score: ScoreModel, t0: float = 0.0, n_samples: int = 10_000, seed: int = 0,
              n_steps: int = 64, power: float = 2.0, method: str = "rk4", level: float = 0.95,
              chunk: int | None = None) -> ODEKL:
    """K3 = KL(p_{t0} ‖ q^ODE) and the ODE-NLL by Monte Carlo over x ~ p_{t0}, in any d (Remark 3).

    The points are ``target.sample(n_samples, default_rng(seed), t0)``; log q^ODE is the instantaneous
    change of variables (4) with the analytic divergence (:func:`ode_logq`) on the steps of
    :func:`~empirical.quadrature.time_steps` (as :func:`~empirical.kl.kl_ode`).

    Errors. The Monte Carlo error is the reported standard error (Student-t intervals at ``level``).
    The time-discretisation error is not in it; measured as |K3(n_steps) - K3(2 n_steps)| on the same
    samples (tests/empirical/test_ode_mc.py): for Gaussian targets with a Gaussian model score (d = 3,
    smooth affine flow) 5e-8 from 16 to 32 steps and 6e-10 from 64 to 128; for a fitted m = 64
    random-ReLU score on ``two_mode(3)`` (d = 1) 9e-5 from 64 to 128 steps against an SE of 1.1e-2
    at N = 4000; for a random m = 1024 model in d = 16, 4e-6 against an SE of 6e-2 at N = 2000.
    ∇·s of a ReLU model jumps at its kinks, so the divergence form is first order in time there
    (docs/theory.md §4): compare n_steps with 2 n_steps to judge it for another model.

    Parameters
    ----------
    target : Target
        p0 with its forward SDE: ``logpdf(t, x)`` and ``sample(n, rng, t)`` for x of shape (N, d)
        (a :class:`~empirical.targets.ProductTarget`), or of shape (N,) for a 1-D target.
    score : ScoreModel
        The model score, ``score(t, x)`` of the points' shape (or (N,) when d = 1) with ``dx`` the
        divergence of shape (N,); e.g. :func:`~empirical.rf.features.rf_score`, :func:`exact_score_nd`.
    t0 : float, default 0.0
        Where the sampler stops, in [0, T); the reference density is p_{t0}.
    n_samples : int, default 10_000
        Monte Carlo sample size N, >= 2.
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` for the samples.
    n_steps, power : int, float, default 64, 2.0
        Time steps (>= 1) and their grading (>= 1) towards t0.
    method : {"rk4", "RK45", "DOP853", "Radau"}, default "rk4"
        Integrator of :func:`~empirical.kl.flow_ode.probability_flow`.
    level : float, default 0.95
        Confidence level of the intervals, in (0, 1).
    chunk : int, optional
        Points per flow, see :func:`ode_logq`.

    Returns
    -------
    ODEKL
        In nats; ``nll_per_dim`` per dimension.

    Raises
    ------
    ValueError
        If ``n_samples`` < 2, ``t0`` is not in [0, T), ``level`` is not in (0, 1), another argument is
        outside its range, the score's dimension differs from the target's, or the score's output does
        not have the points' shape.

    Examples
    --------
    With the exact score the ODE carries p_{t0} onto p_T exactly, and KL is invariant under that
    bijection: K3 = KL(p_T ‖ π) = ½ (0.5 e^{-1})² = 0.0169, inside the interval:

    >>> import numpy as np
    >>> from empirical.kl.ode_mc import exact_score_nd, ode_kl_mc
    >>> from empirical.sde import ou
    >>> from empirical.targets import ProductTarget, gaussian
    >>> sde = ou(1.0)
    >>> p = ProductTarget([gaussian(0.5, 1.0, sde=sde), gaussian(0.0, 1.0, sde=sde)])
    >>> r = ode_kl_mc(p, exact_score_nd(p), n_samples=2000, n_steps=16)
    >>> bool(r.kl_ci[0] < p.kl_to_prior() < r.kl_ci[1]), r.d, round(r.kl_se, 4)
    (True, 2, 0.0041)
    """
    n_samples = check_int("n_samples", n_samples, 2)
    t0 = check_t0(t0, target.sde.T)
    if not (np.isfinite(level) and 0.0 < level < 1.0):
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    x = np.asarray(target.sample(n_samples, np.random.default_rng(seed), t0), dtype=float)
    logq = ode_logq(target.sde, score, x, t0, n_steps, power, method, chunk)
    logp = np.asarray(target.logpdf(t0, x), dtype=float)
    kl, kl_se, kl_ci = _mean_ci(logp - logq, level)
    nll, nll_se, nll_ci = _mean_ci(-logq, level)
    return ODEKL(kl=kl, kl_se=kl_se, kl_ci=kl_ci, nll=nll, nll_se=nll_se, nll_ci=nll_ci, n_samples=n_samples,
                 d=1 if x.ndim == 1 else x.shape[1], level=float(level))
