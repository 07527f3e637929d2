"""Early stopping as a rise after the minimum (Fig. 3; docs/theory.md §8.2a): one rule for exact curves, one
for noisy training runs.

- :class:`ExactRise`: curves computed exactly given their seed (K1, and K2 up to its discretisation error).
  A curve rises when its minimum is interior and the last value exceeds it by more than twice the
  measurement's accuracy (then no error of that accuracy can fake a rise or hide one of 4x the accuracy).
  The seeds vote: ``consistent`` if every curve rises, the claim's ``against`` if fewer than half do,
  ``inconclusive`` between.
- :class:`WindowRise`: training runs whose KL jumps between checkpoints (SGD noise). Windows fixed before the
  data are seen, as fractions of the run length (by default 35-50% and 85-100% of the epochs: epochs 700-1000
  and 1700-2000 of the paper's 2001, bracketing its minimum near epoch 800-1000); per seed
  d = log mean KL(late window) - log mean KL(early window); :class:`~verification.rules.intervals.Detection`
  on d with the stated effect a 2x rise. Picking each run's argmin and then measuring the rise from it
  passes pure noise (it rises by construction); fixed windows do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .core import Hypothesis, Values
from .intervals import Detection

THRESHOLD = 2.0
"""A rise counts when it exceeds this many times the measurement's relative accuracy."""


@dataclass(frozen=True)
class Curves:
    """Exact curves, one per seed: (τ, value) pairs, with the measurement's relative ``accuracy`` and labels."""

    curves: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]
    accuracy: float
    labels: tuple = ()
    extra: dict = field(default_factory=dict)


def curve_rise(values: np.ndarray) -> tuple[float, int]:
    """(relative rise (v[-1] - min) / min, index of the minimum) of one curve (or of each row)."""
    v = np.asarray(values, dtype=float)
    i = np.argmin(v, axis=-1)
    vmin = np.take_along_axis(v, np.expand_dims(i, -1), -1)[..., 0]
    return (v[..., -1] - vmin) / vmin, i


def rises(values: np.ndarray, accuracy: float) -> np.ndarray:
    """Whether each curve (last axis) has an interior minimum, below its first value, and rises after it by more
    than :data:`THRESHOLD` x ``accuracy`` (relative)."""
    v = np.asarray(values, dtype=float)
    rise, i = curve_rise(v)
    n = v.shape[-1]
    interior = (i > 0) & (i < n - 1) & (v[..., 0] > np.take_along_axis(v, np.expand_dims(i, -1), -1)[..., 0])
    return interior & (rise > THRESHOLD * accuracy)


def vote(rising: np.ndarray, against: str) -> np.ndarray:
    """The seeds' vote over the last axis: consistent if all rise, ``against`` if fewer than half, else inconclusive."""
    r = np.asarray(rising, dtype=bool)
    frac = r.mean(axis=-1)
    return np.where(frac == 1.0, "consistent", np.where(frac < 0.5, against, "inconclusive")).astype(object)


