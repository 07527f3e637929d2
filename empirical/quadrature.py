"""Deterministic quadrature for the losses (5)-(7): the t-grid, the weightings λ(t) of (6), x-panels,
exact partial moments of Gaussian mixtures at many points, and the Fisher information of p_t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .sde import LinearSDE
from .targets import GaussianMixture1D

N_T_DEFAULT = 64
"""Default number of t nodes. Doubling it changes B1, B2, c and the loss values by < 1e-6 relative at
the defaults (T = 5, m <= 1024, n <= 1000, two_mode mu = 3) in Frobenius norm; see tests/test_loss.py."""

WEIGHTINGS = ("std", "var", "g2")
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True, eq=False)
class TimeGrid:
    """Nodes t_j and weights ω_j with Σ_j ω_j f(t_j) ≈ E_{t~U(t0,T)} f(t).

    Gauss-Legendre in u after t = t0 + (T - t0) u²: the substitution turns the √t behaviour of σ_t
    (and the 1/σ_t of the 'std'-weighted DSM constant) at t0 = 0 into smooth functions of u.
    """

    t: np.ndarray
    w: np.ndarray
    T: float
    t0: float

    @property
    def horizon(self) -> float:
        """T - t0, the length of the integration interval."""
        return self.T - self.t0


def time_grid(T: float, n_t: int = N_T_DEFAULT, t0: float = 0.0) -> TimeGrid:
    """Gauss-Legendre grid for E_{t~U(t0,T)} with the substitution t = t0 + (T - t0) u² (see TimeGrid)."""
    if not (isinstance(n_t, (int, np.integer)) and n_t >= 1):
        raise ValueError(f"n_t must be an integer >= 1, got {n_t!r}")
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T must be a finite number > 0, got {T!r}")
    if not (np.isfinite(t0) and 0.0 <= t0 < T):
        raise ValueError(f"t0 must be in [0, T) = [0, {T}), got {t0!r}")
    x, w = np.polynomial.legendre.leggauss(int(n_t))
    u = 0.5 * (x + 1.0)
    return TimeGrid(t=t0 + (T - t0) * u**2, w=w * u, T=float(T), t0=float(t0))


def weighting(name: str, sde: LinearSDE, t: np.ndarray, d: int = 1) -> np.ndarray:
    """λ(t): 'std' = σ_t/√d (eq. (6) as printed), 'var' = σ_t², 'g2' = g(t)² (likelihood weighting)."""
    t = np.asarray(t, dtype=float)
    if name == "std":
        return np.sqrt(sde.sigma2(t) / d)
    if name == "var":
        return np.asarray(sde.sigma2(t), dtype=float)
    if name == "g2":
        return sde.g2(t)
    raise ValueError(f"lam must be one of {WEIGHTINGS}, got {name!r}")


def gl_panels(lo: float, hi: float, n_panels: int, order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [lo, hi] with equal panels."""
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(lo, hi, n_panels + 1)
    half = 0.5 * np.diff(edges)[:, None]
    mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
    return (mid + half * x).ravel(), (half * w).ravel()


def _mixture_moments(mk: np.ndarray, sk: np.ndarray, q: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """F_k(z), k = 0, 1, 2, of Σ q N(mk, sk²) (all sk > 0) with the component sums done as GEMMs."""
    a = (z[:, None] - mk) / sk
    cdf = special.ndtr(a)
    np.square(a, out=a)
    a *= -0.5
    pdf = np.exp(a, out=a)
    C = cdf @ np.stack([q, q * mk, q * (mk**2 + sk**2)], axis=1)
    P = pdf @ np.stack([q * sk, q * sk * mk], axis=1) * _INV_SQRT_2PI
    return C[:, 0], C[:, 1] - P[:, 0], C[:, 2] - P[:, 1] - z * P[:, 0]


def partial_moments(target, t: float, z: np.ndarray, chunk: int = 1 << 21) -> tuple[np.ndarray, ...]:
    """F_k(z) = ∫_{-∞}^z x^k p_t(x) dx for k = 0, 1, 2.

    Gaussian mixtures with t > 0 take a vectorised GEMM path (the hot loop of the exact loss);
    every other target uses its own ``partial_moments``.
    """
    z = np.asarray(z, dtype=float)
    if not isinstance(target, GaussianMixture1D):
        return target.partial_moments(t, z)
    mk, vk = target.components(t)
    if np.any(vk <= 0):
        return target.partial_moments(t, z)
    sk, q = np.sqrt(vk), target.weights
    step = max(1, chunk // mk.size)
    parts = [_mixture_moments(mk, sk, q, z[i : i + step]) for i in range(0, z.size, step)]
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def total_moments(target, t: float) -> np.ndarray:
    """(F_0, F_1, F_2) at +∞: 1, E[x_t], E[x_t²] (evaluated far beyond the support, 40 std out)."""
    z = np.array([target.support(t, 40.0)[1]])
    return np.array([f[0] for f in partial_moments(target, t, z)])


def _mixture_panels(target: GaussianMixture1D, t: float) -> tuple[float, float, int]:
    """Panels fine enough for any smooth functional of a mixture: half the smaller of the narrowest
    component std and the width std²/spread of the responsibility switch between components."""
    mk, vk = target.components(t)
    s = float(np.sqrt(vk.min()))
    spread = float(np.ptp(mk))
    h = 0.5 * (s if spread == 0 else min(s, s * s / spread))
    lo, hi = target.support(t)
    return lo, hi, int(np.ceil((hi - lo) / h))


def fisher_information(target, t: float, max_panels: int = 200_000) -> float:
    """E_{p_t}|∇log p_t|², the per-t constant c(t) of Lemma 3 for the population loss.

    Targets with a ``fisher_information`` method use it; Gaussian mixtures are integrated on
    composite 8-point Gauss-Legendre panels over ``support(t)`` (see ``_mixture_panels``).
    """
    own = getattr(target, "fisher_information", None)
    if own is not None:
        return float(own(t))
    if not isinstance(target, GaussianMixture1D):
        raise ValueError(f"target must be a GaussianMixture1D or define fisher_information, got {type(target).__name__}")
    lo, hi, n = _mixture_panels(target, t)
    if n > max_panels:
        raise ValueError(f"fisher_information needs {n} panels at t = {t} (> max_panels = {max_panels}): "
                         "p_t is too narrow; use t > 0 further from 0 or the DSM constant")
    x, w = gl_panels(lo, hi, n)
    return float(w @ (target.score(t, x) ** 2 * target.pdf(t, x)))
