"""Claims that are several judgements at once: "for every constant c" (corollary (16)), "at every n", "for SGD
and for Adam". Each part is judged by its own rule, with its own simulated size and power; the parts' verdicts
combine by a stated mode, and the combination's error rates are bounded from the parts' without assuming
independence (the parts often share seeds):

- ``unanimous`` (the claim quantifies over a family the paper leaves free, e.g. every c of Θ(n^(2/5))): the
  combined verdict is the parts' common verdict when they all agree, else ``inconclusive``. Every part must err
  the same way for the combination to err, so size <= min over parts; the combination detects the alternative
  only when every part does, so power >= 1 - Σ(1 - power) (Bonferroni).
- ``conjunction`` (the claim holds for each of a few named cases, "SGD and Adam", "every n"): the claim's
  ``against`` if any part gives it, ``consistent`` only if every part does, ``inconclusive`` otherwise; size <=
  Σ size (the union bound), power >= max power. So that the union stays at the parts' own level, each of k
  parts is judged at the Bonferroni level: its interval at 1 - (1 - ci)/k, its trend test at p/k.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from .core import Judgement, gate, judge

MODES = ("unanimous", "conjunction")


@dataclass(frozen=True)
class Parts:
    """Labelled data of the parts, each judged by the combined rule's ``part`` rule (or its own, if given)."""

    items: tuple[tuple[str, Any], ...]
    rules: tuple[Any, ...] = ()
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Combined:
    """Judge each part with ``part`` (a rule) and combine by ``mode`` (:data:`MODES`).

    Examples
    --------
    >>> from verification.rules import Combined, Parts, Rate, Values, judge_combined, rng_for
    >>> rule = Combined(Rate(-0.4), "unanimous")
    >>> data = Parts((("c=1", Values([-1.1, -1.0, -1.2])), ("c=10", Values([-0.9, -1.0, -0.8]))))
    >>> judge_combined(rule, data, 200, rng_for("doc")).verdict
    'holds-with-slack'
    """

    part: Any
    mode: str = "conjunction"
    against: str = "violated"
    name: str = "combined"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")

    def predicted(self) -> Any:
        return self.part.predicted()

    def describe(self) -> str:
        how = ("the parts' common verdict when all agree, else inconclusive" if self.mode == "unanimous" else
               "against if any part is, consistent if every part is, else inconclusive")
        return f"per part: {self.part.describe()}; combined ({self.mode}): {how}"

    def contradiction(self) -> str:
        if self.mode == "unanimous":
            return f"every part: {self.part.contradiction()}"
        return f"any part: {self.part.contradiction()}"

    def combine(self, verdicts: list[str]) -> str:
        """The combined verdict of the parts' (gated) verdicts."""
        if not verdicts:
            return "inconclusive"
        if self.mode == "unanimous":
            return verdicts[0] if all(v == verdicts[0] for v in verdicts) else "inconclusive"
        if any(v == self.against for v in verdicts):
            return self.against
        if all(v in ("consistent", "holds") for v in verdicts):
            return "consistent" if any(v == "consistent" for v in verdicts) else "holds"
        return "inconclusive"


def judge_combined(rule: Combined, data: Parts, replicates: int, rng) -> Judgement:
    """Judge every part, combine, and bound the combination's size and power (module docstring)."""
    parts: list[tuple[str, Judgement]] = []
    for k, (label, d) in enumerate(data.items):
        part_rule = data.rules[k] if data.rules else rule.part
        if rule.mode == "conjunction":
            part_rule = bonferroni(part_rule, len(data.items))
        parts.append((label, judge(part_rule, d, replicates, rng)))
    verdicts = [j.verdict for _, j in parts]
    raw = rule.combine(verdicts)
    sizes = [j.size for _, j in parts]
    powers = [j.power for _, j in parts if j.power is not None]
    if rule.mode == "unanimous":
        size = min(sizes, default=0.0)
        power = max(0.0, 1.0 - sum(1.0 - p for p in powers)) if powers else None
    else:
        size = min(1.0, sum(sizes))
        power = max(powers, default=None)
    stat = {"parts": [{"label": label, "verdict": j.verdict, "raw_verdict": j.raw, "size": j.size, "power": j.power,
                       "reason": j.reason, **_numbers(j.statistic)} for label, j in parts], **data.extra}
    verdict, reason = gate(raw, size, power)
    if verdict == "inconclusive" and reason is None and raw == "inconclusive" and parts:
        reason = "the parts disagree: " + ", ".join(f"{label} {j.verdict}" for label, j in parts)
    alternative = parts[0][1].alternative if parts else "none"
    bound = ("size <= min over parts, power >= 1 - sum(1 - power)" if rule.mode == "unanimous" else
             "size <= sum over parts (union bound), power >= max over parts")
    nulls = tuple({"name": f"{label}: {n['name']}", "sentence": n["sentence"], "errors": n["errors"], "rate": n["rate"]}
                  for label, j in parts for n in j.nulls)
    return Judgement(verdict, raw, stat, float(size), power, f"per part: {alternative} ({bound})", nulls, reason,
                     replicates)


def bonferroni(rule: Any, k: int) -> Any:
    """``rule`` at the Bonferroni level for k parts: interval level 1 - (1 - ci)/k, trend threshold p/k."""
    names = {f.name for f in fields(rule)}
    if k <= 1:
        return rule
    if "ci" in names:
        return replace(rule, ci=1 - (1 - rule.ci) / k)
    if "p" in names:
        return replace(rule, p=rule.p / k)
    return rule


def _numbers(stat: dict) -> dict:
    """A part's statistic without bulky per-point lists (kept: scalars, intervals and per-seed values)."""
    return {k: v for k, v in stat.items() if not (isinstance(v, list) and len(v) > 20)}

