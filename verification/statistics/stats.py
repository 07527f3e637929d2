"""Rates and shapes without constants (docs/theory.md §8.2): power-law exponents with bootstrap CIs,
interior minima of a curve (early stopping), monotone trends.

The paper's rates are power laws, e.g. KL at the early-stopped time ≲ n^{-2/5} (16) and the
generalisation gap ≲ τ⁴/(mn) in Theorem 1; their exponents are slopes in log–log coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.stats import t as student

# A bootstrap resample whose log x has (relative) spread below this has no defined slope.
_DEGENERATE_SPREAD = 1e-12


@dataclass(frozen=True)
class PowerLawFit:
    """y ≈ exp(intercept) · x^slope, fitted by least squares in log–log coordinates.

    ``ci_low``/``ci_high`` bound the slope at level ``ci`` by ``method``: "bootstrap" (percentile
    bootstrap over groups, :func:`fit_power_law`) or "t" (Student's t interval of the per-group slopes,
    :func:`fit_power_law_seeds`); ``n_groups`` is the number of groups (seeds, or points when no
    groups were given).
    """

    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    n_points: int
    n_groups: int
    ci: float = 0.95
    method: str = "bootstrap"

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fitted power law at ``x``."""
        return np.exp(self.intercept) * np.asarray(x, dtype=float) ** self.slope


def _positive_finite(name: str, values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = ~(np.isfinite(arr) & (arr > 0))
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be positive and finite (a power law is fitted in log–log), "
                         f"got {name}[{i}] = {float(arr[i])!r}")
    return arr


