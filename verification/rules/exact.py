"""Exact inequalities (docs/theory.md §8.1): Lemmas 4-5, K2 <= K1 (Lemma 2), I2 under Lemma 4's bound.

No noise enters: the inequality holds at every measured point within a tolerance set by rounding alone, or it
does not. Size is 0 (a true inequality never fails beyond rounding); power is not a simulation but the engine
mutations the exact checks catch.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Inequality:
    """Whether the inequality held at every point, and the numbers behind it."""

    holds: bool
    measured: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Exact:
    """An exact inequality at every measured point: ``holds`` or ``violated``.

    Examples
    --------
    >>> from verification.rules import Exact, Inequality, judge, rng_for
    >>> judge(Exact("max K2/K1 <= 1"), Inequality(True, {"max_ratio": 0.97}), 10, rng_for("doc")).verdict
    'holds'
    >>> judge(Exact("max K2/K1 <= 1"), Inequality(False, {"max_ratio": 1.2}), 10, rng_for("doc")).verdict
    'violated'
    """

    statistic: str
    tolerance: str = "rounding only"
    against: str = "violated"
    name: str = "exact"
    no_alternative: str = "none simulated: an exact inequality; the engine mutations are its negative controls"

    def predicted(self) -> dict:
        return {"holds_everywhere": True}

    def describe(self) -> str:
        return f"{self.statistic} (exact; tolerance: {self.tolerance})"

    def contradiction(self) -> str:
        return "any point beyond the tolerance: a bug in the code or the paper"

    def measure(self, data: Inequality) -> dict:
        return {**data.measured, "inequality_holds": bool(data.holds)}

    def decide(self, stat: dict) -> str:
        return "holds" if stat["inequality_holds"] else self.against

    def decide_batch(self, batch):
        raise NotImplementedError("an exact rule is never simulated")

    def nulls(self, data: Inequality) -> list:
        return []

    def alternative(self, data: Inequality) -> None:
        return None
