"""The quadratic losses of Lemma 3 for the random-feature model (12): population (7) and empirical (5).

With Θ := A/√m the explicit score-matching loss (7) is a quadratic form,

    L̃(Θ) = E_{t~U(t0,T)} λ(t) E_{p_t} ‖s_{t,θ} - ∇log p_t‖² = tr(Θ B1 Θᵀ) - 2 tr(Θ B2) + c,

with c = E λ ‖∇log p_t‖² and B1, B2 from :mod:`empirical.rf.coefficients` (exact in x in 1-D) or
:mod:`empirical.rf.coefficients_nd` (R^d, Gaussian mixtures: the Mehler series with a guaranteed bound
``rtol`` on B1's relative Frobenius error). The empirical loss L̂_n (DSM (5) on p̂0, exact noise
expectation) has the same form with p_t replaced by the diffused empirical measure
p̂_t = (1/n) Σ_i N(r x_i, σ_t² I), a Gaussian mixture, and the DSM constant ĉ = E_t λ d/σ_t². Option:
K seeded noise draws per training point (any d), the Monte-Carlo reference. The weighting λ(t) is
that of (6); :class:`~empirical.rf.quadratic.QuadraticLoss` is the form itself.

References
----------
arXiv:2311.01797, eqs. (5)-(7) and Lemma 3; docs/theory.md §3.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .coefficients import exact_coefficients, sample_coefficients, w1d
from .coefficients_nd import mixture_coefficients
from .relu_gram import RTOL
from .features import RandomFeatures
from .quadratic import WEIGHTINGS, QuadraticLoss, weighting
from ..quadrature import N_T_DEFAULT, TimeGrid, time_grid
from ..sde import LinearSDE, ou
from ..targets import Target, Target1D
from ..targets import empirical as empirical_target

def _no_fisher(t: float) -> float:
    """The empirical loss's constant is the DSM one (E λ d/σ_t²), not a Fisher information."""
    return 0.0


def _check_lams(lams: Iterable[str]) -> tuple[str, ...]:
    lams = tuple(lams)
    bad = [k for k in lams if k not in WEIGHTINGS]
    if bad or not lams:
        raise ValueError(f"lams must be a non-empty sequence of {WEIGHTINGS}, got {lams!r}")
    return lams


def _check_horizon(features: RandomFeatures, sde: LinearSDE) -> None:
    if not np.isclose(sde.T, features.T, rtol=1e-12, atol=0):
        raise ValueError(f"features.T must equal the SDE horizon T = {sde.T}, got {features.T}")


def _as_losses(coefs: dict, consts: dict, grid: TimeGrid, kind: str) -> dict[str, QuadraticLoss]:
    return {k: QuadraticLoss(*coefs[k], consts[k], k, grid.T, grid.t0, kind) for k in coefs}