@dataclass(frozen=True)
class ExactRise:
    """The seeds' exact curves fall to an interior minimum and rise above the measurement's accuracy.

    Nulls: each curve flattened after its minimum (no rise), with errors uniform within ± the accuracy (error:
    consistent); each curve rising by 4x the accuracy after its minimum, with the same errors (error: against).
    Alternative: each curve rising by 1% after its minimum, detected as consistent.

    Examples
    --------
    >>> from verification.rules import Curves, ExactRise, judge, rng_for
    >>> up = ((1.0, 10.0, 100.0, 1000.0), (0.5, 0.2, 0.25, 0.3))
    >>> flat = ((1.0, 10.0, 100.0, 1000.0), (0.5, 0.2, 0.2, 0.2))
    >>> judge(ExactRise(), Curves((up, up, up), 1e-9), 200, rng_for("doc")).verdict
    'consistent'
    >>> judge(ExactRise(), Curves((flat, flat, up), 1e-9), 200, rng_for("doc")).verdict
    'mechanism-not-observed'
    """

    against: str = "mechanism-not-observed"
    name: str = "exact-rise"
    accepting: tuple[str, ...] = ()

    def predicted(self) -> dict:
        return {"interior_minimum_and_rise": True}

    def describe(self) -> str:
        return (f"per seed: an interior minimum in tau and a relative rise (KL(tau_max) - min) / min above {THRESHOLD:g} x "
                "the measurement's accuracy; the seeds vote (all rise: consistent)")

    def contradiction(self) -> str:
        return f"fewer than half the seeds' curves rise: {self.against}; some but not all: inconclusive"

    def measure(self, data: Curves) -> dict:
        out = {"rise": [], "rises": [], "argmin_tau": [], "labels": list(data.labels), "accuracy": data.accuracy,
               "threshold": THRESHOLD * data.accuracy, **data.extra}
        for tau, v in data.curves:
            arr = np.asarray(v, dtype=float)
            if arr.size < 3:
                continue
            rise, i = curve_rise(arr)
            out["rise"].append(float(rise))
            out["rises"].append(bool(rises(arr, data.accuracy)))
            out["argmin_tau"].append(float(tau[int(i)]))
        out["seeds"] = len(out["rises"])
        out["plateau_labels"] = [lab for lab, r in zip(data.labels, out["rises"]) if not r] if data.labels else []
        if not out["rises"]:
            out["error"] = "no curve of 3 points or more"
        return out

    def decide(self, stat: dict) -> str:
        if not stat["rises"]:
            return "inconclusive"
        return str(vote(np.array(stat["rises"]), self.against))

    def decide_batch(self, batch: tuple[list[np.ndarray], float]) -> np.ndarray:
        curves, accuracy = batch
        if not curves:
            return np.full(1, "inconclusive", dtype=object)
        rising = np.stack([rises(c, accuracy) for c in curves], axis=-1)
        return vote(rising, self.against)

    def _draws(self, data: Curves, shape: Callable[[np.ndarray, int], np.ndarray]) -> Callable:
        curves = [np.asarray(v, dtype=float) for _, v in data.curves if len(v) >= 3]

        def draw(rng: np.random.Generator, reps: int) -> tuple[list[np.ndarray], float]:
            out = []
            for v in curves:
                base = shape(v, int(np.argmin(v)))
                noise = rng.uniform(-1.0, 1.0, size=(reps, v.size)) * data.accuracy
                out.append(base * (1 + noise))
            return out, data.accuracy

        return draw

    def nulls(self, data: Curves) -> list[Hypothesis]:
        def flat(v: np.ndarray, i: int) -> np.ndarray:
            return np.concatenate([v[:i + 1], np.full(v.size - i - 1, v[i])])

        def small(v: np.ndarray, i: int) -> np.ndarray:
            return _ramp(v, i, 2 * THRESHOLD * data.accuracy)

        return [Hypothesis("plateau", "each curve flat after its minimum, errors within +- the accuracy",
                           self._draws(data, flat), frozenset({"consistent"})),
                Hypothesis("small rise", f"each curve rising by {2 * THRESHOLD:g}x the accuracy after its minimum",
                           self._draws(data, small), frozenset({self.against}))]

    def alternative(self, data: Curves) -> Hypothesis:
        return Hypothesis("rise", "each curve rising by 1% after its minimum, errors within +- the accuracy",
                          self._draws(data, lambda v, i: _ramp(v, i, 0.01)), targets=frozenset({"consistent"}))


def _ramp(v: np.ndarray, i: int, rise: float) -> np.ndarray:
    """The curve with an interior minimum at its argmin (moved inside the grid if at an end), its earlier values
    kept above the minimum, then a linear ramp from the minimum to (1 + rise) x the minimum at the last point."""
    n = v.size
    j = int(np.clip(i, 1, n - 2))
    vmin = float(np.min(v))
    head = np.where(v[:j] > vmin, v[:j], vmin * (1 + 2 * rise))
    tail = vmin * (1 + rise * np.arange(n - j) / (n - 1 - j))
    return np.concatenate([head, tail])


