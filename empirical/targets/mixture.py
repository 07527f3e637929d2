"""One-dimensional Gaussian mixtures p0 with their exact diffused densities p_t and scores.

A Gaussian mixture stays a Gaussian mixture under the linear SDE (2): component (m_k, s_k^2)
becomes (r m_k, r^2 s_k^2 + sigma_t^2). This covers the two-mode mixture of Theorem 2
(docs/theory.md §6), a single Gaussian (closed-form reference for every routine), and the empirical
measure p̂0 (variances 0), whose diffusion p̂_t is the target of the empirical loss (docs/theory.md §3).

References
----------
arXiv:2311.01797, kernel (8) and Theorem 2; docs/theory.md §1, §6.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, special

from ..quadrature import gl_panels
from ..sde import LinearSDE, ou
from .memo import memoised

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


@dataclass(frozen=True)
class GaussianMixture1D:
    """p0 = sum_k q_k N(m_k, s_k^2) in 1-D, diffused by ``sde``.

    Parameters
    ----------
    means, variances, weights : 1-D arrays of equal length
        Component means m_k, variances s_k^2 >= 0 (0 gives point masses) and weights q_k > 0
        summing to 1 (all finite).
    sde : LinearSDE
        Forward process; OU with T = 5 by default.
    name : str, default "mixture"
        Used in reports.

    Raises
    ------
    ValueError
        If an entry is not finite, a variance is < 0, or the weights are not > 0 summing to 1.

    Notes
    -----
    Methods take ``t`` in [0, T] and points ``x`` of any shape; densities and scores at t = 0
    need all variances > 0.
    """

    means: np.ndarray
    variances: np.ndarray
    weights: np.ndarray
    sde: LinearSDE = field(default_factory=ou)
    name: str = "mixture"

    def __post_init__(self) -> None:
        m = np.atleast_1d(np.asarray(self.means, dtype=float))
        v = np.broadcast_to(np.asarray(self.variances, dtype=float), m.shape).copy()
        q = np.broadcast_to(np.asarray(self.weights, dtype=float), m.shape).copy()
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(v)) and np.all(np.isfinite(q))):
            raise ValueError("means, variances and weights must be finite")
        if np.any(v < 0):
            raise ValueError("variances must be >= 0")
        if np.any(q <= 0) or not np.isclose(q.sum(), 1.0, rtol=0, atol=1e-9):
            raise ValueError(f"weights must be > 0 and sum to 1, got sum {q.sum()!r}")
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "variances", v)
        object.__setattr__(self, "weights", q / q.sum())

    dim = 1

    def components(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Means and variances of the components of p_t."""
        r = float(self.sde.r(t))
        return r * self.means, r**2 * self.variances + float(self.sde.sigma2(t))

    def _log_terms(self, t: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log(q_k N(x; m_k, v_k)) with a trailing component axis, and (x - m_k) / v_k."""
        mk, vk = self.components(t)
        if np.any(vk <= 0):
            raise ValueError("p_t has a point mass at t = 0 (variance 0): evaluate at t > 0")
        dx = np.asarray(x, dtype=float)[..., None] - mk
        logc = np.log(self.weights) - 0.5 * dx**2 / vk - 0.5 * np.log(vk) - _LOG_SQRT_2PI
        return logc, dx / vk

    def logpdf(self, t: float, x: np.ndarray) -> np.ndarray:
        """log p_t(x) by log-sum-exp over the components; ValueError at a point mass (variance 0)."""
        return special.logsumexp(self._log_terms(t, x)[0], axis=-1)

    def pdf(self, t: float, x: np.ndarray) -> np.ndarray:
        """p_t(x) = exp(:meth:`logpdf`)."""
        return np.exp(self.logpdf(t, x))

    def score(self, t: float, x: np.ndarray) -> np.ndarray:
        """Exact score d/dx log p_t(x) (responsibility-weighted component scores)."""
        logc, z = self._log_terms(t, x)
        resp = np.exp(logc - special.logsumexp(logc, axis=-1, keepdims=True))
        return -np.sum(resp * z, axis=-1)

    def score_dx(self, t: float, x: np.ndarray) -> np.ndarray:
        """d/dx of the score: sum_k resp_k (z_k^2 - 1/v_k) - (sum_k resp_k z_k)^2, z_k = (x - m_k)/v_k."""
        logc, z = self._log_terms(t, x)
        resp = np.exp(logc - special.logsumexp(logc, axis=-1, keepdims=True))
        vk = self.components(t)[1]
        return np.sum(resp * (z**2 - 1.0 / vk), axis=-1) - np.sum(resp * z, axis=-1) ** 2

    def partial_moments(self, t: float, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """F_k(z) = int_{-inf}^z x^k p_t(x) dx for k = 0, 1, 2, exactly (point masses allowed).

        Per component N(m, s^2) with a = (z - m)/s: F0 = Phi(a), F1 = m Phi(a) - s phi(a),
        F2 = (m^2 + s^2) Phi(a) - s (m + z) phi(a).
        """
        mk, vk = self.components(t)
        zc = np.asarray(z, dtype=float)[..., None]
        sk = np.sqrt(vk)
        pos = sk > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(pos, (zc - mk) / np.where(pos, sk, 1.0), np.where(zc >= mk, np.inf, -np.inf))
        cdf = special.ndtr(a)
        pdf = np.where(np.isfinite(a), np.exp(-0.5 * np.where(np.isfinite(a), a, 0.0) ** 2), 0.0) / np.sqrt(2 * np.pi)
        q = self.weights
        f0 = cdf @ q
        f1 = (mk * cdf - sk * pdf) @ q
        f2 = ((mk**2 + vk) * cdf - sk * (mk + zc) * pdf) @ q
        return f0, f1, f2

    def cdf(self, t: float, x: np.ndarray) -> np.ndarray:
        """P_{p_t}(X <= x) = F_0(x) of :meth:`partial_moments` (point masses allowed)."""
        return self.partial_moments(t, x)[0]

    def sample(self, n: int, rng: np.random.Generator, t: float = 0.0) -> np.ndarray:
        """n iid draws from p_t (default p0)."""
        mk, vk = self.components(t)
        k = rng.choice(len(self.weights), size=n, p=self.weights)
        return mk[k] + np.sqrt(vk[k]) * rng.standard_normal(n)

    def support(self, t: float = 0.0, tail: float = 12.0) -> tuple[float, float]:
        """An interval holding all but a negligible tail (``tail`` standard deviations) of p_t."""
        mk, vk = self.components(t)
        s = np.sqrt(vk)
        return float(np.min(mk - tail * s)), float(np.max(mk + tail * s))

    def kl_to_prior(self, t: float | None = None) -> float:
        """KL(p_t ‖ π), π = N(0, ``sde.prior_var``) (N(0, 1) for OU), by adaptive quadrature; t defaults to T."""
        t = self.sde.T if t is None else t
        return memoised(("kl_to_prior", *self._key(t), float(self.sde.prior_var)), lambda: self._kl_to_prior(t))

    def _key(self, t: float) -> tuple[bytes, bytes, bytes]:
        """The exact inputs of any functional of p_t: its component means and variances and the weights."""
        mk, vk = self.components(t)
        return mk.tobytes(), vk.tobytes(), self.weights.tobytes()

    def _kl_to_prior(self, t: float) -> float:
        lo, hi = self.support(t)
        v = self.sde.prior_var
        half_log_v = 0.5 * np.log(v)

        def integrand(x: float) -> float:
            lp = float(self.logpdf(t, np.array(x)))
            return np.exp(lp) * (lp + 0.5 * x * x / v + half_log_v + _LOG_SQRT_2PI)

        pts = np.unique(np.clip(self.components(t)[0], lo, hi))
        val, _ = integrate.quad(integrand, lo, hi, points=pts if len(pts) < 50 else None, limit=500,
                                epsabs=1e-13, epsrel=1e-10)
        return max(val, 0.0)

    def _panels(self, t: float) -> tuple[float, float, int]:
        """Panels fine enough for any smooth functional of the mixture: half the smaller of the narrowest
        component std and the width std²/spread of the responsibility switch between components."""
        mk, vk = self.components(t)
        s = float(np.sqrt(vk.min()))
        spread = float(np.ptp(mk))
        h = 0.5 * (s if spread == 0 else min(s, s * s / spread))
        lo, hi = self.support(t)
        return lo, hi, int(np.ceil((hi - lo) / h))

    def fisher_information(self, t: float, max_panels: int = 200_000) -> float:
        """E_{p_t}|∇log p_t|², the per-t constant c(t) of Lemma 3 for the population loss.

        Composite 8-point Gauss-Legendre panels over ``support(t)`` (see ``_panels``); memoised per process.
        """
        return memoised(("fisher", *self._key(t), int(max_panels)), lambda: self._fisher(t, max_panels))

    def _fisher(self, t: float, max_panels: int) -> float:
        lo, hi, n = self._panels(t)
        if n > max_panels:
            raise ValueError(f"fisher_information needs {n} panels at t = {t} (> max_panels = {max_panels}): "
                             "p_t is too narrow; use t > 0 further from 0 or the DSM constant")
        x, w = gl_panels(lo, hi, n)
        return float(w @ (self.score(t, x) ** 2 * self.pdf(t, x)))


def gaussian(mean: float = 0.0, var: float = 1.0, *, sde: LinearSDE | None = None) -> GaussianMixture1D:
    """A single Gaussian N(mean, var): closed forms everywhere, the reference case for every routine.

    Under OU, p_t = N(mean e^{-t}, var e^{-2t} + 1 - e^{-2t}); N(0, 1) is invariant, so its p_T is
    exactly the prior π and every KL of its exact score is pure discretisation error.

    Parameters
    ----------
    mean : float, default 0.0
        Mean, finite.
    var : float, default 1.0
        Variance, >= 0 (0 is a point mass).
    sde : LinearSDE, optional
        Forward process (2); OU with T = 5 by default.

    Returns
    -------
    GaussianMixture1D
        One component, named "gaussian".

    Raises
    ------
    ValueError
        If ``mean`` or ``var`` is not finite, or ``var`` < 0.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.targets import gaussian
    >>> p = gaussian(0.0, 1.0)
    >>> bool(np.isclose(p.pdf(2.0, np.array([0.0]))[0], 1 / np.sqrt(2 * np.pi)))  # N(0, 1) at every t
    True
    >>> p.kl_to_prior()
    0.0
    >>> mean, var = gaussian(2.0, 1.0).components(1.0)
    >>> bool(np.isclose(mean[0], 2 * np.exp(-1.0))), bool(np.isclose(var[0], 1.0))  # r(t) = e^{-t}
    (True, True)
    """
    return GaussianMixture1D(np.array([mean]), np.array([var]), np.array([1.0]), sde or ou(), name="gaussian")


def two_mode(mu: float, weights: tuple[float, float] = (0.5, 0.5), *,
             sde: LinearSDE | None = None) -> GaussianMixture1D:
    """Theorem 2's target p0 = q1 N(-µ, 1) + q2 N(µ, 1); q1 weighs the mode at -µ (docs/theory.md §6).

    Under OU the diffused p_t = q1 N(-µ e^{-t}, 1) + q2 N(µ e^{-t}, 1) keeps unit variances, so the
    score and KL(p_T ‖ π) are exact.

    Parameters
    ----------
    mu : float
        Mode position µ > 0 (the modes are 2µ apart).
    weights : (q1, q2)
        Positive mixture weights summing to 1.
    sde : LinearSDE, optional
        Forward process (2); OU with T = 5 by default.

    Returns
    -------
    GaussianMixture1D

    Raises
    ------
    TypeError
        If ``mu`` is not a real number (a bool or a string is not).
    ValueError
        If ``mu`` is not in (0, :data:`MU_MAX`], or the weights are not two numbers > 0 summing to 1.

    References
    ----------
    arXiv:2311.01797, Theorem 2.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.targets import two_mode
    >>> p = two_mode(3.0)
    >>> abs(float(p.score(0.0, np.array([3.0]))[0])) < 1e-6  # the mode at +3: ∇log p0 ≈ 0 there
    True
    >>> p.kl_to_prior() < 1e-5  # p_T at T = 5 is close to the prior N(0, 1)
    True
    """
    if isinstance(mu, (bool, np.bool_)) or not isinstance(mu, (int, float, np.integer, np.floating)):
        raise TypeError(f"mu must be a real number, got {type(mu).__name__} {mu!r}")
    if not (np.isfinite(mu) and 0 < mu <= MU_MAX):
        raise ValueError(f"mu must be a number in (0, {MU_MAX:g}], got {mu!r}")
    q = check_weights(weights)
    return GaussianMixture1D(np.array([-mu, mu]), np.ones(2), q, sde or ou(), name="gm")


MU_MAX = 1e150
"""Largest µ of :func:`two_mode`: (x ± µ)² must stay a finite double (the diffused densities square it)."""


def check_weights(weights: object) -> np.ndarray:
    """``weights`` as two floats in (0, 1) summing to 1 (within 1e-9), else a ValueError naming weights.

    Examples
    --------
    >>> from empirical.targets.mixture import check_weights
    >>> check_weights((0.25, 0.75)).tolist()
    [0.25, 0.75]
    """
    try:
        q = np.asarray(weights, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"weights must be two numbers (q1, q2), got {weights!r}") from None
    if q.shape != (2,) or not np.all(np.isfinite(q)) or np.any(q <= 0) or abs(float(q.sum()) - 1.0) > 1e-9:
        raise ValueError(f"weights must be two numbers in (0, 1) summing to 1, got {weights!r}")
    return q


def empirical(x_train: np.ndarray, *, sde: LinearSDE | None = None) -> GaussianMixture1D:
    """The empirical measure p̂0 = (1/n) sum_i delta_{x_i}; its p̂_t is an n-component mixture.

    Parameters
    ----------
    x_train : array_like
        The n >= 1 training points, finite (flattened).
    sde : LinearSDE, optional
        Forward process (2); OU with T = 5 by default.

    Returns
    -------
    GaussianMixture1D
        Means x_i, variances 0, weights 1/n, named "empirical"; evaluate it at t > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.targets import empirical
    >>> p = empirical(np.array([-1.0, 1.0]))
    >>> p.cdf(0.0, np.array([0.0])).tolist()  # half the mass on each side of 0
    [0.5]
    """
    x = np.asarray(x_train, dtype=float).ravel()
    return GaussianMixture1D(x, np.zeros_like(x), np.full(x.shape, 1.0 / x.size), sde or ou(), name="empirical")