def population_losses(
    target: Target,
    features: RandomFeatures,
    lams: Iterable[str] = ("std",),
    n_t: int = N_T_DEFAULT,
    t0: float = 0.0,
    samples: int | None = None,
    seed: int | None = None,
) -> dict[str, QuadraticLoss]:
    """Population losses L̃ (7) for several weightings in one pass over t (Lemma 3).

    Exact in x in 1-D (:func:`~empirical.rf.coefficients.exact_coefficients`) and in R^d when
    ``target.gaussian_mixture()`` is not None (:func:`~empirical.rf.coefficients_nd.mixture_coefficients`);
    c = Σ_t ω_t λ_t ``target.fisher_information(t)``. Other targets in R^d need ``samples=``.

    Parameters
    ----------
    target : Target1D or Target
        p0 and its forward SDE: a Target1D, or a target in R^d (``dim`` = d, e.g. a ProductTarget).
    features : RandomFeatures
        Frozen features of the model (12), with ``features.d`` = d (1 for a Target1D).
    lams : sequence of {"std", "var", "g2"}
        Weightings λ of (6), e.g. ("std", "g2"): the training weighting and the K1 weighting; 'std'
        is σ_t/√d (:func:`weighting` with the target's d).
    n_t, t0 : int, float
        The t-grid (:func:`empirical.quadrature.time_grid`): n_t >= 1, t0 in [0, T).
    samples, seed : int, optional
        If given, a Monte-Carlo reference instead (any d): ``samples`` draws of p_t (shape
        (samples, d)) per t node from ``default_rng(seed)``, regression target the exact score.

    Returns
    -------
    dict of weighting name -> QuadraticLoss
        Of kind 'population', or 'population-mc' with ``samples``; B2 of shape (m, d).

    Raises
    ------
    ValueError
        If ``lams`` is empty or holds an unknown weighting, ``features.T`` differs from the SDE
        horizon, ``features.d`` differs from the target's d, ``samples`` is not an integer >= 2, or
        ``target`` in R^d is not an isotropic Gaussian mixture and ``samples`` is not given.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.rf.features import draw_features
    >>> from empirical.rf.loss import population_losses
    >>> from empirical.targets import two_mode, two_mode_nd
    >>> L = population_losses(two_mode(3.0), draw_features(32, seed=0), ("std", "g2"), n_t=16)
    >>> A = L["std"].minimizer()
    >>> bool(L["std"].value(A) <= L["std"].value(np.zeros_like(A)))  # the minimiser beats A = 0
    True

    >>> L3 = population_losses(two_mode_nd(3.0, 3), draw_features(16, d=3, seed=0), n_t=16)["std"]
    >>> L3.minimizer().shape
    (3, 16)
    """
    lams = _check_lams(lams)
    _check_horizon(features, target.sde)
    one_d = isinstance(target, Target1D)
    d = 1 if one_d else int(target.dim)
    if one_d:
        w1d(features)
    elif features.d != d:
        raise ValueError(f"features.d must equal the target's dimension {d}, got {features.d}")
    grid = time_grid(target.sde.T, n_t, t0)
    lam_values = {k: weighting(k, target.sde, grid.t, d) for k in lams}
    if samples is None:
        if one_d:
            coefs = exact_coefficients(target, features, grid, lam_values)
        else:
            mixture = getattr(target, "gaussian_mixture", lambda: None)()
            if mixture is None:
                raise ValueError(f"target {getattr(target, 'name', type(target).__name__)!r} in R^{d} is not an "
                                 "isotropic Gaussian mixture, so its population loss has no exact form: pass samples=")
            coefs, _ = mixture_coefficients(*mixture, features, grid, lam_values, target.sde, target.fisher_information)
        fisher = np.array([target.fisher_information(t) for t in grid.t])
        consts = {k: float(np.sum(grid.w * lam_values[k] * fisher)) for k in lams}
        return _as_losses(coefs, consts, grid, "population")
    if not (isinstance(samples, (int, np.integer)) and samples >= 2):
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(grid.t.size)]

    def draw(j: int, t: float) -> tuple[np.ndarray, np.ndarray]:
        x = target.sample(int(samples), rngs[j], t)
        return x.reshape(int(samples), d), target.score(t, x).reshape(int(samples), d)

    coefs, consts = sample_coefficients(features, grid, lam_values, draw)
    return _as_losses(coefs, consts, grid, "population-mc")


def population_loss(target: Target, features: RandomFeatures, lam: str = "std", **kwargs) -> QuadraticLoss:
    """The population loss L̃ (7) for one weighting; see :func:`population_losses`.

    Parameters
    ----------
    lam : {"std", "var", "g2"}, default "std"
        The weighting λ of (6); ``target``, ``features`` and ``**kwargs`` as in :func:`population_losses`.

    Returns
    -------
    QuadraticLoss
    """
    return population_losses(target, features, (lam,), **kwargs)[lam]


