"""The authors' grid metric (docs/theory.md §10).

:func:`grid_kl` is the authors' "KL": log q(x_i) = ∫ s(y, t0) dy at t0 = 0.065 on the 51 nodes
x_i = -10 + 0.4 i, q normalised on those nodes, KL = Σ p_i (log p_i - log q_i) with p_i = 0.4 p0(x_i)
not renormalised. The authors integrated from -100; that lower limit only adds a constant to every
log q_i, which the normalisation removes exactly, so the integral here starts at the first node and is
the cumulative trapezoid rule on ``refine`` sub-intervals per node spacing (quadrature accuracy, not the
coarse grid's: the grid enters only through the sum). p_i = 0 terms count 0.

References
----------
arXiv:2311.01797, Figs. 3, 8, 11; docs/theory.md §10.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import integrate, special

from ..checks import check_int

GRID_T0 = 0.065
"""The fixed time of the authors' grid metric."""


def grid_kl(target, score: Callable, t0: float = GRID_T0, lo: float = -10.0, hi: float = 10.0,
            n_grid: int = 51, refine: int = 40) -> float:
    """The authors' grid "KL" (docs/theory.md §10): Σ p_i (log p_i - log q_i) on ``n_grid`` nodes.

    log q_i = ∫ s(y, t0) dy up to x_i, normalised so that Σ q_i = 1 on the nodes; p_i = h p0(x_i) with
    h the node spacing, not renormalised (so at µ = 15 on [-10, 10] the value can be negative). The
    authors' grid is the default ([-10, 10], 51 nodes, h = 0.4, t0 = 0.065); a grid covering the modes
    at large µ is ``lo = -µ - 10, hi = µ + 10`` with the same h.

    Parameters
    ----------
    target : Target1D
        p0 (its ``pdf(0, x)``).
    score : callable
        ``score(t, x)``.
    t0 : float, default 0.065
    lo, hi : float
        The grid's ends, lo < hi.
    n_grid : int, default 51
        Nodes, >= 2.
    refine : int, default 40
        Trapezoid sub-intervals per node spacing for the integral of the score, >= 1.

    Returns
    -------
    float

    Examples
    --------
    The exact score of p_t at t = 1e-5 (≈ p0) gives ≈ 0 on the authors' grid at µ = 3, and a negative
    value at µ = 15, where the grid holds almost none of p0; on [-25, 25] it is ≈ 0 again:

    >>> from empirical.scores import exact_score
    >>> from empirical.targets import two_mode
    >>> from empirical.training.grid_metric import grid_kl
    >>> p, p15 = two_mode(3.0), two_mode(15.0)
    >>> abs(grid_kl(p, exact_score(p), t0=1e-5)) < 1e-8
    True
    >>> grid_kl(p15, exact_score(p15), t0=1e-5) < 0, abs(grid_kl(p15, exact_score(p15), 1e-5, -25, 25, 126)) < 1e-7
    (True, True)
    """
    n_grid, refine = check_int("n_grid", n_grid, 2), check_int("refine", refine, 1)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"lo < hi must be finite, got {lo!r}, {hi!r}")
    fine = np.linspace(lo, hi, (n_grid - 1) * refine + 1)
    cum = integrate.cumulative_trapezoid(score(t0, fine), fine, initial=0.0)[::refine]
    log_q = cum - special.logsumexp(cum)
    p = target.pdf(0.0, fine[::refine]) * (hi - lo) / (n_grid - 1)
    return float(np.sum(special.xlogy(p, p) - p * log_q))
