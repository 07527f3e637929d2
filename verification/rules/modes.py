"""How many modes a sampler's density has (Figs. 5, 10: "collapses to one mode"): local maxima of the exact
reverse-SDE law (the Fokker-Planck density K2 measures) with a prominence of at least ``PROMINENCE`` of its
largest value. One broad bump over both modes is one mode; mass balance across 0 cannot tell it from two.

Per seed the count is exact up to the density's numerical error (below ``ACCURACY`` of its maximum, measured
against the exact law with the exact score, docs/theory.md §9.2), far below the prominence, so noise of that
size cannot add or remove a mode. The seeds vote: ``consistent`` if every seed shows one mode, the claim's
``against`` if fewer than half do, ``inconclusive`` between.

Nulls: each seed's density replaced by the Gaussian of its mean and variance (one mode; error: against) and by
the target p0 (two modes; error: consistent), each with errors uniform within ± ``ACCURACY`` of the maximum.
Alternative: the target p0 (the modes held apart), detected as against.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import find_peaks

from .core import Hypothesis
from .rise import vote

PROMINENCE = 0.05
"""A local maximum is a mode when its prominence is at least this fraction of the density's maximum."""
ACCURACY = 0.005
"""The density's numerical error, as a fraction of its maximum (measured: 3.3e-4 at peaks of 0.2)."""


def count_modes(q: np.ndarray) -> np.ndarray:
    """The number of modes of each density (last axis) on its grid.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.rules.modes import count_modes
    >>> x = np.linspace(-20, 20, 801)
    >>> one = np.exp(-x**2 / 50)
    >>> two = np.exp(-(x - 15)**2 / 2) + np.exp(-(x + 15)**2 / 2)
    >>> count_modes(np.stack([one, two])).tolist()
    [1, 2]
    """
    q = np.atleast_2d(np.asarray(q, dtype=float))
    padded = np.pad(q, ((0, 0), (1, 1)))  # a maximum at the grid's end still counts
    return np.array([len(find_peaks(row, prominence=PROMINENCE * row.max())[0]) for row in padded])


@dataclass(frozen=True)
class Densities:
    """Per-seed densities on grids (one (x, q) pair per seed) and the target's density ``p0`` on the first grid."""

    densities: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]
    p0: tuple[float, ...]
    labels: tuple = ()
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OneMode:
    """Every seed's sampler density has exactly one mode.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.rules import Densities, OneMode, judge, rng_for
    >>> x = np.linspace(-20, 20, 401)
    >>> p0 = tuple(0.5 * (np.exp(-(x - 15)**2 / 2) + np.exp(-(x + 15)**2 / 2)) / np.sqrt(2 * np.pi))
    >>> bump = tuple(np.exp(-x**2 / 60) / np.sqrt(60 * np.pi))
    >>> judge(OneMode(), Densities(((tuple(x), bump),) * 3, p0), 100, rng_for("doc")).verdict
    'consistent'
    """

    against: str = "mechanism-not-observed"
    name: str = "mode-count"

    def predicted(self) -> str:
        return "one mode"

    def describe(self) -> str:
        return (f"per seed: the number of modes of the exact sampler density (local maxima of prominence >= "
                f"{PROMINENCE:g} x its maximum); the seeds vote (all one mode: consistent)")

    def contradiction(self) -> str:
        return f"fewer than half the seeds show one mode: {self.against}; some but not all: inconclusive"

    def measure(self, data: Densities) -> dict:
        counts = [int(count_modes(np.asarray(q))[0]) for _, q in data.densities]
        out = {"modes_per_seed": counts, "one_mode": sum(c == 1 for c in counts), "seeds": len(counts),
               "labels": list(data.labels), "prominence": PROMINENCE, **data.extra}
        if not counts:
            out["error"] = "no density"
        return out

    def decide(self, stat: dict) -> str:
        if not stat["modes_per_seed"]:
            return "inconclusive"
        return str(vote(np.array(stat["modes_per_seed"]) == 1, self.against))

    def decide_batch(self, batch: np.ndarray) -> np.ndarray:
        return vote(batch == 1, self.against)

    def _draw(self, data: Densities, kind: str):
        bases = []
        for x, q in data.densities:
            xs, qs = np.asarray(x, dtype=float), np.asarray(q, dtype=float)
            if kind == "gaussian":
                w = qs / qs.sum()
                mean = float(w @ xs)
                var = float(w @ (xs - mean) ** 2)
                bases.append(np.exp(-(xs - mean) ** 2 / (2 * var)))
            else:
                p0 = np.asarray(data.p0, dtype=float)
                bases.append(np.interp(xs, np.asarray(data.densities[0][0], dtype=float), p0))

        def draw(rng: np.random.Generator, reps: int) -> np.ndarray:
            cols = [count_modes(b + ACCURACY * b.max() * rng.uniform(-1, 1, size=(reps, b.size))) for b in bases]
            return np.stack(cols, axis=-1) if cols else np.zeros((reps, 0), dtype=int)

        return draw

    def nulls(self, data: Densities) -> list[Hypothesis]:
        return [Hypothesis("one mode", "each seed's density replaced by the Gaussian of its mean and variance, errors "
                           f"within +-{ACCURACY:g} of the maximum", self._draw(data, "gaussian"), frozenset({self.against})),
                Hypothesis("two modes", "each seed's density replaced by the target p0, errors within "
                           f"+-{ACCURACY:g} of the maximum", self._draw(data, "p0"), frozenset({"consistent"}))]

    def alternative(self, data: Densities) -> Hypothesis:
        return Hypothesis("two modes", "the target p0 (both modes held), errors within the density's accuracy",
                          self._draw(data, "p0"), targets=frozenset({self.against}))
