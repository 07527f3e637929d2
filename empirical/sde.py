"""Forward linear SDEs (2) of the paper and their Gaussian transition kernels (8).

dx = f(t) x dt + g(t) dW,  p_{t|0}(x | x0) = N(r(t) x0, sigma_t^2 I),
r(t) = exp(int_0^t f),  v(t)^2 = int_0^t g^2 / r^2,  sigma_t^2 = r^2 v^2.

Two members: :func:`ou` (the project's default, prior N(0, 1), t0 = 0) and :func:`ve`, the
variance-exploding SDE the authors ran (f = 0, g = σ^t, prior N(0, σ_T²), t ∈ [ε, T];
docs/theory.md §1). Each SDE carries its reverse processes' start law N(0, ``prior_var``) and its
default stopping time ``eps``; every KL measurement of :mod:`empirical.kl` reads both from it.

References
----------
arXiv:2311.01797, forward SDE (2) and kernel (8); docs/theory.md §1. Y. Song et al., "Score-based
generative modeling through stochastic differential equations", ICLR 2021 (the VE SDE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import integrate

from .checks import check_horizon

ArrayLike = float | np.ndarray
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


@dataclass(frozen=True)
class LinearSDE:
    """A forward SDE of the linear family (2).

    Parameters
    ----------
    f, g : callable of t
        Drift coefficient and diffusion coefficient of (2), vectorised over an array ``t``.
    T : float, default 5.0
        Horizon, finite and > 0; the reverse processes (3)-(4) start from the prior π at ``T``.
    r_fn, sigma2_fn : callable of t, optional
        Closed forms of r(t) and sigma_t^2; without them both come from ``scipy.integrate.quad``.
    name : str, default "linear"
        Used in reports and JSON.
    prior_var : float, default 1.0
        Variance of the prior π = N(0, prior_var I) the reverse processes start from at T (finite,
        > 0): 1 for OU, σ_T² for VE (:func:`ve`). It enters KL(p_T ‖ π) (K1), the start density of
        K2, π's density and CDF in K3, and the KL grids (docs/theory.md §4).
    eps : float, default 0.0
        Default stopping time t0 of the reverse processes and start of the t-integrals, in [0, T):
        0 for OU, ε for VE. Every KL measurement's ``t0=None`` means this.

    Raises
    ------
    ValueError
        If ``T`` is not a finite number > 0, ``prior_var`` is not a finite number > 0, or ``eps``
        is not in [0, T).

    See Also
    --------
    ou : the Ornstein-Uhlenbeck default, with closed forms.
    ve : the variance-exploding SDE of the authors' experiments, with closed forms.

    Examples
    --------
    Without closed forms, r and sigma_t^2 come from quadrature and match OU's:

    >>> import numpy as np
    >>> from empirical.sde import LinearSDE
    >>> s = LinearSDE(f=lambda t: -np.ones_like(t), g=lambda t: np.full_like(t, np.sqrt(2.0)))
    >>> bool(abs(s.sigma2(1.0) - (1 - np.exp(-2.0))) < 1e-12)
    True
    """

    f: Callable[[ArrayLike], ArrayLike]
    g: Callable[[ArrayLike], ArrayLike]
    T: float = 5.0
    r_fn: Callable[[ArrayLike], ArrayLike] | None = field(default=None, repr=False)
    sigma2_fn: Callable[[ArrayLike], ArrayLike] | None = field(default=None, repr=False)
    name: str = "linear"
    prior_var: float = 1.0
    eps: float = 0.0

    def __post_init__(self) -> None:
        check_horizon(self.T)
        if isinstance(self.prior_var, bool) or not (np.isfinite(self.prior_var) and self.prior_var > 0):
            raise ValueError(f"prior_var must be a finite number > 0, got {self.prior_var!r}")
        if not (np.isfinite(self.eps) and 0.0 <= self.eps < self.T):
            raise ValueError(f"eps must be a number in [0, T) = [0, {self.T}), got {self.eps!r}")
        object.__setattr__(self, "prior_var", float(self.prior_var))
        object.__setattr__(self, "eps", float(self.eps))

    @property
    def prior_sd(self) -> float:
        """Standard deviation sqrt(prior_var) of the prior π (1 for OU, σ_T for VE)."""
        return float(np.sqrt(self.prior_var))

    def prior_logpdf(self, x: np.ndarray) -> np.ndarray:
        """log π(x) of the 1-D prior π = N(0, prior_var), elementwise.

        Parameters
        ----------
        x : ndarray
            Points, any shape.

        Returns
        -------
        ndarray
            log π(x), the shape of ``x``.
        """
        x = np.asarray(x, dtype=float)
        return -0.5 * x * x / self.prior_var - 0.5 * np.log(self.prior_var) - _LOG_SQRT_2PI

    def prior_pdf(self, x: np.ndarray) -> np.ndarray:
        """π(x) of the 1-D prior N(0, prior_var), elementwise (the start density of K2)."""
        x = np.asarray(x, dtype=float)
        return np.exp(-0.5 * x * x / self.prior_var) / np.sqrt(2.0 * np.pi * self.prior_var)

    def r(self, t: ArrayLike) -> ArrayLike:
        """Mean scaling r(t) = exp(int_0^t f) of the kernel (8).

        Parameters
        ----------
        t : float or ndarray
            Times in [0, T].

        Returns
        -------
        float or ndarray
            r(t), with the shape of ``t``.
        """
        if self.r_fn is not None:
            return self.r_fn(t)
        return np.vectorize(lambda s: np.exp(integrate.quad(self.f, 0.0, s)[0]))(t)

    def sigma2(self, t: ArrayLike) -> ArrayLike:
        """Kernel variance sigma_t^2 = r(t)^2 v(t)^2 of (8).

        Parameters
        ----------
        t : float or ndarray
            Times in [0, T].

        Returns
        -------
        float or ndarray
            sigma_t^2 >= 0 (0 at t = 0), with the shape of ``t``.
        """
        if self.sigma2_fn is not None:
            return self.sigma2_fn(t)

        def one(s: float) -> float:
            v2 = integrate.quad(lambda u: self.g(u) ** 2 / self.r(u) ** 2, 0.0, s)[0]
            return float(self.r(s)) ** 2 * v2

        return np.vectorize(one)(t)

    def sigma(self, t: ArrayLike) -> ArrayLike:
        """Kernel standard deviation sigma_t = r(t) v(t) of (8), the square root of :meth:`sigma2`."""
        return np.sqrt(self.sigma2(t))

    def g2(self, t: ArrayLike) -> ArrayLike:
        """Squared diffusion coefficient g(t)^2 (the likelihood weighting of Lemma 2).

        Parameters
        ----------
        t : float or ndarray
            Times in [0, T].

        Returns
        -------
        ndarray
            g(t)^2 as floats, with the shape of ``t``.
        """
        return np.asarray(self.g(t), dtype=float) ** 2

    def C_T(self, n_grid: int = 2001) -> float:
        """C_T = max_{t <= T} max(r, r v) of Theorem 1's constants (docs/theory.md §1).

        Parameters
        ----------
        n_grid : int, default 2001
            Number of equally spaced t in [0, T] over which the maximum is taken (>= 1).

        Returns
        -------
        float
            C_T (1 for OU).
        """
        t = np.linspace(0.0, self.T, n_grid)
        return float(np.max(np.maximum(self.r(t), np.sqrt(self.sigma2(t)))))


def ou(T: float = 5.0) -> LinearSDE:
    """Ornstein-Uhlenbeck process f = -1, g = sqrt(2): r = e^{-t}, sigma_t^2 = 1 - e^{-2t}, prior N(0, I).

    The project's default forward process (docs/theory.md §1), with r and sigma_t^2 in closed form.

    Parameters
    ----------
    T : float, default 5.0
        Horizon, finite and > 0.

    Returns
    -------
    LinearSDE
        Named "ou".

    Raises
    ------
    ValueError
        If ``T`` is not a finite number > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.sde import ou
    >>> s = ou()
    >>> bool(s.r(1.0) == np.exp(-1.0)), bool(s.sigma2(1.0) == 1 - np.exp(-2.0))
    (True, True)
    >>> s.C_T()  # r <= 1 and r v = sigma_t <= 1, with r(0) = 1
    1.0
    """
    return LinearSDE(
        f=lambda t: -np.ones_like(np.asarray(t, dtype=float)),
        g=lambda t: np.full_like(np.asarray(t, dtype=float), np.sqrt(2.0)),
        T=float(T),
        r_fn=lambda t: np.exp(-np.asarray(t, dtype=float)),
        sigma2_fn=lambda t: -np.expm1(-2.0 * np.asarray(t, dtype=float)),
        name="ou",
    )


def ve(sigma: float = 25.0, eps: float = 1e-5, T: float = 1.0) -> LinearSDE:
    """Variance-exploding SDE dx = σ^t dW: f = 0, g = σ^t, r = 1, σ_t² = (σ^{2t} - 1)/(2 log σ).

    The forward process of the authors' experiments (docs/theory.md §1 and §10; Song et al. 2021),
    with r and σ_t² in closed form (σ_t² by ``expm1``, accurate at t = ε). Prior choice: π = N(0, σ_T²)
    with σ_T² the kernel variance at T, exactly the authors' N(0, σ_1²) (σ_1 ≈ 9.85 at σ = 25); it
    omits p0's own variance, so KL(p_T ‖ π) > 0 (2.5e-3 for ``two_mode(3)``, measured). Default
    stopping time ``eps`` = ε: σ_0 = 0, so the measurements stop at t0 = ε by default.

    Parameters
    ----------
    sigma : float, default 25.0
        The base σ > 1 of g(t) = σ^t.
    eps : float, default 1e-5
        The stopping time ε, in (0, T).
    T : float, default 1.0
        Horizon, finite and > 0.

    Returns
    -------
    LinearSDE
        Named "ve", with ``prior_var`` = σ_T² and ``eps`` = ε.

    Raises
    ------
    ValueError
        If ``sigma`` is not a finite number > 1, ``eps`` not a number in (0, T), or ``T`` not a
        finite number > 0; each message names the parameter.

    References
    ----------
    arXiv:2311.01797, forward SDE (2) and kernel (8); docs/theory.md §1, §10. Y. Song et al.,
    ICLR 2021, the VE SDE.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.sde import ve
    >>> s = ve()
    >>> float(s.r(0.3)), round(float(s.sigma(1.0)), 4), round(float(s.sigma(0.065)), 4)
    (1.0, 9.8452, 0.2841)
    >>> s.prior_var == float(s.sigma2(1.0)), s.eps, s.name
    (True, 1e-05, 've')
    """
    check_horizon(T)
    if isinstance(sigma, bool) or not (np.isfinite(sigma) and sigma > 1):
        raise ValueError(f"sigma must be a finite number > 1, got {sigma!r}")
    if not (np.isfinite(eps) and 0.0 < eps < T):
        raise ValueError(f"eps must be a number in (0, T) = (0, {T}), got {eps!r}")
    log_s = float(np.log(sigma))

    def sigma2(t: ArrayLike) -> ArrayLike:
        return np.expm1(2.0 * log_s * np.asarray(t, dtype=float)) / (2.0 * log_s)

    return LinearSDE(
        f=lambda t: np.zeros_like(np.asarray(t, dtype=float)),
        g=lambda t: np.exp(log_s * np.asarray(t, dtype=float)),
        T=float(T),
        r_fn=lambda t: np.ones_like(np.asarray(t, dtype=float)),
        sigma2_fn=sigma2,
        name="ve",
        prior_var=float(sigma2(float(T))),
        eps=float(eps),
    )


SDES = {"ve": ve, "ou": ou}
"""The forward SDEs by name, each factory at its defaults (``diffgen train --sde``, the report's training runs)."""


def sde_by_name(name: str) -> LinearSDE:
    """The forward SDE ``name`` of :data:`SDES` at its defaults: 've' (σ = 25, ε = 1e-5; the authors') or 'ou'.

    Examples
    --------
    >>> from empirical.sde import sde_by_name
    >>> sde_by_name("ve").name, sde_by_name("ou").T
    ('ve', 5.0)
    """
    if name not in SDES:
        raise ValueError(f"sde must be one of {sorted(SDES)}, got {name!r}")
    return SDES[name]()