def _slopes_from_counts(counts: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Least-squares slopes of the resamples that take group g ``counts[b, g]`` times.

    ``stats[g]`` holds the sufficient statistics (n, Σu, Σv, Σu², Σuv) of group g in centred
    log coordinates, so a resample's normal equations are a weighted sum over groups.
    """
    n, su, sv, suu, suv = (counts @ stats).T
    sxx = n * suu - su**2
    sxy = n * suv - su * sv
    spread = _DEGENERATE_SPREAD * np.maximum(n * suu, np.finfo(float).tiny)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sxx > spread, sxy / sxx, np.nan)


def fit_power_law(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    ci: float = 0.95,
) -> PowerLawFit:
    """Fit log y = intercept + slope · log x by least squares, with a bootstrap CI on the slope.

    Parameters
    ----------
    x, y : 1-D arrays of positive finite values, equal length, at least 2 distinct x.
    groups : labels of equal length, optional
        Resampling units. With groups (e.g. the seed of each point) the bootstrap resamples whole
        groups with replacement, which keeps the correlation between points of one seed (docs/theory.md
        §8.2 asks for ≥ 3 seeds); at least 2 groups are needed. Without, a percentile bootstrap
        over single points.
    n_boot : number of bootstrap resamples (≥ 100).
    seed : seed of ``numpy.random.default_rng`` for the resampling.
    ci : confidence level in (0, 1).

    Returns
    -------
    PowerLawFit

        Resamples in which all chosen points share one x (no slope) are discarded; if more than
        half are, the design is too thin to bootstrap and a ``ValueError`` is raised.

    Examples
    --------
    An exact power law is recovered, with a CI that shrinks to the slope:

    >>> import numpy as np
    >>> from verification.statistics.stats import fit_power_law
    >>> n = np.tile([16.0, 64.0, 256.0], 3)
    >>> f = fit_power_law(n, 3.0 * n ** -0.4, groups=np.repeat([0, 1, 2], 3))
    >>> round(f.slope, 12), round(f.ci_low, 12), round(f.ci_high, 12)
    (-0.4, -0.4, -0.4)
    """
    xs = _positive_finite("x", x)
    ys = _positive_finite("y", y)
    if xs.shape != ys.shape:
        raise ValueError(f"x and y must have equal length, got {xs.size} and {ys.size}")
    if np.unique(xs).size < 2:
        raise ValueError(f"x must contain at least 2 distinct values, got {np.unique(xs).tolist()}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must lie in (0, 1), got {ci!r}")
    if int(n_boot) != n_boot or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    labels = np.arange(xs.size) if groups is None else np.asarray(groups)
    if labels.shape != xs.shape:
        raise ValueError(f"groups must have one label per point ({xs.size}), got shape {labels.shape}")
    _, group_index = np.unique(labels, return_inverse=True)
    n_groups = int(group_index.max()) + 1
    if n_groups < 2:
        raise ValueError(f"groups must contain at least 2 distinct labels to bootstrap, got {n_groups}")

    # Centring first keeps the normal equations well conditioned for the bootstrap sums.
    u = np.log(xs) - np.log(xs).mean()
    v = np.log(ys) - np.log(ys).mean()
    slope, intercept_c = np.polynomial.polynomial.polyfit(u, v, 1)[::-1]
    intercept = intercept_c + np.log(ys).mean() - slope * np.log(xs).mean()

    per_point = np.stack([np.ones_like(u), u, v, u * u, u * v], axis=1)
    stats = np.zeros((n_groups, 5))
    np.add.at(stats, group_index, per_point)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=int(n_boot)).astype(float)
    slopes = _slopes_from_counts(counts, stats)
    slopes = slopes[np.isfinite(slopes)]
    if slopes.size < n_boot / 2:
        raise ValueError(f"only {slopes.size} of {n_boot} bootstrap resamples span 2 distinct x; "
                         "groups must each cover several x values (or give more groups)")
    low, high = np.quantile(slopes, [(1 - ci) / 2, (1 + ci) / 2])
    return PowerLawFit(float(slope), float(intercept), float(low), float(high), int(xs.size), n_groups, float(ci))


def fit_power_law_seeds(x: np.ndarray, y: np.ndarray, groups: np.ndarray, ci: float = 0.95) -> PowerLawFit:
    """The exponent as the mean of per-group (per-seed) least-squares slopes in log–log, with Student's t
    interval over the groups (docs/theory.md §8.2).

    Each seed's slope is one independent draw of the estimator, so the t interval has its nominal
    coverage for normal slopes at any number of seeds (a percentile bootstrap over 3-5 seeds has
    too few distinct resamples and covers less). The intercept is that of the pooled fit.

    Parameters
    ----------
    x, y : 1-D arrays of positive finite values, equal length.
    groups : labels of equal length; each group must hold at least 2 distinct x, and there must be at
        least 2 groups.
    ci : confidence level in (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from verification.statistics.stats import fit_power_law_seeds
    >>> n = np.tile([16.0, 64.0, 256.0], 3)
    >>> per_seed = np.repeat([-0.5, -0.4, -0.3], 3)   # each seed its own slope
    >>> f = fit_power_law_seeds(n, n ** per_seed, groups=np.repeat([0, 1, 2], 3))
    >>> round(f.slope, 3), f.ci_low < -0.4 < f.ci_high, f.method
    (-0.4, True, 't')
    """
    if not 0 < ci < 1:
        raise ValueError(f"ci must lie in (0, 1), got {ci!r}")
    slopes = seed_slopes(x, y, groups)
    if len(slopes) < 2:
        raise ValueError(f"groups must contain at least 2 distinct labels, got {len(slopes)}")
    xs, ys = _positive_finite("x", x), _positive_finite("y", y)
    mean, low, high = t_interval(slopes, ci)
    pooled, intercept = np.polynomial.polynomial.polyfit(np.log(xs), np.log(ys), 1)[::-1]
    return PowerLawFit(mean, float(intercept + (pooled - mean) * np.log(xs).mean()), low, high,
                       int(xs.size), len(slopes), float(ci), "t")


def seed_slopes(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> list[float]:
    """The least-squares slope of log y on log x of each group (seed), in the order the groups first appear.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.statistics.stats import seed_slopes
    >>> n = np.tile([16.0, 64.0, 256.0], 2)
    >>> [round(s, 6) for s in seed_slopes(n, n ** np.repeat([-0.5, -0.3], 3), np.repeat([7, 3], 3))]
    [-0.5, -0.3]
    """
    xs = _positive_finite("x", x)
    ys = _positive_finite("y", y)
    labels = np.asarray(groups)
    if xs.shape != ys.shape or labels.shape != xs.shape:
        raise ValueError(f"x, y and groups must have equal length, got {xs.size}, {ys.size}, {labels.size}")
    slopes = []
    for g in dict.fromkeys(labels.tolist()):
        sel = labels == g
        if np.unique(xs[sel]).size < 2:
            raise ValueError(f"group {g!r} must hold at least 2 distinct x to have a slope")
        slopes.append(float(np.polynomial.polynomial.polyfit(np.log(xs[sel]), np.log(ys[sel]), 1)[1]))
    return slopes


def t_interval(values: Sequence[float], ci: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student's t interval of the mean of independent per-seed values.

    Examples
    --------
    >>> from verification.statistics.stats import t_interval
    >>> [round(v, 3) for v in t_interval([1.0, 2.0, 3.0])]
    [2.0, -0.484, 4.484]
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2 or not np.all(np.isfinite(v)):
        raise ValueError(f"values must be >= 2 finite numbers (one per seed), got {v.tolist()}")
    half = float(student.ppf(0.5 + ci / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    mean = float(v.mean())
    return mean, mean - half, mean + half


class InteriorMinimum(NamedTuple):
    """Whether the curve dips in the interior; ``index``/``argmin`` locate its discrete minimum."""

    has_minimum: bool
    index: int
    argmin: float


def _curve(tau: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(tau, dtype=float)
    f = np.asarray(values, dtype=float)
    if t.ndim != 1 or t.shape != f.shape or t.size < 3:
        raise ValueError(f"tau and values must be 1-D of equal length >= 3, got shapes {t.shape}, {f.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(f))):
        raise ValueError("tau and values must be finite")
    if np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise ValueError(f"tau must be positive and strictly increasing, got {t.tolist()}")
    return t, f


def interior_minimum(tau: np.ndarray, values: np.ndarray, rel_margin: float = 0.05) -> InteriorMinimum:
    """Early-stopping shape (docs/theory.md §8.2): does ``values(tau)`` have an interior minimum?

    True when the discrete minimum is neither the first nor the last point and both end values
    exceed it by more than ``rel_margin · |min|`` (strictly more when the minimum is 0). The
    margin keeps a flat or noisy plateau from counting as a minimum.
    """
    t, f = _curve(tau, values)
    if not rel_margin >= 0:
        raise ValueError(f"rel_margin must be >= 0, got {rel_margin!r}")
    i = int(np.argmin(f))
    floor = f[i] + rel_margin * abs(f[i])
    interior = 0 < i < f.size - 1 and f[0] > floor and f[-1] > floor
    return InteriorMinimum(bool(interior), i, float(t[i]))


def smooth_argmin(tau: np.ndarray, values: np.ndarray) -> float:
    """Argmin refined by a parabola in log τ through the discrete minimum and its neighbours.

    Exact for curves quadratic in log τ near their minimum (any grid spacing). The vertex is
    clipped to the neighbours' interval; a minimum at an end of the grid returns that end τ.
    """
    t, f = _curve(tau, values)
    i = int(np.argmin(f))
    if i in (0, f.size - 1):
        return float(t[i])
    u = np.log(t[i - 1 : i + 2])
    a, b, _ = np.polyfit(u - u[1], f[i - 1 : i + 2], 2)
    vertex = u[1] - b / (2 * a) if a > 0 else u[1]
    return float(np.exp(np.clip(vertex, u[0], u[2])))


def is_monotone(values: np.ndarray, increasing: bool, rel_tol: float = 0.0) -> bool:
    """Whether a sequence rises (or falls) step by step, allowing each step a relative wiggle.

    For claims such as "error falls with m and rises with µ" (docs/theory.md §8.2): step k may go the
    wrong way by at most ``rel_tol · |values[k]|``.
    """
    f = np.asarray(values, dtype=float)
    if f.ndim != 1 or f.size < 2 or not np.all(np.isfinite(f)):
        raise ValueError(f"values must be a finite 1-D sequence of length >= 2, got {f!r}")
    if not rel_tol >= 0:
        raise ValueError(f"rel_tol must be >= 0, got {rel_tol!r}")
    steps = np.diff(f) if increasing else -np.diff(f)
    return bool(np.all(steps >= -rel_tol * np.abs(f[:-1])))
