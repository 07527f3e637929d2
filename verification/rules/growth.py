"""Polynomial against exponential growth in d (docs/theory.md §8.7) as a rule with simulated size and power.

Per seed, ΔAIC = AIC_exp - AIC_poly = N log(RSS_exp / RSS_poly) from the least-squares lines of log y on log d
and on d (:mod:`verification.statistics.growth`). ``consistent``: ΔAIC > 2 in every seed; the claim's ``against``: ΔAIC < -2
in most seeds; ``inconclusive`` otherwise.

Nulls, from the claim's own data: each seed's polynomial fit with residuals resampled from the seeds' polynomial
residuals (error: against); each seed's exponential through its own end points with the same residuals
(error: consistent). Alternative: that exponential, detected as against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..statistics.growth import DECISIVE, compare_growth, delta_aic
from .core import SMOOTHING, Hypothesis


@dataclass(frozen=True)
class GrowthData:
    """(d, y, seed) points of one sweep, d >= 2 and y > 0."""

    d: tuple[float, ...]
    y: tuple[float, ...]
    groups: tuple
    extra: dict = field(default_factory=dict)


def _rss_lines(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """RSS of the least-squares line of v on u along the last axis (u shared)."""
    uc = u - u.mean()
    vc = v - v.mean(axis=-1, keepdims=True)
    sxx = float(uc @ uc)
    sxy = vc @ uc
    return np.maximum((vc * vc).sum(axis=-1) - sxy**2 / sxx, 0.0)


def delta_aic_rows(d: np.ndarray, logy: np.ndarray) -> np.ndarray:
    """ΔAIC of each row of log y against one d (vectorised :func:`verification.statistics.growth.delta_aic`)."""
    tiny = 1e-300
    return d.size * np.log((_rss_lines(d, logy) + tiny) / (_rss_lines(np.log(d), logy) + tiny))


@dataclass(frozen=True)
class Growth:
    """y grows polynomially, not exponentially, in d.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.rules import Growth, GrowthData, judge, rng_for
    >>> d = np.tile([2.0, 4, 8, 16, 32, 64, 128], 3)
    >>> y = d ** 1.2 * np.exp(0.05 * np.random.default_rng(0).standard_normal(d.size))
    >>> j = judge(Growth(), GrowthData(tuple(d), tuple(y), tuple(np.repeat([0, 1, 2], 7))), 200, rng_for("doc"))
    >>> j.verdict, j.power
    ('consistent', 1.0)
    """

    against: str = "violated"
    name: str = "growth"

    def predicted(self) -> str:
        return "polynomial in d"

    def describe(self) -> str:
        return ("per seed, least squares of log y on log d (polynomial) and on d (exponential); dAIC = AIC_exp - "
                "AIC_poly; the polynomial exponent with a 95% t interval over seeds")

    def contradiction(self) -> str:
        return f"dAIC < -{DECISIVE:g} (exponential preferred) in most seeds: {self.against}; not > {DECISIVE:g} in every seed: inconclusive"

    def _seeds(self, data: GrowthData) -> list[tuple[np.ndarray, np.ndarray]]:
        d, y, g = (np.asarray(v) for v in (data.d, data.y, data.groups))
        out = []
        for s in dict.fromkeys(data.groups):
            sel = g == s
            order = np.argsort(d[sel])
            out.append((d[sel][order].astype(float), np.log(y[sel][order].astype(float))))
        return out

    def measure(self, data: GrowthData) -> dict:
        try:
            fit = compare_growth(data.d, data.y, data.groups)
        except ValueError as err:
            return {"error": str(err), **data.extra}
        out = fit.to_json()
        out.pop("power", None)
        return {**out, **data.extra}

    def _verdicts(self, delta: np.ndarray) -> np.ndarray:
        exp = np.mean(delta < -DECISIVE, axis=-1) > 0.5
        poly = np.all(delta > DECISIVE, axis=-1)
        return np.where(exp, self.against, np.where(poly, "consistent", "inconclusive")).astype(object)

    def decide(self, stat: dict) -> str:
        if "error" in stat:
            return "inconclusive"
        return str(self._verdicts(np.asarray(stat["delta_aic_per_seed"])[None, :])[0])

    def decide_batch(self, batch: np.ndarray) -> np.ndarray:
        return self._verdicts(batch)

    def _draw(self, data: GrowthData, exponential: bool):
        seeds = self._seeds(data)
        residuals = []
        for d, v in seeds:
            _, _, _, r = delta_aic(d, np.exp(v))
            residuals.append(r * np.sqrt(r.size / max(r.size - 2, 1)))
        pool = np.concatenate(residuals) if residuals else np.zeros(1)
        spread = float(pool.std())

        def draw(rng: np.random.Generator, reps: int) -> np.ndarray:
            cols = []
            for (d, v), r in zip(seeds, residuals):
                if exponential:
                    rate = (v[-1] - v[0]) / (d[-1] - d[0])
                    base = v[0] + rate * (d - d[0])
                else:
                    base = v - r
                pick = pool[rng.integers(0, pool.size, size=(reps, d.size))]
                noise = np.sqrt(1 - SMOOTHING**2) * pick + SMOOTHING * spread * rng.standard_normal((reps, d.size))
                cols.append(delta_aic_rows(d, base + noise))
            return np.stack(cols, axis=-1)

        return draw

    def nulls(self, data: GrowthData) -> list[Hypothesis]:
        return [Hypothesis("polynomial", "each seed's polynomial fit, residuals resampled from the seeds' polynomial "
                           "residuals", self._draw(data, False), frozenset({self.against})),
                Hypothesis("exponential", "each seed's exponential through its own end points, the same residuals",
                           self._draw(data, True), frozenset({"consistent"}))]

    def alternative(self, data: GrowthData) -> Hypothesis:
        return Hypothesis("exponential", "each seed's exponential through its own end points, residuals resampled "
                          "from the seeds' polynomial residuals", self._draw(data, True),
                          targets=frozenset({self.against}))


def growth_data(rows: Sequence[dict], key: str, extra: dict | None = None) -> GrowthData:
    """The (d, y, seed) points of d >= 2 with a finite positive ``key``."""
    use = [r for r in rows if r["d"] >= 2 and np.isfinite(r[key]) and r[key] > 0]
    return GrowthData(tuple(float(r["d"]) for r in use), tuple(float(r[key]) for r in use),
                      tuple(r["seed"] for r in use), extra or {})
