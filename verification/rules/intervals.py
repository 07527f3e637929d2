"""Rules on per-seed values judged by Student's t interval of their mean over seeds (docs/theory.md §8.2).

Each seed gives one independent value (a fitted exponent, a paired difference, a correlation); the 95% t
interval of their mean decides. The rules differ in what the interval is compared with:

- :class:`Rate`: an upper bound's exponent p (``holds-with-slack`` below, ``violated`` above, ``consistent`` across);
- :class:`Sign`: a signed effect against 0 (``consistent`` on the claimed side, against on the other);
- :class:`Separation`: the claimed value against a rival one (``tau_es ~ n^(2/5)`` against ``n^1``);
- :class:`Detection`: an effect detected above 0, or one as large as a stated effect excluded (a rise);
- and in :mod:`.agreement`, two things agreeing within a tolerance or a margin.

Their nulls and alternatives move the per-seed values to the hypothesis and add deviations resampled from the
claim's own values (:func:`~verification.rules.core.seed_bootstrap`), so the simulated intervals have the data's
spread and shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .core import Hypothesis, Values, seed_bootstrap, t_bounds

_NO_DATA = "fewer than 2 seeds with a finite value"


def _draw(data: Values, centre: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Replicates of the per-seed values moved to ``centre``, with the data's own deviations."""
    k = data.finite.size

    def draw(rng: np.random.Generator, reps: int) -> np.ndarray:
        return centre + seed_bootstrap(data.finite, rng, reps, size=max(k, 1))

    return draw


def _interval_stat(data: Values, ci: float = 0.95) -> dict:
    v = data.finite
    mean, lo, hi = (float(a[0]) for a in t_bounds(v[None, :], ci)) if v.size else (float("nan"),) * 3
    out = {"per_seed": list(data.values), "mean": mean, ci_key(ci): [lo, hi], "seeds": int(v.size), **data.extra}
    if v.size < 2:
        out["error"] = _NO_DATA
    return out


def ci_key(ci: float) -> str:
    """The statistic's key of an interval at level ``ci``: "ci95", "ci97.5", ..."""
    return f"ci{round(100 * ci, 4):g}"


def _fmt(x: float) -> str:
    return f"{x:.4g}"