@dataclass(frozen=True)
class Runs:
    """Noisy training runs, one per seed: checkpoint epochs and KL values, and the run length ``epochs``."""

    runs: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]
    epochs: int
    labels: tuple = ()
    extra: dict = field(default_factory=dict)


WINDOWS = ((0.35, 0.5), (0.85, 1.0))
"""The early and late windows as fractions of the run length (fixed before the data are seen)."""


def window_masks(epochs: np.ndarray, length: int, windows=WINDOWS) -> tuple[np.ndarray, np.ndarray]:
    """Which checkpoints fall in the early and the late window."""
    e = np.asarray(epochs, dtype=float)
    (a1, b1), (a2, b2) = windows
    return (e >= a1 * length) & (e <= b1 * length), (e >= a2 * length) & (e <= b2 * length)


def window_statistic(values: np.ndarray, early: np.ndarray, late: np.ndarray) -> np.ndarray:
    """log mean(late window) - log mean(early window), along the last axis."""
    v = np.asarray(values, dtype=float)
    return np.log(v[..., late].mean(axis=-1)) - np.log(v[..., early].mean(axis=-1))


def block_bootstrap(residuals: np.ndarray, rng: np.random.Generator, reps: int, block: int) -> np.ndarray:
    """Circular block bootstrap of a residual series (keeps its autocorrelation up to ``block`` lags)."""
    n = residuals.size
    starts = rng.integers(0, n, size=(reps, int(np.ceil(n / block))))
    idx = (starts[..., None] + np.arange(block)).reshape(reps, -1)[:, :n] % n
    return residuals[idx]