def empirical_losses(
    x_train: np.ndarray,
    features: RandomFeatures,
    sde: LinearSDE | None = None,
    lams: Iterable[str] = ("std",),
    n_t: int = N_T_DEFAULT,
    t0: float = 0.0,
    noise_draws: int | None = None,
    seed: int | None = None,
    rtol: float = RTOL,
    grid: TimeGrid | None = None,
) -> dict[str, QuadraticLoss]:
    """Empirical DSM losses L̂_n ((5) on p̂0) for several weightings in one pass over t.

    Default: exact noise expectation (in 1-D exactly; in R^d as the mixture of point masses x_i with the
    Mehler series of :func:`~empirical.rf.coefficients_nd.mixture_coefficients`, ‖ΔB1‖_F <= rtol ‖B1‖_F), L̂_n = tr(Θ B̂1 Θᵀ) - 2 tr(Θ B̂2) + ĉ with B̂ from p̂_t and
    ĉ = E_t λ d/σ_t². For 'g2', ĉ = E_t 2d/σ_t² diverges at t -> 0, so t0 > 0 is required there.
    With ``noise_draws`` = K (any d): K standard-normal draws per training point and t node from
    ``default_rng(seed)``, DSM regression target -ε/σ_t, all three coefficients as sample averages.

    Parameters
    ----------
    x_train : ndarray of shape (n,) or (n, d)
        The training set, finite, n >= 1.
    features : RandomFeatures
        Frozen features of the model (12).
    sde : LinearSDE, optional
        Forward process (2); OU with the features' horizon by default. Its T must equal ``features.T``.
    lams : sequence of {"std", "var", "g2"}, default ("std",)
        Weightings λ of (6).
    n_t, t0 : int, float
        The t-grid (:func:`empirical.quadrature.time_grid`): n_t >= 1, t0 in [0, T), > 0 for 'g2'.
    noise_draws, seed : int, optional
        K >= 1 noise draws per point from ``default_rng(seed)`` (the Monte-Carlo reference); None
        is the exact expectation.
    rtol : float, default 1e-8
        In R^d (d >= 2, exact path): the guaranteed bound on B̂1's relative Frobenius error.
    grid : TimeGrid, optional
        Nodes and weights of the t-expectation in place of ``time_grid(sde.T, n_t, t0)`` (``n_t`` and
        ``t0`` are then not used), e.g. one node of weight 1 for the loss at a fixed t; its T must
        be the SDE's and its nodes > 0.

    Returns
    -------
    dict of weighting name -> QuadraticLoss
        Of kind 'empirical', or 'empirical-mc' with ``noise_draws``.

    Raises
    ------
    ValueError
        If an argument is outside the range above or the shapes do not match.

    Examples
    --------
    The exact noise expectation agrees with K = 200 noise draws per point up to Monte-Carlo error:

    >>> import numpy as np
    >>> from empirical.rf.features import draw_features
    >>> from empirical.rf.loss import empirical_losses
    >>> from empirical.targets import two_mode
    >>> x = two_mode(3.0).sample(16, np.random.default_rng(0))
    >>> f = draw_features(8, seed=0)
    >>> exact = empirical_losses(x, f, n_t=16)["std"]
    >>> mc = empirical_losses(x, f, n_t=16, noise_draws=200, seed=0)["std"]
    >>> exact.kind, mc.kind
    ('empirical', 'empirical-mc')
    >>> bool(np.abs(exact.B1 - mc.B1).max() < 0.02 * np.abs(exact.B1).max())
    True
    """
    sde = sde or ou(features.T)
    _check_horizon(features, sde)
    lams = _check_lams(lams)
    x = np.asarray(x_train, dtype=float)
    x = x.reshape(-1, 1) if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[1] != features.d or x.shape[0] < 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"x_train must be a finite array of shape (n, {features.d}) with n >= 1, got {x.shape}")
    if grid is None:
        if "g2" in lams and t0 <= 0:
            raise ValueError(f"t0 must be > 0 for the empirical 'g2' loss (its DSM constant E 2d/σ_t² diverges), "
                             f"got {t0!r}")
        grid = time_grid(sde.T, n_t, t0)
    elif not (isinstance(grid, TimeGrid) and grid.T == sde.T and np.all(grid.t > 0) and np.all(grid.t <= sde.T)):
        raise ValueError(f"grid must be a TimeGrid with T = {sde.T} and nodes in (0, T]")
    d = features.d
    lam_values = {k: weighting(k, sde, grid.t, d) for k in lams}
    sigma2 = sde.sigma2(grid.t)
    if noise_draws is None:
        if d == 1:
            coefs = exact_coefficients(empirical_target(x[:, 0], sde=sde), features, grid, lam_values)
        else:
            n = x.shape[0]
            coefs, _ = mixture_coefficients(x, np.full(n, 1.0 / n), 0.0, features, grid, lam_values, sde,
                                            fisher=_no_fisher, rtol=rtol)
        consts = {k: float(np.sum(grid.w * lam_values[k] * d / sigma2)) for k in lams}
        kind = "empirical"
    else:
        if not (isinstance(noise_draws, (int, np.integer)) and noise_draws >= 1):
            raise ValueError(f"noise_draws must be an integer >= 1, got {noise_draws!r}")
        rng = np.random.default_rng(seed)
        r, s = sde.r(grid.t), np.sqrt(sigma2)

        def draw(j: int, t: float) -> tuple[np.ndarray, np.ndarray]:
            eps = rng.standard_normal((x.shape[0] * noise_draws, d))
            return r[j] * np.repeat(x, noise_draws, axis=0) + s[j] * eps, -eps / s[j]

        coefs, consts = sample_coefficients(features, grid, lam_values, draw)
        kind = "empirical-mc"
    return _as_losses(coefs, consts, grid, kind)


def empirical_loss(x_train: np.ndarray, features: RandomFeatures, sde: LinearSDE | None = None,
                   lam: str = "std", **kwargs) -> QuadraticLoss:
    """The empirical DSM loss L̂_n for one weighting; see :func:`empirical_losses`.

    Parameters
    ----------
    lam : {"std", "var", "g2"}, default "std"
        The weighting λ of (6); the other parameters and ``**kwargs`` as in :func:`empirical_losses`.

    Returns
    -------
    QuadraticLoss
    """
    return empirical_losses(x_train, features, sde, (lam,), **kwargs)[lam]
