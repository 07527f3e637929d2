"""The space grid shared by the KL measurements in 1-D (docs/theory.md §4), and cell averages on it.

One uniform grid of cells holds the mass of p_{t0} and of the prior π = N(0, 1) that the reverse
processes (3)-(4) start from. Time steps are :func:`empirical.quadrature.time_steps`.

References
----------
arXiv:2311.01797, reverse SDE (3) and probability-flow ODE (4); docs/theory.md §4.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..checks import check_int
from ..targets import Target1D


def space_edges(target: Target1D, t0: float, n_cells: int, tail: float = 10.0,
                prior_tail: float = 10.0) -> np.ndarray:
    """Edges of ``n_cells`` equal cells over support(p_{t0}, tail) ∪ [-prior_tail, prior_tail].

    The prior part covers the start π = N(0, 1) of the reverse process, so the grid holds the mass
    of both ends of the flow; the mass that a poor model drives outside is reported, not lost
    (zero-flux boundaries, see :mod:`empirical.kl.fokker_planck`).

    Parameters
    ----------
    target : Target1D
        The target; its ``support(t0, tail)`` sets the data part of the grid.
    t0 : float
        Time in [0, T) of the reference density p_{t0}.
    n_cells : int
        Number of cells, >= 2.
    tail, prior_tail : float, default 10.0
        Widths, > 0: ``tail`` standard deviations of p_{t0}, and [-prior_tail, prior_tail] for π.

    Returns
    -------
    ndarray of shape (n_cells + 1,)
        Uniform edges.

    Raises
    ------
    ValueError
        If an argument is outside the range above.

    Examples
    --------
    >>> from empirical.kl.grids import space_edges
    >>> from empirical.targets import gaussian
    >>> e = space_edges(gaussian(0.0, 1.0), 0.0, 4, tail=10.0, prior_tail=10.0)
    >>> e.tolist()
    [-10.0, -5.0, 0.0, 5.0, 10.0]
    """
    n_cells = check_int("n_cells", n_cells, 2)
    for name, v in (("tail", tail), ("prior_tail", prior_tail)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    lo, hi = target.support(t0, tail=tail)
    return np.linspace(min(lo, -prior_tail), max(hi, prior_tail), n_cells + 1)


def cell_average(pdf: Callable[[np.ndarray], np.ndarray], edges: np.ndarray) -> np.ndarray:
    """Cell averages of a density by Simpson's rule on each cell (4th order in the cell width).

    Parameters
    ----------
    pdf : callable ndarray -> ndarray
        The density, vectorised.
    edges : ndarray of shape (N+1,)
        Increasing cell edges.

    Returns
    -------
    ndarray of shape (N,)
        Average of ``pdf`` over each cell (exact for cubic polynomials).
    """
    mid = 0.5 * (edges[:-1] + edges[1:])
    at_edges = pdf(edges)
    return (at_edges[:-1] + 4.0 * pdf(mid) + at_edges[1:]) / 6.0
