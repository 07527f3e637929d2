"""Forward linear SDEs (2) of the paper and their Gaussian transition kernels (8).

dx = f(t) x dt + g(t) dW,  p_{t|0}(x | x0) = N(r(t) x0, sigma_t^2 I),
r(t) = exp(int_0^t f),  v(t)^2 = int_0^t g^2 / r^2,  sigma_t^2 = r^2 v^2.

References
----------
arXiv:2311.01797, forward SDE (2) and kernel (8); docs/theory.md §1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import integrate

from .checks import check_horizon

ArrayLike = float | np.ndarray


@dataclass(frozen=True)
class LinearSDE:
    """A forward SDE of the linear family (2).

    Parameters
    ----------
    f, g : callable of t
        Drift coefficient and diffusion coefficient of (2), vectorised over an array ``t``.
    T : float, default 5.0
        Horizon, finite and > 0; the reverse process starts from the prior ``N(0, I)`` at ``T``.
    r_fn, sigma2_fn : callable of t, optional
        Closed forms of r(t) and sigma_t^2; without them both come from ``scipy.integrate.quad``.
    name : str, default "linear"
        Used in reports and JSON.

    Raises
    ------
    ValueError
        If ``T`` is not a finite number > 0.

    See Also
    --------
    ou : the Ornstein-Uhlenbeck default, with closed forms.

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

    def __post_init__(self) -> None:
        check_horizon(self.T)

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
