"""Checks (docs/theory.md §8): what was measured, the statistic, what the paper predicts, the rule that turned
them into one of six verdicts, and that rule's measured size and power.

- ``holds``: an inequality of the paper holds at every measured point (exact, or with fitted constants whose
  negative controls fail the same test).
- ``consistent``: a rate's interval contains the prediction, or a predicted trend or mechanism is observed.
- ``holds-with-slack``: faster than predicted (an upper bound with room to spare).
- ``violated``: a statement of the paper fails: an inequality at a measured point, a rate whose interval lies
  wholly on the slow side, a direction it states going significantly the other way.
- ``mechanism-not-observed``: the behaviour a bound is meant to explain is absent (a plateau instead of a
  rise, a trend an upper bound allows but does not imply going the other way).
- ``inconclusive``: the check lacks data, or its rule lacks the size or power to say more (docs/theory.md §8).

The rules live in :mod:`verification.rules`; :func:`make_check` applies a claim's rule to a section's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .rules import Combined, judge, judge_combined, rng_for
from .statistics.stats import PowerLawFit

VERDICTS = ("holds", "consistent", "holds-with-slack", "violated", "mechanism-not-observed", "inconclusive")
SUPPORTING = ("holds", "consistent", "holds-with-slack")
"""The verdicts that do not contradict the paper."""


@dataclass(frozen=True)
class Check:
    """One verified claim of the paper.

    Attributes
    ----------
    name, claim : str
        The claim's id and its statement with the design's sizes.
    measured, predicted : Any
        The statistic's numbers and the prediction asked of :mod:`bounds`.
    verdict : str
        One of :data:`VERDICTS`, after the rule's size and power gate.
    statistic : str
        What was computed from the measurements.
    rule : str
        The rule's kind (:mod:`verification.rules`), e.g. "rate", "trend (conjunction)".
    size : float
        The rule's measured false-alarm rate on this claim's own data (0 for an exact rule).
    power : float or None
        Its measured power against ``alternative`` (None for an exact rule).
    alternative : str
        The stated wrong alternative that was simulated.
    reason : str or None
        Why the verdict is "inconclusive" when the rule alone would have said more (or lacked data).
    raw_verdict : str
        The rule's verdict before the gate.
    nulls : tuple of dict
        Each simulated null: name, sentence, the verdicts that would be errors, their measured rate.
    controls : tuple of dict or None
        Fitted bounds only: ``{"shape", "rejected", ...}`` per negative control.
    replicates : int
        Simulated replicates per null and alternative.
    source : str
        Where the claim is made (the paper's equation or figure, or a later paper's arXiv id).
    """

    name: str
    claim: str
    measured: Any
    predicted: Any
    verdict: str
    statistic: str
    rule: str = "unspecified"
    size: float = 1.0
    power: float | None = None
    alternative: str = ""
    reason: str | None = None
    raw_verdict: str | None = None
    nulls: tuple[Mapping[str, Any], ...] = ()
    controls: tuple[Mapping[str, Any], ...] | None = None
    replicates: int = 0
    source: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if not self.name:
            raise ValueError("name must be a non-empty string")
        if not self.statistic:
            raise ValueError(f"check {self.name!r}: statistic must say what was computed")
        if not 0.0 <= self.size <= 1.0:
            raise ValueError(f"size must lie in [0, 1], got {self.size!r}")
        if self.power is not None and not 0.0 <= self.power <= 1.0:
            raise ValueError(f"power must lie in [0, 1], got {self.power!r}")

    def to_json(self) -> dict:
        """The check as results.json writes it; ``controls`` only for fitted bounds, ``reason`` only when set."""
        out = {"name": self.name, "claim": self.claim, "source": self.source, "verdict": self.verdict,
               "rule": self.rule, "size": self.size,
               "power": self.power, "alternative": self.alternative, "statistic": self.statistic,
               "measured": self.measured, "predicted": self.predicted, "raw_verdict": self.raw_verdict or self.verdict,
               "nulls": [dict(n) for n in self.nulls], "replicates": self.replicates}
        if self.reason:
            out["reason"] = self.reason
        if self.controls is not None:
            out["controls"] = [dict(c) for c in self.controls]
        return out


def rule_name(rule: Any) -> str:
    """The rule's kind as the report names it, e.g. "rate" or "rate (unanimous)"."""
    return f"{rule.part.name} ({rule.mode})" if isinstance(rule, Combined) else rule.name


def make_check(claim: Any, data: Any, replicates: int, seed: int = 0, **sizes: Any) -> Check:
    """Judge ``data`` by the claim's rule (:mod:`verification.rules`) and return the check.

    Parameters
    ----------
    claim : verification.claims.Claim
        The claim (its rule, statement and prediction).
    data : the rule's data type (e.g. :class:`verification.rules.Values` for a rate)
    replicates : int
        Simulated replicates per null and alternative (size and power).
    seed : int
        Seed of the simulation (with the claim's id).
    sizes : the design's sizes for the claim's statement.

    Examples
    --------
    >>> from verification.claims import CLAIMS
    >>> from verification.rules import Values
    >>> from verification.verdicts import make_check
    >>> c = make_check(CLAIMS["rate-n-K1"], Values([-1.1, -1.2, -1.0, -1.15, -1.05]), 200)
    >>> c.verdict, c.rule, c.size <= 0.05, c.power >= 0.8
    ('holds-with-slack', 'rate', True, True)
    """
    rng = rng_for(claim.id, seed)
    rule = claim.rule
    j = judge_combined(rule, data, replicates, rng) if isinstance(rule, Combined) else judge(rule, data, replicates, rng)
    controls = j.statistic.get("controls") if claim.rule.name == "fitted" else None
    return Check(claim.id, claim.text(**sizes), j.statistic, claim.predicted, j.verdict, claim.statistic,
                 rule=rule_name(rule), size=float(j.size), power=j.power, alternative=j.alternative, reason=j.reason,
                 raw_verdict=j.raw, nulls=j.nulls, controls=tuple(controls) if controls is not None else None,
                 replicates=replicates, source=claim.source)


def fit_numbers(fit: PowerLawFit) -> dict:
    """The numbers of a fitted exponent as a check reports them."""
    return {"slope": fit.slope, "ci95": [fit.ci_low, fit.ci_high], "points": fit.n_points, "seeds": fit.n_groups,
            "interval": fit.method}