class _OnInterval:
    """What every rule of this module does with its t interval: the statistic (:func:`_interval_stat` plus the
    rule's own numbers), the verdict of the measured interval, and the verdicts of simulated replicates, all
    from the rule's ``_verdicts(lo, hi)`` at its level ``ci``."""

    def _numbers(self, data: Values) -> dict:
        return {}

    def measure(self, data: Values) -> dict:
        return {**_interval_stat(data, self.ci), **self._numbers(data)}

    def _decide_bounds(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        out = np.asarray(self._verdicts(lo, hi), dtype=object)
        return out

    def decide(self, stat: dict) -> str:
        lo, hi = stat[ci_key(self.ci)]
        return str(self._decide_bounds(np.array([lo]), np.array([hi]))[0])

    def decide_batch(self, batch: np.ndarray) -> np.ndarray:
        _, lo, hi = t_bounds(batch, self.ci)
        return self._decide_bounds(lo, hi)


@dataclass(frozen=True)
class Rate(_OnInterval):
    """An upper bound's exponent: the claim is "the quantity scales at most like x^p".

    Verdict on the t interval [lo, hi] of the per-seed exponents: ``holds-with-slack`` if hi < p, ``violated``
    (the claim's ``against``) if lo > p, ``consistent`` otherwise. Null: exponent p exactly (the boundary);
    errors ``violated`` and ``holds-with-slack``. Alternative: exponent p + ``slower`` (the quantity decays
    slower, or grows faster, than the bound allows), detected as ``violated``.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.rules import Rate, Values, judge, rng_for
    >>> rule = Rate(exponent=-0.4)
    >>> j = judge(rule, Values([-1.1, -1.0, -1.2, -1.05, -0.95]), 400, rng_for("doc"))
    >>> j.verdict, j.size <= 0.05, j.power > 0.8
    ('holds-with-slack', True, True)
    """

    exponent: float | Callable[[], float]
    slower: float | None = None
    variable: str = "x"
    ci: float = 0.95
    against: str = "violated"
    name: str = "rate"

    def predicted(self) -> float:
        return float(self.exponent() if callable(self.exponent) else self.exponent)

    def step(self) -> float:
        """The alternative's distance from p: ``slower``, else half the predicted exponent's size (at least 0.1)."""
        return float(self.slower) if self.slower is not None else max(abs(self.predicted()) / 2, 0.1)

    def describe(self) -> str:
        return (f"per-seed least-squares slope of log y on log {self.variable}; the exponent is their mean with a "
                f"{100 * self.ci:g}% Student t interval over seeds")

    def contradiction(self) -> str:
        return f"the interval lies wholly above the predicted exponent (slower decay than the bound allows): {self.against}"

    def _numbers(self, data: Values) -> dict:
        return {"predicted": self.predicted()}

    def _verdicts(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        p = self.predicted()
        out = np.where(hi < p, "holds-with-slack", np.where(lo > p, self.against, "consistent")).astype(object)
        return out

    def nulls(self, data: Values) -> list[Hypothesis]:
        p = self.predicted()
        return [Hypothesis("boundary", f"exponent exactly {_fmt(p)} (the bound's), the seeds' own spread",
                           _draw(data, p), frozenset({self.against, "holds-with-slack"}))]

    def alternative(self, data: Values) -> Hypothesis:
        a = self.predicted() + self.step()
        return Hypothesis("slower", f"exponent {_fmt(a)}, slower than the bound's {_fmt(self.predicted())} by "
                          f"{_fmt(self.step())}, the seeds' own spread", _draw(data, a), targets=frozenset({self.against}))


@dataclass(frozen=True)
class Sign(_OnInterval):
    """A signed effect: the claim is "the per-seed value lies above ``null``" (``direction`` +1) or below (-1).

    ``consistent`` if the t interval lies wholly on the claimed side, the claim's ``against`` if wholly on the
    other, ``inconclusive`` if it holds ``null``. Null: the value exactly ``null``; errors both decisive verdicts.
    Alternative: the effect reversed, ``null - direction * effect``, detected as ``against``.

    Examples
    --------
    >>> from verification.rules import Sign, Values, judge, rng_for
    >>> j = judge(Sign(effect=0.25), Values([0.37, 0.24, 0.17, 0.28, 0.20]), 400, rng_for("doc"))
    >>> j.verdict, j.power > 0.8
    ('consistent', True)
    """

    effect: float
    null: float = 0.0
    direction: int = 1
    units: str = ""
    ci: float = 0.95
    against: str = "violated"
    name: str = "sign"

    def predicted(self) -> str:
        return f"{'>' if self.direction > 0 else '<'} {_fmt(self.null)}"

    def describe(self) -> str:
        return f"per-seed values; their mean with a {100 * self.ci:g}% Student t interval over seeds"

    def contradiction(self) -> str:
        side = "below" if self.direction > 0 else "above"
        return f"the interval lies wholly {side} {_fmt(self.null)}: {self.against}; it holds {_fmt(self.null)}: inconclusive"


    def _verdicts(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        up, down = lo > self.null, hi < self.null
        good, bad = (up, down) if self.direction > 0 else (down, up)
        out = np.where(good, "consistent", np.where(bad, self.against, "inconclusive")).astype(object)
        return out

    def nulls(self, data: Values) -> list[Hypothesis]:
        return [Hypothesis("no effect", f"mean exactly {_fmt(self.null)}{self.units}, the seeds' own spread",
                           _draw(data, self.null), frozenset({"consistent", self.against}))]

    def alternative(self, data: Values) -> Hypothesis:
        a = self.null - self.direction * self.effect
        return Hypothesis("reversed", f"the effect reversed: mean {_fmt(a)}{self.units}, the seeds' own spread",
                          _draw(data, a), targets=frozenset({self.against}))


@dataclass(frozen=True)
class Separation(_OnInterval):
    """The claimed value against a rival: ``against`` if the interval excludes ``claim``, ``consistent`` if it
    holds ``claim`` and excludes ``rival``, ``inconclusive`` if it holds both. Excluding the claim on either side
    contradicts it, so the interval is at level ``ci`` = 97.5% (2.5% in all, not 5%, at the claim).

    Nulls: the value exactly ``claim`` (error: against) and exactly ``rival`` (error: consistent). Alternative:
    the rival, detected as against.

    Examples
    --------
    >>> from verification.rules import Separation, Values, judge, rng_for
    >>> rule = Separation(claim=0.4, rival=1.0, variable="n")
    >>> judge(rule, Values([1.1, 0.9, 1.3, 1.0, 1.2]), 400, rng_for("doc")).verdict
    'mechanism-not-observed'
    """

    claim: float | Callable[[], float]
    rival: float
    variable: str = "x"
    rival_name: str = "the rival"
    ci: float = 0.975
    against: str = "mechanism-not-observed"
    name: str = "separation"

    def predicted(self) -> dict:
        return {"slope": self._claim(), "rival": self.rival}

    def _claim(self) -> float:
        return float(self.claim() if callable(self.claim) else self.claim)

    def describe(self) -> str:
        return (f"per-seed least-squares slope of log y on log {self.variable}; their mean with a {100 * self.ci:g}% "
                "Student t interval over seeds, against the claimed and the rival exponent")

    def contradiction(self) -> str:
        return (f"the interval excludes the claimed {_fmt(self._claim())}: {self.against}; it holds both it and "
                f"{self.rival_name} {_fmt(self.rival)}: inconclusive")


    def _verdicts(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        c = self._claim()
        holds_claim = (lo <= c) & (c <= hi)
        holds_rival = (lo <= self.rival) & (self.rival <= hi)
        out = np.where(~holds_claim, self.against, np.where(holds_rival, "inconclusive", "consistent")).astype(object)
        return out

    def nulls(self, data: Values) -> list[Hypothesis]:
        c = self._claim()
        return [Hypothesis("claimed", f"exponent exactly {_fmt(c)}, the seeds' own spread", _draw(data, c),
                           frozenset({self.against})),
                Hypothesis("rival", f"exponent exactly {_fmt(self.rival)} ({self.rival_name}), the seeds' own spread",
                           _draw(data, self.rival), frozenset({"consistent"}))]

    def alternative(self, data: Values) -> Hypothesis:
        return Hypothesis("rival", f"{self.rival_name}: exponent {_fmt(self.rival)}, the seeds' own spread",
                          _draw(data, self.rival), targets=frozenset({self.against}))


@dataclass(frozen=True)
class Detection(_OnInterval):
    """An effect that should be present: ``consistent`` when the interval lies wholly above 0 (detected), the
    claim's ``against`` when it lies wholly below ``effect`` without being detected (an effect that large is
    excluded), ``inconclusive`` otherwise.

    Nulls: no effect (mean 0; error: consistent) and the stated effect (mean ``effect``; error: against).
    Alternative: the stated effect, detected as ``consistent`` (the power to see it). A rule whose data are
    curves (:class:`~verification.rules.rise.WindowRise`) replaces the draws by whole simulated curves.

    Examples
    --------
    >>> from verification.rules import Detection, Values, judge, rng_for
    >>> import math
    >>> judge(Detection(effect=math.log(2)), Values([0.01, -0.02, 0.0, 0.015, -0.01]), 400, rng_for("doc")).verdict
    'mechanism-not-observed'
    """

    effect: float
    units: str = ""
    ci: float = 0.95
    against: str = "mechanism-not-observed"
    name: str = "detection"
    accepting: tuple[str, ...] = ()

    def predicted(self) -> str:
        return "> 0"

    def describe(self) -> str:
        return f"per-seed values; their mean with a {100 * self.ci:g}% Student t interval over seeds"

    def contradiction(self) -> str:
        return (f"the interval lies wholly below {_fmt(self.effect)}{self.units} and holds 0 (an effect that large is "
                f"excluded): {self.against}")

    def _numbers(self, data: Values) -> dict:
        return {"effect": self.effect}

    def _verdicts(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        out = np.where(lo > 0, "consistent", np.where(hi < self.effect, self.against, "inconclusive")).astype(object)
        return out

    def nulls(self, data: Values) -> list[Hypothesis]:
        return [Hypothesis("none", f"no effect (mean 0), the seeds' own spread", _draw(data, 0.0),
                           frozenset({"consistent"})),
                Hypothesis("stated", f"the stated effect (mean {_fmt(self.effect)}{self.units}), the seeds' own spread",
                           _draw(data, self.effect), frozenset({self.against}))]

    def alternative(self, data: Values) -> Hypothesis:
        return Hypothesis("stated", f"the stated effect (mean {_fmt(self.effect)}{self.units}), the seeds' own spread",
                          _draw(data, self.effect), targets=frozenset({"consistent"}))
