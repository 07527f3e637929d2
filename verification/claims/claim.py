"""What a claim is (:class:`Claim`, one row of :data:`verification.claims.CLAIMS`) and the bounds' predictions its
rules ask for: the simplified bounds of Theorems 1-2 and their exponents along m = n (:func:`rates_m_equals_n`).

Examples
--------
>>> from verification.claims.claim import rates_m_equals_n
>>> float(rates_m_equals_n(2).tau_es_exponent)  # corollary (16): tau_es ~ n^(2/5) along m = n
0.4
>>> from verification.claims import CLAIMS
>>> CLAIMS["rate-n-K1"].text()[:57]  # {exponent} is the prediction as a fraction
'early-stopped K1 decays in n at least as fast as n^(-2/5)'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp

from bounds import Bound, Rates, rates, theorem1, theorem2

from ..rules import Combined

__all__ = ["CONTRADICTS", "Claim", "fraction", "rates_m_equals_n", "simplified"]


@functools.cache
def simplified(theorem: int) -> Bound:
    """The simplified bound of Theorem 1 or 2 (Theorem 2 with its default Poly(µ) = µ^k)."""
    if theorem == 1:
        return theorem1("simplified")
    if theorem == 2:
        return theorem2(form="simplified")
    raise ValueError(f"theorem must be 1 or 2, got {theorem!r}")


@functools.cache
def rates_m_equals_n(theorem: int) -> Rates:
    """Exponents of n in τ_es and in the early-stopped bound along m = n (corollary (16))."""
    return rates(simplified(theorem), m_exponent=1)


def fraction(x: float) -> str:
    """A predicted exponent as the fraction it came from, e.g. -0.4 -> "-2/5"."""
    return str(sp.Rational(x).limit_denominator(1000))


CONTRADICTS = {"statement": "violated", "mechanism": "mechanism-not-observed"}


@dataclass(frozen=True)
class Claim:
    """A claim as the report checks it (one row of :data:`verification.claims.CLAIMS`).

    Attributes
    ----------
    id : str
        The check's name in report.md and results.json.
    source : str
        Where the paper makes it (equation, lemma, theorem or figure of arXiv:2311.01797).
    claim : str
        What is claimed, with ``{placeholders}`` the measuring section fills (sizes of its design).
    rule : rule
        The rule of :mod:`verification.rules` that judges it (prediction, statistic, nulls, alternative).
    contradicts : str
        "statement": a contrary outcome contradicts a statement of the paper (``violated``); "mechanism": it
        only shows a mechanism the paper explains to be absent (``mechanism-not-observed``), as for a trend an
        upper bound allows but does not imply.
    section : str
        The module of :mod:`verification.sections` that measures it.
    measures : str
        What is measured, before the rule's statistic.
    """

    id: str
    source: str
    claim: str
    rule: Any
    contradicts: str
    section: str
    measures: str = ""

    def __post_init__(self) -> None:
        if self.contradicts not in CONTRADICTS:
            raise ValueError(f"claim {self.id!r}: contradicts must be one of {sorted(CONTRADICTS)}")
        rule = self.rule
        if isinstance(rule, Combined):
            rule = replace(rule, part=replace(rule.part, against=self.against), against=self.against)
        else:
            rule = replace(rule, against=self.against)
        object.__setattr__(self, "rule", rule)

    @property
    def against(self) -> str:
        """The verdict of a contradicting outcome."""
        return CONTRADICTS[self.contradicts]

    @property
    def predicted(self) -> Any:
        """The prediction, asked of :mod:`bounds` by the rule."""
        return self.rule.predicted()

    @property
    def statistic(self) -> str:
        """What is computed: the measured quantity, then the rule's statistic."""
        return f"{self.measures}; {self.rule.describe()}" if self.measures else self.rule.describe()

    @property
    def contradiction(self) -> str:
        """The outcome that contradicts the claim, and its verdict."""
        return self.rule.contradiction()

    def text(self, **sizes: Any) -> str:
        """The claim with the section's sizes filled in; ``{exponent}`` is the prediction as a fraction."""
        if "{exponent}" in self.claim:
            p = self.predicted
            sizes = {"exponent": fraction(p if isinstance(p, float) else p["slope"]), **sizes}
        return self.claim.format(**sizes)
