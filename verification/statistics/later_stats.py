"""The statistics of the later-theories section (docs/theory.md §11), each a plain function of measured curves:
the memorisation time and the smallest n at which two halves agree better with each
other than with p0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["first_below", "log_crossing", "memorised_excess", "tau_mem"]


def memorised_excess(fraction: Sequence[float], reference: float) -> np.ndarray:
    """(f - f0) / (1 - f0): the sampler's memorised fraction f beyond p0's own f0, as a share of what is left to
    full memorisation (0: like p0, 1: every draw memorised; negative: less than p0).

    Raises
    ------
    ValueError
        If ``reference`` is not in [0, 1).

    Examples
    --------
    >>> from verification.statistics.later_stats import memorised_excess
    >>> memorised_excess([0.3, 0.65, 1.0], 0.3).round(3).tolist()
    [0.0, 0.5, 1.0]
    """
    if not (np.isfinite(reference) and 0.0 <= reference < 1.0):
        raise ValueError(f"reference must be p0's memorised fraction, a number in [0, 1), got {reference!r}")
    return (np.asarray(fraction, dtype=float) - reference) / (1.0 - reference)


def log_crossing(taus: Sequence[float], values: Sequence[float], level: float, start: int = 0) -> float:
    """The first τ at or after ``taus[start]`` where ``values`` reach ``level``, linear in log τ between the grid
    point before and the first point at or above it; NaN when no point from ``start`` on reaches it (censored:
    the crossing lies beyond the grid). A crossing at ``start`` itself interpolates from the point before when
    that one lies below the level.

    Examples
    --------
    >>> from verification.statistics.later_stats import log_crossing
    >>> round(log_crossing([1.0, 10.0, 100.0], [0.0, 0.0, 0.1], 0.05), 4)  # half-way between 10 and 100 in log
    31.6228
    >>> log_crossing([1.0, 10.0], [0.0, 0.01], 0.05)
    nan
    """
    t, v = np.asarray(taus, dtype=float), np.asarray(values, dtype=float)
    if t.shape != v.shape or t.ndim != 1 or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise ValueError("taus must be increasing positive numbers, one per value")
    hit = np.flatnonzero((np.arange(t.size) >= start) & (v >= level))
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0 or v[i - 1] >= level or not np.isfinite(v[i - 1]):
        return float(t[i])
    frac = (level - v[i - 1]) / (v[i] - v[i - 1])
    return float(np.exp(np.log(t[i - 1]) + frac * (np.log(t[i]) - np.log(t[i - 1]))))


def tau_mem(taus: Sequence[float], fraction: Sequence[float], reference: float, start: int, level: float) -> float:
    """The memorisation time: the first τ at or after ``taus[start]`` (the K2 minimum) where the memorised excess
    (:func:`memorised_excess`) reaches ``level`` (:func:`log_crossing`); NaN when it does not on the grid.

    Examples
    --------
    >>> from verification.statistics.later_stats import tau_mem
    >>> round(tau_mem([1e2, 1e3, 1e4, 1e5], [0.2, 0.3, 0.3, 0.4], 0.3, start=1, level=0.05), 1)  # 10^4.35
    22387.2
    """
    return log_crossing(taus, memorised_excess(fraction, reference), level, start)


def first_below(xs: Sequence[float], a: Sequence[float], b: Sequence[float]) -> float:
    """The smallest x from which on ``a`` < ``b`` at every larger x of the sweep (NaN if not at the last x).

    Examples
    --------
    >>> from verification.statistics.later_stats import first_below
    >>> first_below([16, 64, 256, 1024], [0.4, 0.1, 0.03, 0.01], [0.3, 0.07, 0.04, 0.02])
    256.0
    """
    x, u, v = (np.asarray(z, dtype=float) for z in (xs, a, b))
    order = np.argsort(x)
    x, below = x[order], (u < v)[order]
    if not below.size or not below[-1]:
        return float("nan")
    above = np.flatnonzero(~below)
    return float(x[above[-1] + 1] if above.size else x[0])
