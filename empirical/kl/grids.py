"""The space grid shared by the KL measurements in 1-D (docs/theory.md §4), and cell averages on it.

A window of equal cells holds the mass of p_{t0} and of OU's prior π = N(0, 1) that the reverse
processes (3)-(4) start from; for the reverse SDE's law (K2), geometrically growing cells outside it
hold a wider prior (VE: π = N(0, σ_T²), ``sde.prior_var``) and reach as far as the sampler spreads (:func:`zero_score_sd` sets the reach). Time steps are
:func:`empirical.quadrature.time_steps`.

References
----------
arXiv:2311.01797, reverse SDE (3) and probability-flow ODE (4); docs/theory.md §4.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..checks import check_int
from ..sde import LinearSDE
from ..targets import Target1D


def space_edges(target: Target1D, t0: float, n_cells: int, tail: float = 10.0,
                prior_tail: float = 10.0, reach: float = 0.0, growth: float = 1.05) -> np.ndarray:
    """Edges of ``n_cells`` equal cells over the window support(p_{t0}, tail) ∪ [-prior_tail, prior_tail],
    then, when ``reach`` lies beyond the window, cells growing geometrically outwards to cover
    [-reach, reach].

    The window holds the mass of p_{t0}, where the KL is summed, and of the prior π = N(0, 1) of OU
    that the reverse process starts from, at the resolution the KL needs. A wider prior (VE:
    π = N(0, σ_T²), σ_T ≈ 9.85) is held by the outer cells, whose widths grow with the distance
    from the window (about (growth - 1) times it), so they resolve any centred Gaussian wider than the
    window (cells ≈ 0.09 σ_T at 3 σ_T for ``two_mode(3)`` under the default VE), while the equal cells
    keep resolving the narrow p_ε (0.022 wide against its sd 1 at the default 1200 cells). Measured on
    K2 of the zero score under VE (closed-form law N(0, 2σ_T² - σ_ε²)): error 1.7e-4 at the defaults
    with this window, 8.7e-4 with a window stretched over π's ±10 σ_T (tests/empirical/test_ve.py).
    The outer cells must then reach beyond π: :func:`empirical.kl.sde_law`'s default reach (12 sd of
    the zero-score law, ≥ 17 σ_T) does. The outer cells hold what a sampler drives outside it (the
    reverse SDE with score ≈ 0 spreads π by e^{T}): the first is ``growth`` times a window cell and
    each next one ``growth`` times the one before, until the last edge reaches ``reach``, so they
    add about log(1 + (reach - window)(growth - 1)/h) / log(growth) cells on a side. The flux
    through the two outer edges is zero (:mod:`empirical.kl.fokker_planck`): the mass a sampler
    drives against them is reported (``FPSolution.boundary_mass``), not lost.

    Parameters
    ----------
    target : Target1D
        The target; its ``support(t0, tail)`` sets the data part of the window.
    t0 : float
        Time in [0, T) of the reference density p_{t0}.
    n_cells : int
        Number of equal cells of the window, >= 2.
    tail, prior_tail : float, default 10.0
        Widths, > 0: ``tail`` standard deviations of p_{t0}, and [-prior_tail, prior_tail] for OU's π.
    reach : float, default 0.0
        Half-width >= 0 of the interval the outer cells cover; none when it is inside the window
        (the default: ``n_cells`` equal cells).
    growth : float, default 1.05
        Ratio > 1 of consecutive outer cell widths.

    Returns
    -------
    ndarray of shape (N+1,)
        Increasing edges, N = ``n_cells`` plus the outer cells; equally spaced inside the window.

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
    >>> space_edges(gaussian(0.0, 1.0), 0.0, 4, reach=30.0, growth=2.0).tolist()
    [-40.0, -20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0, 40.0]

    Under VE (π = N(0, σ_T²), σ_T ≈ 9.85) the equal cells stay on p_ε; outer cells hold π:

    >>> import numpy as np
    >>> from empirical.sde import ve
    >>> from empirical.targets import two_mode
    >>> e = space_edges(two_mode(3.0, sde=ve()), 1e-5, 1200, reach=170.0)
    >>> round(float(np.diff(e)[600]), 4), bool(e[-1] >= 170.0), int(np.sum(np.abs(e) < 3 * 9.85) - 1)
    (0.0217, True, 1348)
    """
    n_cells = check_int("n_cells", n_cells, 2)
    for name, v in (("tail", tail), ("prior_tail", prior_tail)):
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    if not (np.isfinite(reach) and reach >= 0):
        raise ValueError(f"reach must be a finite number >= 0, got {reach!r}")
    if not (np.isfinite(growth) and growth > 1):
        raise ValueError(f"growth must be a finite number > 1, got {growth!r}")
    lo, hi = target.support(t0, tail=tail)
    window = np.linspace(min(lo, -prior_tail), max(hi, prior_tail), n_cells + 1)
    h = float(window[1] - window[0])
    left = _outer(h, growth, float(window[0] + reach))
    right = _outer(h, growth, float(reach - window[-1]))
    return np.concatenate([window[0] - left[::-1], window, window[-1] + right])


def _outer(h: float, growth: float, length: float) -> np.ndarray:
    """Offsets from a window edge of geometric cells h·growth^k, k = 1, 2, ..., until ``length`` is covered."""
    if length <= 0:
        return np.empty(0)
    k = max(1, int(np.ceil(np.log1p(length * (growth - 1.0) / (growth * h)) / np.log(growth))))
    offsets = h * growth * np.cumsum(growth ** np.arange(k + 1))
    return offsets[: k + (offsets[k - 1] < length)]  # one more cell if round-off left it short


def zero_score_sd(sde: LinearSDE, t0: float) -> float:
    """Standard deviation at ``t0`` of the reverse SDE (3) with score 0 started from π = N(0, v) at T.

    With s_θ = 0 the sampler is linear, dx = -f x ds + g dW̄ in s = T - t, so its law stays a centred
    Gaussian with variance (r(t0)/r(T))² (v + σ_T²) - σ_{t0}² (r, σ² of the kernel (8); v =
    ``sde.prior_var``). For OU (v = 1), 2 e^{2(T - t0)} - 1: an untrained model's sampler spreads π
    by about e^{T}. For VE (v = σ_T², r = 1), 2 σ_T² - σ_{t0}² (sd 13.9 at σ = 25): the noise the
    sampler adds doubles π's variance. A score that pulls inwards (any useful one) spreads it less.

    Parameters
    ----------
    sde : LinearSDE
        The forward SDE (2).
    t0 : float
        The time in [0, T) where the sampler stops.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.kl.grids import zero_score_sd
    >>> from empirical.sde import ou
    >>> bool(np.isclose(zero_score_sd(ou(5.0), 0.0), np.sqrt(2 * np.exp(10.0) - 1), rtol=1e-14))
    True
    >>> from empirical.sde import ve
    >>> s = ve()
    >>> bool(np.isclose(zero_score_sd(s, s.eps), np.sqrt(2 * s.sigma2(1.0) - s.sigma2(s.eps)), rtol=1e-14))
    True
    """
    grow = float(sde.r(t0)) / float(sde.r(sde.T))
    return float(np.sqrt(grow**2 * (sde.prior_var + float(sde.sigma2(sde.T))) - float(sde.sigma2(t0))))


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
