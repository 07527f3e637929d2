"""Trends in a swept variable (docs/theory.md §8.2c): Kendall's tau of the seed mean against the variable,
with its exact p-value, vectorised over simulated replicates.

The claim is a direction ("the error falls with m"). ``consistent``: a significant trend the claimed way
(two-sided p < ``TREND_P``); the claim's ``against``: a significant trend the other way; ``inconclusive``
otherwise. A trend claim derived from an upper bound has ``against`` = ``mechanism-not-observed``: a bound that
falls in m does not imply that the error does.

Null: no trend (a flat profile) with the data's own scatter; errors both decisive verdicts. Alternative: the
claimed direction reversed, y ∝ x^(∓effect) (the bound's own exponent where ``bounds`` gives one), detected as
``against``. The scatter is resampled from the claim's own per-seed values: their deviations from the
seed mean at each x, in log y (one seed: the residuals of its log-log line).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import comb, factorial

import numpy as np
from scipy.stats import kendalltau

from .core import Hypothesis, SMOOTHING

TREND_P = 0.05
"""Two-sided significance of Kendall's tau (0.025 a side)."""


@functools.cache
def _inversions(n: int) -> np.ndarray:
    """The number of permutations of n items with k inversions, k = 0 .. n(n-1)/2 (Mahonian numbers)."""
    counts = np.array([1], dtype=object)
    for i in range(2, n + 1):
        new = np.zeros(counts.size + i - 1, dtype=object)
        for shift in range(i):
            new[shift:shift + counts.size] += counts
        counts = new
    return counts


@functools.cache
def _p_table(n: int) -> np.ndarray:
    """Two-sided exact p-value of Kendall's tau for each inversion count k (no ties)."""
    counts = _inversions(n)
    total = factorial(n)
    pairs = comb(n, 2)
    s = np.abs(pairs - 2 * np.arange(counts.size))
    order = np.array([sum(counts[j] for j in range(counts.size) if abs(pairs - 2 * j) >= s[k]) for k in range(counts.size)],
                     dtype=object)
    return np.minimum(1.0, (order / total).astype(float))


def kendall_rows(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kendall's tau of each row of ``y`` against the column index (x sorted), and its exact two-sided p-value.

    The p-value is exact (the inversion-count distribution); a row with ties (a noiseless replicate) gets scipy's
    tau-b and its p-value instead.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.stats import kendalltau
    >>> from verification.rules.trend import kendall_rows
    >>> y = np.array([[0.3, 0.1, 0.5, 0.9, 0.7, 1.2]])
    >>> tau, p = kendall_rows(y)
    >>> ref = kendalltau(np.arange(6), y[0], method="exact")
    >>> bool(np.isclose(tau[0], ref.statistic) and np.isclose(p[0], ref.pvalue))
    True
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    n = y.shape[1]
    if n < 2:
        return np.full(y.shape[0], np.nan), np.ones(y.shape[0])
    i, j = np.triu_indices(n, 1)
    inv = (y[:, i] > y[:, j]).sum(axis=1)
    pairs = comb(n, 2)
    tau = (pairs - 2 * inv) / pairs
    p = _p_table(n)[inv]
    tied = np.flatnonzero(np.any(y[:, i] == y[:, j], axis=1))
    for r in tied:  # rare (a noiseless replicate): scipy's tau-b and its p-value with ties
        k = kendalltau(np.arange(n), y[r])
        tau[r], p[r] = (0.0, 1.0) if not np.isfinite(k.statistic) else (k.statistic, k.pvalue)
    return tau, p


@dataclass(frozen=True)
class Profile:
    """Per-seed values of a quantity at each value of a swept variable.

    ``x``: the swept values (increasing, distinct); ``y``: one row per seed, aligned with ``x`` (NaN where a run
    gave nothing, e.g. diverged); ``extra``: numbers reported beside the statistic.
    """

    x: tuple[float, ...]
    y: tuple[tuple[float, ...], ...]
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=float)
        if x.ndim != 1 or np.any(np.diff(x) <= 0):
            raise ValueError(f"x must be increasing and distinct, got {list(self.x)}")
        rows = [tuple(float(v) for v in r) for r in self.y]
        if any(len(r) != x.size for r in rows):
            raise ValueError(f"every row of y must have {x.size} values")
        object.__setattr__(self, "x", tuple(float(v) for v in x))
        object.__setattr__(self, "y", tuple(rows))

    @property
    def matrix(self) -> np.ndarray:
        return np.asarray(self.y, dtype=float).reshape(len(self.y), len(self.x))

    def usable(self) -> np.ndarray:
        """Which x have at least one finite, positive value."""
        m = self.matrix
        return np.any(np.isfinite(m) & (m > 0), axis=0)

    def means(self) -> np.ndarray:
        m = np.where(np.isfinite(self.matrix) & (self.matrix > 0), self.matrix, np.nan)
        with np.errstate(invalid="ignore"):
            return np.nanmean(m, axis=0)


def residual_pool(profile: Profile) -> np.ndarray:
    """The scatter of log y: deviations from the per-x seed mean of log y, scaled to unbiased variance (one
    seed: the residuals of its log-log least-squares line)."""
    x = np.asarray(profile.x)[profile.usable()]
    logy = np.log(np.where(profile.matrix[:, profile.usable()] > 0, profile.matrix[:, profile.usable()], np.nan))
    per_x = np.sum(np.isfinite(logy), axis=0)
    if np.any(per_x >= 2):
        cols = per_x >= 2
        dev = logy[:, cols] - np.nanmean(logy[:, cols], axis=0)
        dev = dev * np.sqrt(per_x[cols] / (per_x[cols] - 1))
        return dev[np.isfinite(dev)]
    row = logy[0]
    ok = np.isfinite(row)
    if ok.sum() < 3:
        return np.zeros(1)
    u = np.log(x[ok])
    coef = np.polyfit(u, row[ok], 1)
    res = row[ok] - np.polyval(coef, u)
    return res * np.sqrt(res.size / (res.size - 2))