def smooth(logv: np.ndarray, width: int) -> np.ndarray:
    """Centred moving median of a series (ends: the available neighbours), the run's slow trend."""
    half = max(width // 2, 1)
    return np.array([np.median(logv[max(0, i - half): i + half + 1]) for i in range(logv.size)])


@dataclass(frozen=True)
class WindowRise:
    """A noisy run's KL rises from an early window to a late one (windows fixed in advance), over seeds.

    The per-seed statistic d is judged by :class:`Detection` with the stated effect log 2 (a 2x rise):
    ``consistent`` when its t interval lies above 0, the claim's ``against`` when it lies below log 2 and holds 0.
    Nulls and alternative are whole runs: each seed's slow trend (a moving median of log KL over ``smooth_frac``
    of its checkpoints) held flat from the early window on (no rise; error: consistent), or rising by 2x from the
    early window to the late one (error: against), plus its own residuals about the trend by a circular block
    bootstrap (the autocorrelation of SGD noise kept). Alternative: the 2x rise, detected as consistent.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.rules import Runs, WindowRise, judge, rng_for
    >>> e = np.arange(0, 201, 10.0)
    >>> rng = np.random.default_rng(0)
    >>> up = lambda: tuple(np.exp(np.where(e < 100, 0.0, np.log(3) * (e - 100) / 100) + 0.05 * rng.standard_normal(e.size)))
    >>> j = judge(WindowRise(), Runs(tuple((tuple(e), up()) for _ in range(4)), 200), 200, rng_for("doc"))
    >>> j.verdict
    'consistent'
    """

    effect: float = math.log(2.0)
    windows: tuple = WINDOWS
    smooth_frac: float = 0.1
    block_frac: float = 0.1
    ci: float = 0.95
    against: str = "mechanism-not-observed"
    name: str = "window-rise"
    accepting: tuple[str, ...] = ()

    @property
    def detection(self) -> Detection:
        return Detection(self.effect, ci=self.ci, against=self.against)

    def predicted(self) -> dict:
        return {"rise_between_windows": True, "stated_effect": "2x"}

    def describe(self) -> str:
        (a1, b1), (a2, b2) = self.windows
        return (f"per seed d = log mean KL over epochs [{a1:g}, {b1:g}] x E minus over [{a2:g}, {b2:g}] x E reversed "
                "(late minus early; E the run length, windows fixed in advance); the mean of d with a 95% Student t "
                "interval over seeds")

    def contradiction(self) -> str:
        return (f"the interval of d lies below log 2 (a 2x rise excluded) and holds 0: {self.against}; above 0: a rise "
                "(consistent)")

    def _per_seed(self, data: Runs) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        out = []
        for epochs, v in data.runs:
            e = np.asarray(epochs, dtype=float)
            early, late = window_masks(e, data.epochs, self.windows)
            arr = np.asarray(v, dtype=float)
            if early.any() and late.any() and np.all(np.isfinite(arr)) and np.all(arr > 0):
                out.append((e, arr, early, late))
        return out

    def measure(self, data: Runs) -> dict:
        seeds = self._per_seed(data)
        d = [float(window_statistic(v, early, late)) for _, v, early, late in seeds]
        stat = self.detection.measure(Values(d))
        early_n = [int(s[2].sum()) for s in seeds]
        late_n = [int(s[3].sum()) for s in seeds]
        return {**stat, "log_ratio_per_seed": d, "ratio_per_seed": [math.exp(x) for x in d],
                "checkpoints_early": early_n, "checkpoints_late": late_n, "labels": list(data.labels),
                "runs_without_windows": len(data.runs) - len(seeds), **data.extra}

    def decide(self, stat: dict) -> str:
        return self.detection.decide(stat)

    def decide_batch(self, batch: np.ndarray) -> np.ndarray:
        return self.detection.decide_batch(batch)

    def _draw(self, data: Runs, rise: float) -> Callable[[np.random.Generator, int], np.ndarray]:
        seeds = self._per_seed(data)
        parts = []
        for e, v, early, late in seeds:
            logv = np.log(v)
            trend = smooth(logv, max(3, int(round(self.smooth_frac * v.size))))
            residuals = logv - trend
            level = float(np.mean(trend[early]))
            start, stop = float(e[early].max()), float(e[late].min())
            ramp = np.clip((e - start) / max(stop - start, 1e-12), 0.0, 1.0)
            base = np.where(e <= start, np.where(e >= e[early].min(), level, trend), level + rise * ramp)
            parts.append((base, residuals, early, late, max(1, int(round(self.block_frac * v.size)))))

        def draw(rng: np.random.Generator, reps: int) -> np.ndarray:
            cols = [window_statistic(np.exp(base + block_bootstrap(res, rng, reps, block)), early, late)
                    for base, res, early, late, block in parts]
            return np.stack(cols, axis=1) if cols else np.zeros((reps, 0))

        return draw

    def nulls(self, data: Runs) -> list[Hypothesis]:
        return [Hypothesis("no rise", "each seed's trend held flat from the early window on, its own residuals "
                           "(circular block bootstrap)", self._draw(data, 0.0), frozenset({"consistent"})),
                Hypothesis("2x rise", "each seed's trend rising 2x from the early window to the late one, its own "
                           "residuals (circular block bootstrap)", self._draw(data, self.effect),
                           frozenset({self.against}))]

    def alternative(self, data: Runs) -> Hypothesis:
        return Hypothesis("2x rise", "a 2x rise from the early window to the late one in every seed, each seed's own "
                          "residuals (circular block bootstrap)", self._draw(data, self.effect),
                          targets=frozenset({"consistent"}))


def runs_from(records: Sequence[Sequence[dict]], key: str, epochs: int, labels: Sequence = ()) -> Runs:
    """:class:`Runs` from training records (dicts with ``epoch`` and ``key``)."""
    return Runs(tuple((tuple(float(r["epoch"]) for r in recs), tuple(float(r[key]) for r in recs)) for recs in records),
                epochs, tuple(labels))
