"""Quadrature rules in time and on intervals: the one home of every time grid of the engine.

- :func:`time_grid`: nodes and weights for E_{t~U(t0,T)} f(t), the expectation over t of the losses
  (5)-(7) and of the score bound of Lemma 2. Gauss-Legendre in u after t = t0 + (T - t0) u², which
  turns the √t behaviour of σ_t near t0 = 0 (and the 1/σ_t of the 'std'-weighted DSM constant) into
  smooth functions of u (docs/theory.md §1).
- :func:`time_steps`: the steps of the reverse processes (3)-(4), graded towards t0 by the same
  substitution.
- :func:`gl_panels`: composite Gauss-Legendre on an interval with equal panels (x-quadrature).

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, "On the Generalization Properties of Diffusion Models",
NeurIPS 2023, arXiv:2311.01797, eqs. (3)-(7); docs/theory.md §1, §3.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .checks import check_horizon, check_int, check_t0


@functools.lru_cache(maxsize=64)
def gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.polynomial.legendre.leggauss(order)``, computed once per order and process (read-only arrays).

    Examples
    --------
    >>> from empirical.quadrature import gauss_legendre
    >>> x, w = gauss_legendre(3)
    >>> round(float(w @ x**4), 12)  # ∫_-1^1 x⁴ dx = 2/5
    0.4
    """
    x, w = np.polynomial.legendre.leggauss(order)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w

N_T_DEFAULT = 64
"""Default number of t nodes. Doubling it changes B1, B2, c and the loss values by < 1e-6 relative at
the defaults (T = 5, m <= 1024, n <= 1000, two_mode mu = 3) in Frobenius norm; see the loss tests."""


@dataclass(frozen=True, eq=False)
class TimeGrid:
    """Nodes t_j and weights ω_j with Σ_j ω_j f(t_j) ≈ E_{t~U(t0,T)} f(t) (see :func:`time_grid`).

    ``horizon`` · Σ_j ω_j f(t_j) is then the integral ∫_{t0}^T f(t) dt.

    Attributes
    ----------
    t, w : ndarray
        Nodes in (t0, T) and weights (> 0, summing to 1), of equal length.
    T, t0 : float
        The interval [t0, T] of the expectation.
    """

    t: np.ndarray
    w: np.ndarray
    T: float
    t0: float

    @property
    def horizon(self) -> float:
        """T - t0, the length of the integration interval."""
        return self.T - self.t0


def time_grid(T: float, n_t: int = N_T_DEFAULT, t0: float = 0.0, n_panels: int = 1) -> TimeGrid:
    """Gauss-Legendre grid for E_{t~U(t0,T)} after the substitution t = t0 + (T - t0) u².

    ``n_panels`` equal panels in u ∈ [0, 1] of ``n_t`` nodes each, t = t0 + (T - t0) u², so
    dt/(T - t0) = 2u du.

    Parameters
    ----------
    T : float
        Horizon, > 0.
    n_t : int
        Nodes per panel (the Gauss-Legendre order), >= 1.
    t0 : float
        Start of the interval, in [0, T).
    n_panels : int
        Number of equal panels in u, >= 1.

    Returns
    -------
    TimeGrid

    Raises
    ------
    ValueError
        If an argument is outside the range above.

    Examples
    --------
    The rule integrates √(t - t0) exactly (a polynomial in u):

    >>> from empirical.quadrature import time_grid
    >>> g = time_grid(5.0, n_t=4)
    >>> round(float(g.w @ g.t ** 0.5), 12) == round(2 / 3 * 5.0 ** 0.5, 12)
    True
    """
    n_t = check_int("n_t", n_t, 1)
    n_panels = check_int("n_panels", n_panels, 1)
    T = check_horizon(T)
    t0 = check_t0(t0, T)
    x, w = gauss_legendre(n_t)
    edges = np.linspace(0.0, 1.0, n_panels + 1)
    half = 0.5 * np.diff(edges)[:, None]
    u = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half * x
    return TimeGrid(t=(t0 + (T - t0) * u**2).ravel(), w=(half * w * 2.0 * u).ravel(), T=T, t0=t0)


def time_steps(t0: float, T: float, n_steps: int, power: float = 2.0) -> np.ndarray:
    """Increasing step times t0 = t_0 < ... < t_n = T with t_k = t0 + (T - t0)(k/n)^power.

    At ``power`` = 2 this is the substitution t = t0 + u² with equal steps in u, which removes the
    t^{-1/2} behaviour of diffused point masses near t0 (docs/theory.md §1).

    Parameters
    ----------
    t0 : float
        First time, in [0, T) (where the reverse processes (3)-(4) stop).
    T : float
        Last time, the horizon (where they start).
    n_steps : int
        Number of steps, >= 1.
    power : float, default 2.0
        Grading exponent, >= 1 (1 gives equal steps).

    Returns
    -------
    ndarray of shape (n_steps + 1,)

    Raises
    ------
    ValueError
        If an argument is outside the range above.

    Examples
    --------
    >>> from empirical.quadrature import time_steps
    >>> time_steps(0.0, 4.0, 2).tolist()
    [0.0, 1.0, 4.0]
    """
    t0 = check_t0(t0, T)
    n_steps = check_int("n_steps", n_steps, 1)
    if not (np.isfinite(power) and power >= 1.0):
        raise ValueError(f"power must be a number >= 1, got {power!r}")
    return t0 + (T - t0) * np.linspace(0.0, 1.0, n_steps + 1) ** power


def gl_panels(lo: float, hi: float, n_panels: int, order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [lo, hi] with ``n_panels`` equal panels.

    Parameters
    ----------
    lo, hi : float
        The interval, lo < hi.
    n_panels : int
        Number of equal panels, >= 1.
    order : int, default 8
        Gauss-Legendre nodes per panel, >= 1 (exact for polynomials of degree < 2 order).

    Returns
    -------
    x, w : ndarray of shape (n_panels * order,)
        Nodes and weights; Σ w f(x) ≈ ∫_lo^hi f.

    Examples
    --------
    >>> from empirical.quadrature import gl_panels
    >>> x, w = gl_panels(0.0, 2.0, 3, order=2)
    >>> round(float(w @ x**3), 12)  # ∫_0^2 x³ dx = 4
    4.0
    """
    x, w = gauss_legendre(order)
    edges = np.linspace(lo, hi, n_panels + 1)
    half = 0.5 * np.diff(edges)[:, None]
    mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
    return (mid + half * x).ravel(), (half * w).ravel()