@dataclass(frozen=True)
class Trend:
    """The claim: y rises (``increasing``) or falls with the swept variable.

    Parameters
    ----------
    increasing : bool
        The claimed direction.
    effect : float or callable
        The size of the alternative's power law, y ∝ x^(∓effect) (a positive number; a callable asks ``bounds``).
    variable : str
        The swept variable's name, for the text.
    against : str
        The verdict of a significant contrary trend.

    Examples
    --------
    >>> from verification.rules import Profile, Trend, judge, rng_for
    >>> m = (8.0, 16, 32, 64, 128, 256)
    >>> y = [[0.96, 0.42, 0.22, 0.12, 0.07, 0.04], [0.9, 0.45, 0.2, 0.13, 0.06, 0.05]]
    >>> j = judge(Trend(increasing=False, effect=0.2, variable="m"), Profile(m, y), 400, rng_for("doc"))
    >>> j.verdict, round(j.statistic["kendall_tau"], 1)
    ('consistent', -1.0)
    """

    increasing: bool
    effect: float | Callable[[], float] = 0.2
    variable: str = "x"
    p: float = TREND_P
    against: str = "violated"
    name: str = "trend"

    def predicted(self) -> dict:
        return {"increasing" if self.increasing else "decreasing": True}

    def _effect(self) -> float:
        return abs(float(self.effect() if callable(self.effect) else self.effect))

    def describe(self) -> str:
        return (f"Kendall's tau of the seed mean against {self.variable}, exact two-sided p-value (significant below "
                f"{self.p:g})")

    def contradiction(self) -> str:
        other = "decreasing" if self.increasing else "increasing"
        return f"a significant {other} trend: {self.against}; no significant trend: inconclusive"

    def measure(self, data: Profile) -> dict:
        use = data.usable()
        x = np.asarray(data.x)[use]
        means = data.means()[use]
        out = {"x": list(data.x), "seed_mean": data.means().tolist(), "seeds": len(data.y),
               "x_without_value": [v for v, u in zip(data.x, use) if not u], **data.extra}
        if x.size < 3:
            return {**out, "error": f"fewer than 3 {self.variable} with a value", "kendall_tau": float("nan"),
                    "p_value": 1.0}
        k = kendalltau(x, means)
        tau, p = float(k.statistic), float(k.pvalue)
        return {**out, "kendall_tau": tau, "p_value": p}

    def _verdicts(self, tau: np.ndarray, p: np.ndarray) -> np.ndarray:
        significant = p < self.p
        claimed = tau > 0 if self.increasing else tau < 0
        contrary = tau < 0 if self.increasing else tau > 0
        return np.where(significant & claimed, "consistent",
                        np.where(significant & contrary, self.against, "inconclusive")).astype(object)

    def decide(self, stat: dict) -> str:
        if "error" in stat:
            return "inconclusive"
        return str(self._verdicts(np.array([stat["kendall_tau"]]), np.array([stat["p_value"]]))[0])

    def decide_batch(self, batch: np.ndarray) -> np.ndarray:
        tau, p = kendall_rows(batch)
        return self._verdicts(tau, p)

    def _draw(self, data: Profile, slope: float) -> Callable[[np.random.Generator, int], np.ndarray]:
        use = data.usable()
        x = np.asarray(data.x)[use]
        present = np.isfinite(data.matrix[:, use]) & (data.matrix[:, use] > 0)
        pool = residual_pool(data)
        spread = float(pool.std()) if pool.size > 1 else 0.0
        level = float(np.nanmean(np.log(data.means()[use]))) if use.any() else 0.0

        def draw(rng: np.random.Generator, reps: int) -> np.ndarray:
            shape = (reps, *present.shape)
            pick = pool[rng.integers(0, pool.size, size=shape)]
            noise = np.sqrt(1 - SMOOTHING**2) * pick + SMOOTHING * spread * rng.standard_normal(shape)
            logy = level + slope * (np.log(x) - np.log(x).mean()) + noise
            y = np.where(present, np.exp(logy), np.nan)
            with np.errstate(invalid="ignore"):
                return np.nanmean(y, axis=1)

        return draw

    def nulls(self, data: Profile) -> list[Hypothesis]:
        return [Hypothesis("flat", f"no trend in {self.variable}, the seeds' own scatter (log y)",
                           self._draw(data, 0.0), frozenset({"consistent", self.against}))]

    def alternative(self, data: Profile) -> Hypothesis:
        e = self._effect()
        slope = -e if self.increasing else e
        return Hypothesis("reversed", f"the claimed direction reversed: y ~ {self.variable}^{slope:+.3g}, the seeds' own "
                          "scatter", self._draw(data, slope), targets=frozenset({self.against}))


def profile_from(x: Sequence[float], groups: Sequence, values: Sequence[float], extra: dict | None = None) -> Profile:
    """A :class:`Profile` from flat (x, seed, value) lists: one row per seed, NaN where a seed lacks an x."""
    xs = sorted(set(float(v) for v in x))
    seeds = list(dict.fromkeys(groups))
    table = {s: [float("nan")] * len(xs) for s in seeds}
    for xi, g, v in zip(x, groups, values):
        table[g][xs.index(float(xi))] = float(v)
    return Profile(tuple(xs), tuple(tuple(table[s]) for s in seeds), extra or {})
