"""Time and space grids shared by the KL measurements (THEORY §4), and their input checks.

Times: the reverse processes (3)-(4) run over [t0, T]. Steps are graded towards t0 by
t_k = t0 + (T - t0) (k/n)^power, the substitution t = t0 + u² of THEORY §1 that removes the
t^{-1/2} behaviour of diffused point masses at power 2. Space: one uniform grid of cells that
holds the mass of p_{t0} and of the prior π = N(0, 1) the reverse flow starts from.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .targets import GaussianMixture1D


def check_int(name: str, value: int, low: int) -> int:
    """``value`` as an int, or ValueError naming ``name`` when it is not an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_t0(t0: float, T: float) -> float:
    """The end time t0 of the reverse process, which must lie in [0, T)."""
    if not (np.isfinite(t0) and 0.0 <= t0 < T):
        raise ValueError(f"t0 must be a number in [0, T) = [0, {T}), got {t0!r}")
    return float(t0)


def time_grid(t0: float, T: float, n_steps: int, power: float = 2.0) -> np.ndarray:
    """Increasing nodes t0 = t_0 < ... < t_n = T with t_k = t0 + (T - t0)(k/n)^power."""
    t0 = check_t0(t0, T)
    n_steps = check_int("n_steps", n_steps, 1)
    if not (np.isfinite(power) and power >= 1.0):
        raise ValueError(f"power must be a number >= 1, got {power!r}")
    return t0 + (T - t0) * np.linspace(0.0, 1.0, n_steps + 1) ** power


def gauss_legendre_sqrt(t0: float, T: float, n_panels: int, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for ∫_{t0}^T F(t) dt: composite Gauss–Legendre in u, t = t0 + u².

    dt = 2u du turns an integrand ~ (t - t0)^{-1/2} into a smooth one (THEORY §1).
    """
    t0 = check_t0(t0, T)
    n_panels = check_int("n_panels", n_panels, 1)
    order = check_int("order", order, 1)
    z, wz = np.polynomial.legendre.leggauss(order)
    cuts = np.linspace(0.0, np.sqrt(T - t0), n_panels + 1)
    half = 0.5 * np.diff(cuts)[:, None]
    u = (0.5 * (cuts[:-1] + cuts[1:]))[:, None] + half * z
    w = half * wz * 2.0 * u
    return (t0 + u**2).ravel(), w.ravel()


def space_edges(target: GaussianMixture1D, t0: float, n_cells: int, tail: float = 10.0,
                prior_tail: float = 10.0) -> np.ndarray:
    """Edges of ``n_cells`` equal cells over support(p_{t0}, tail) ∪ [-prior_tail, prior_tail].

    The prior part covers the start π = N(0, 1) of the reverse process, so the grid holds the mass
    of both ends of the flow; the mass that a poor model drives outside is reported, not lost
    (zero-flux boundaries, see ``fokker_planck``).
    """
    n_cells = check_int("n_cells", n_cells, 2)
    for name, v in (("tail", tail), ("prior_tail", prior_tail)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    lo, hi = target.support(t0, tail=tail)
    return np.linspace(min(lo, -prior_tail), max(hi, prior_tail), n_cells + 1)


def cell_average(pdf: Callable[[np.ndarray], np.ndarray], edges: np.ndarray) -> np.ndarray:
    """Cell averages of a density by Simpson's rule on each cell (4th order in the cell width)."""
    mid = 0.5 * (edges[:-1] + edges[1:])
    at_edges = pdf(edges)
    return (at_edges[:-1] + 4.0 * pdf(mid) + at_edges[1:]) / 6.0
