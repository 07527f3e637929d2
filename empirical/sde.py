"""Forward linear SDEs (2) of the paper and their Gaussian transition kernels (8).

dx = f(t) x dt + g(t) dW,  p_{t|0}(x | x0) = N(r(t) x0, sigma_t^2 I),
r(t) = exp(int_0^t f),  v(t)^2 = int_0^t g^2 / r^2,  sigma_t^2 = r^2 v^2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import integrate

ArrayLike = float | np.ndarray


@dataclass(frozen=True)
class LinearSDE:
    """A forward SDE of the linear family (2).

    Parameters
    ----------
    f, g : callables of t
        Drift coefficient and diffusion coefficient of (2).
    T : float
        Horizon; the reverse process starts from the prior ``N(0, I)`` at ``T``.
    r_fn, sigma2_fn : optional callables
        Closed forms of r(t) and sigma_t^2; without them both come from ``scipy.integrate.quad``.
    name : str
        Used in reports and JSON.
    """

    f: Callable[[ArrayLike], ArrayLike]
    g: Callable[[ArrayLike], ArrayLike]
    T: float = 5.0
    r_fn: Callable[[ArrayLike], ArrayLike] | None = field(default=None, repr=False)
    sigma2_fn: Callable[[ArrayLike], ArrayLike] | None = field(default=None, repr=False)
    name: str = "linear"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.T) and self.T > 0):
            raise ValueError(f"T must be a finite number > 0, got {self.T!r}")

    def r(self, t: ArrayLike) -> ArrayLike:
        """Mean scaling r(t) = exp(int_0^t f) of the kernel (8)."""
        if self.r_fn is not None:
            return self.r_fn(t)
        return np.vectorize(lambda s: np.exp(integrate.quad(self.f, 0.0, s)[0]))(t)

    def sigma2(self, t: ArrayLike) -> ArrayLike:
        """Kernel variance sigma_t^2 = r(t)^2 v(t)^2 of (8)."""
        if self.sigma2_fn is not None:
            return self.sigma2_fn(t)

        def one(s: float) -> float:
            v2 = integrate.quad(lambda u: self.g(u) ** 2 / self.r(u) ** 2, 0.0, s)[0]
            return float(self.r(s)) ** 2 * v2

        return np.vectorize(one)(t)

    def sigma(self, t: ArrayLike) -> ArrayLike:
        return np.sqrt(self.sigma2(t))

    def g2(self, t: ArrayLike) -> ArrayLike:
        """Squared diffusion coefficient g(t)^2 (the likelihood weighting of Lemma 2)."""
        return np.asarray(self.g(t), dtype=float) ** 2

    def C_T(self, n_grid: int = 2001) -> float:
        """C_T = max_{t <= T} max(r, r v) of Theorem 1's constants (docs/theory.md §1)."""
        t = np.linspace(0.0, self.T, n_grid)
        return float(np.max(np.maximum(self.r(t), np.sqrt(self.sigma2(t)))))


def ou(T: float = 5.0) -> LinearSDE:
    """Ornstein-Uhlenbeck process f = -1, g = sqrt(2): r = e^{-t}, sigma_t^2 = 1 - e^{-2t}, prior N(0, I)."""
    return LinearSDE(
        f=lambda t: -np.ones_like(np.asarray(t, dtype=float)),
        g=lambda t: np.full_like(np.asarray(t, dtype=float), np.sqrt(2.0)),
        T=float(T),
        r_fn=lambda t: np.exp(-np.asarray(t, dtype=float)),
        sigma2_fn=lambda t: -np.expm1(-2.0 * np.asarray(t, dtype=float)),
        name="ou",
    )
