"""What every rule shares (docs/theory.md §8): the hypotheses a rule is simulated under, the judgement it
returns, the gate that keeps a verdict decisive only at a measured size and power, and the noise generator
that resamples a claim's own per-seed values.

A rule turns measured data into one of the six verdicts, and simulates its own operating characteristics
from the same data:

- each *null* is a way the data could look with a decisive verdict wrong (the claim true at its boundary,
  or an effect absent), generated from the claim's own noise; ``size`` is the largest rate, over the nulls,
  of a verdict that would be an error under it;
- the *alternative* is a stated wrong outcome (the effect the claim is about, reversed or absent); ``power``
  is the rate at which the rule gives the verdict that detects it.

:func:`gate` then keeps a decisive verdict only when ``size <= MAX_SIZE``, and ``holds``/``consistent`` (and the
verdicts a rule names as accepting) only when also ``power >= MIN_POWER``; otherwise the verdict is
``inconclusive`` with the reason.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import t as student

MAX_SIZE = 0.05
"""A decisive verdict needs a measured false-alarm rate at most this."""
MIN_POWER = 0.8
"""``holds``/``consistent`` (and a rule's accepting verdicts) need a measured power at least this."""
AGAINST = ("violated", "mechanism-not-observed")
"""The verdicts that contradict a claim: a statement of the paper, or only a mechanism it explains."""
SMOOTHING = 0.5
"""Weight of the Gaussian part of a resampled scatter of many points (:mod:`.trend`, :mod:`.growth`)."""


def silverman_weight(k: int) -> float:
    """The Gaussian part's weight h of the smoothed bootstrap of k values: Silverman's rule-of-thumb bandwidth
    b = 1.06 k^(-1/5) (in units of the sample's spread), as the weight whose shrunk mixture keeps the variance,
    h² = b² / (1 + b²): 0.65 at 3 seeds, 0.61 at 5.

    Examples
    --------
    >>> from verification.rules.core import silverman_weight
    >>> round(silverman_weight(3), 2), round(silverman_weight(5), 2)
    (0.65, 0.61)
    """
    b = 1.06 * max(int(k), 1) ** -0.2
    return float(np.sqrt(b * b / (1 + b * b)))


@dataclass(frozen=True)
class Hypothesis:
    """A way the data could be, simulated from the claim's own noise.

    Attributes
    ----------
    name : str
        A short label ("boundary", "flat", "AR(1)").
    sentence : str
        What was simulated, in words (the report prints it).
    draw : callable
        ``draw(rng, reps)``: ``reps`` synthetic data sets in the form the rule's ``decide_batch`` takes.
    errors : frozenset of str
        The verdicts that would be errors under this hypothesis (counted into ``size``).
    targets : frozenset of str
        The verdicts that detect it (counted into ``power``, for the alternative).
    """

    name: str
    sentence: str
    draw: Callable[[np.random.Generator, int], Any]
    errors: frozenset[str] = frozenset()
    targets: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Judgement:
    """A rule's verdict with the statistic it rests on and its simulated error rates.

    ``raw`` is the rule's verdict before :func:`gate`; ``verdict`` after it, with ``reason`` saying why it
    became ``inconclusive``. ``size`` is a number in [0, 1] (0 for an exact rule); ``power`` a number in
    [0, 1], or None for an exact rule (its power is the engine mutations it catches, not a simulation).
    ``nulls`` lists each null's name, sentence and measured error rate.
    """

    verdict: str
    raw: str
    statistic: dict
    size: float
    power: float | None
    alternative: str
    nulls: tuple[dict, ...] = ()
    reason: str | None = None
    replicates: int = 0


@dataclass(frozen=True)
class Operating:
    """Measured operating characteristics: ``size`` (worst null), ``power`` and the rate under each null."""

    size: float
    power: float | None
    nulls: tuple[dict, ...]
    alternative: str


def rng_for(name: str, seed: int = 0) -> np.random.Generator:
    """The generator of a rule's simulation for claim ``name``: a stable function of the name and ``seed``."""
    return np.random.default_rng([zlib.crc32(name.encode()), int(seed)])


def operating(rule: Any, data: Any, replicates: int, rng: np.random.Generator) -> Operating:
    """Simulate ``rule`` under each of its nulls and its alternative (``replicates`` draws each)."""
    nulls = []
    for h in rule.nulls(data):
        verdicts = np.asarray(rule.decide_batch(h.draw(rng, replicates)))
        rates = {v: float(np.mean(verdicts == v)) for v in sorted(h.errors)}
        nulls.append({"name": h.name, "sentence": h.sentence, "errors": sorted(h.errors),
                      "rate": max(rates.values(), default=0.0), "rate_by_verdict": rates})
    alt = rule.alternative(data)
    if alt is None:
        power, sentence = None, getattr(rule, "no_alternative", "none simulated")
    else:
        verdicts = np.asarray(rule.decide_batch(alt.draw(rng, replicates)))
        power, sentence = float(np.mean(np.isin(verdicts, sorted(alt.targets)))), alt.sentence
    size = max((n["rate"] for n in nulls), default=0.0)
    return Operating(size, power, tuple(nulls), sentence)


def gate(raw: str, size: float, power: float | None, accepting: Sequence[str] = ()) -> tuple[str, str | None]:
    """The verdict a rule may give at its measured ``size`` and ``power`` (docs/theory.md §8).

    Decisive verdicts (all but "inconclusive") need ``size <= MAX_SIZE``; "holds", "consistent" and the rule's
    ``accepting`` verdicts also need ``power >= MIN_POWER`` (an exact rule, ``power`` None, is exempt).

    Examples
    --------
    >>> from verification.rules.core import gate
    >>> gate("violated", 0.03, 0.9)
    ('violated', None)
    >>> gate("violated", 0.07, 0.9)[0], gate("consistent", 0.02, 0.5)[0], gate("holds", 0.0, None)[0]
    ('inconclusive', 'inconclusive', 'holds')
    """
    if raw == "inconclusive":
        return raw, None
    if size > MAX_SIZE:
        return "inconclusive", f"{raw} withheld: measured size {size:.3f} > {MAX_SIZE}"
    needs_power = raw in ("holds", "consistent") or raw in accepting
    if needs_power and power is not None and power < MIN_POWER:
        return "inconclusive", f"{raw} withheld: measured power {power:.3f} < {MIN_POWER}"
    return raw, None


def judge(rule: Any, data: Any, replicates: int, rng: np.random.Generator) -> Judgement:
    """The rule's statistic and verdict on ``data``, its simulated size and power, and the gated verdict."""
    stat = rule.measure(data)
    raw = rule.decide(stat)
    own = getattr(rule, "characteristics", None)
    ops = own(data, stat) if own is not None else operating(rule, data, replicates, rng)
    verdict, reason = gate(raw, ops.size, ops.power, getattr(rule, "accepting", ()))
    if "error" in stat and reason is None and verdict == "inconclusive":
        reason = str(stat["error"])
    explain = getattr(rule, "explain", None)
    if reason is None and explain is not None:
        reason = explain(stat)
    return Judgement(verdict, raw, stat, ops.size, ops.power, ops.alternative, ops.nulls, reason, replicates)


def seed_bootstrap(values: Sequence[float], rng: np.random.Generator, reps: int, size: int | None = None,
                   h: float | None = None) -> np.ndarray:
    """Deviations about their mean with the per-seed ``values``' own scatter: a smoothed wild bootstrap.

    Each draw gives every seed its own centred value (scaled to unbiased variance, sqrt(k/(k-1))) with a random
    sign (Rademacher weights: the wild bootstrap), shrunk by sqrt(1 - h²), plus h·s·z (s the sample standard
    deviation, z standard normal; h by :func:`silverman_weight` unless given). The draws keep the magnitudes of
    the seeds' deviations and their variance s², symmetric about the hypothesis: 3-5 seeds cannot estimate a
    skewness, and resampling their accidental skew would make a correct t interval look anticonservative; the
    Gaussian part (a smoothed bootstrap, Silverman & Young 1987) makes the few sign patterns of 3-5 seeds a
    continuous law. With ``size`` larger than the number of values, values are drawn with replacement. With one
    value, or none that differ, the deviations are 0.

    Returns
    -------
    ndarray of shape (reps, size), ``size`` defaulting to the number of values.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.rules.core import seed_bootstrap
    >>> v = [1.0, 2.0, 4.0, 7.0]
    >>> d = seed_bootstrap(v, np.random.default_rng(0), 20000)
    >>> d.shape, bool(abs(d.mean()) < 0.05), round(float(d.std() / np.std(v, ddof=1)), 2)   # the seeds' spread
    ((20000, 4), True, 1.0)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    k = v.size
    width = k if size is None else size
    if k < 2 or np.ptp(v) == 0:
        return np.zeros((reps, width))
    h = silverman_weight(k) if h is None else h
    centred = (v - v.mean()) * np.sqrt(k / (k - 1))
    s = float(v.std(ddof=1))
    base = np.broadcast_to(centred, (reps, k)) if width == k else centred[rng.integers(0, k, size=(reps, width))]
    pick = base * rng.choice((-1.0, 1.0), size=(reps, width))
    return np.sqrt(1 - h * h) * pick + h * s * rng.standard_normal((reps, width))


def t_bounds(samples: np.ndarray, ci: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise (mean, low, high) of Student's t interval: the vectorised :func:`verification.statistics.stats.t_interval`
    (NaN bounds for rows of fewer than 2 values)."""
    x = np.atleast_2d(np.asarray(samples, dtype=float))
    k = x.shape[1]
    if k == 0:
        nan = np.full(x.shape[0], np.nan)
        return nan, nan, nan
    mean = x.mean(axis=1)
    if k < 2:
        nan = np.full(x.shape[0], np.nan)
        return mean, nan, nan
    half = student.ppf(0.5 + ci / 2, k - 1) * x.std(axis=1, ddof=1) / np.sqrt(k)
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class Values:
    """Per-seed values of a statistic (one independent draw each) and the numbers reported beside them."""

    values: tuple[float, ...]
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))

    @property
    def finite(self) -> np.ndarray:
        v = np.asarray(self.values, dtype=float)
        return v[np.isfinite(v)]
