"""Every claim of the paper that the report checks, as data: its statement and source, the prediction
asked of :mod:`bounds`, the statistic, and the outcome that would contradict the paper.

No number of a prediction is typed in here: rate exponents come from :func:`bounds.rates` (dominant
balance, exact rationals), the degree of Poly(µ) from :func:`bounds.theorem2`, and directions ("falls
with m", "grows with τ") from the signs of the exponents of the bounds' monomials
(:func:`bounds.rates.monomials`). The report's sections (:mod:`verification.sections`) measure each
claim and build its :class:`~verification.verdicts.Check` with the rule below (docs/theory.md §8).

Examples
--------
>>> from verification.claims import CLAIMS
>>> CLAIMS["rate-n-K1"].predicted  # corollary (16): the early-stopped bound decays as n^(-2/5)
-0.4
>>> CLAIMS["modes-shift-tau"].predicted  # Theorem 2: tau_es ~ (mn/Poly(mu))^(1/5)
'decreasing'
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sympy as sp

from bounds import Bound, Rates, rates, theorem1, theorem2
from bounds import symbols as S
from bounds.rates import monomials


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


def term_exponent(bound: Bound, term: str, variable: sp.Symbol) -> sp.Expr:
    """The exponent of ``variable`` in the monomials of ``term`` (ValueError unless it is unique)."""
    field = {S.n: "n_exp", S.m: "m_exp", S.tau: "tau_exp", S.mu: "mu_exp"}[variable]
    found = {getattr(p, field) for p in monomials(bound) if p.term == term}
    if len(found) != 1:
        raise ValueError(f"term {term!r} of {bound.name} has exponents {sorted(found, key=str)} of {variable}")
    return found.pop()


def poly_degree() -> int:
    """The degree k of Poly(µ) = µ^k in the simplified Theorem 2 (its exponent of µ in τ⁴/(mn))."""
    return int(term_exponent(simplified(2), "gen_mn", S.mu))


def direction(exponent: sp.Expr) -> str:
    """'increasing' for a positive exponent, 'decreasing' for a negative one."""
    if exponent == 0:
        raise ValueError("a zero exponent predicts no direction")
    return "increasing" if exponent > 0 else "decreasing"


def _falls_with_m() -> str:
    # Every term of Theorem 2 is non-increasing in m at fixed n and τ, so is its minimum over τ.
    exps = [p.m_exp for p in monomials(simplified(2))]
    if not (all(e <= 0 for e in exps) and any(e < 0 for e in exps)):
        raise ValueError(f"Theorem 2's terms are not all non-increasing in m: exponents {exps}")
    return "decreasing"


def _generalisation_grows_in_tau() -> str:
    return direction(min(term_exponent(simplified(2), t, S.tau) for t in ("gen_mn", "gen_m2")))


def _gap_rate_in_n() -> float:
    # The slowest n-decay of the unsimplified generalisation term (end of Appendix A); its n-dependence
    # is the Rademacher step's ℓ = √(log(d+1)/n) + √(log(1/δ)/n).
    exps = [p.n_exp for p in monomials(theorem1("full")) if p.term == "generalization" and p.n_exp < 0]
    return float(max(exps))


@dataclass(frozen=True)
class Claim:
    """A claim of the paper as the report checks it.

    Attributes
    ----------
    id : str
        The check's name in report.md and results.json.
    statement : str
        The claim, with ``{placeholders}`` the measuring section fills (sizes of its design).
    source : str
        Where the paper makes it (equation, lemma, theorem or figure of arXiv:2311.01797).
    section : str
        The module of :mod:`verification.sections` that measures it.
    statistic : str
        What is computed from the measurements.
    contradiction : str
        The outcome that would contradict the paper: the rule of verdict "fail".
    predict : callable
        Asks :mod:`bounds` for the prediction (see :attr:`predicted`).
    """

    id: str
    statement: str
    source: str
    section: str
    statistic: str
    contradiction: str
    predict: Callable[[], Any]

    @property
    def predicted(self) -> Any:
        """The prediction: an exponent (float), a direction, or a bool."""
        return self.predict()

    def text(self, **sizes: Any) -> str:
        """The statement with the section's sizes filled in; ``{exponent}`` is the prediction as a fraction."""
        if "{exponent}" in self.statement:
            sizes = {"exponent": fraction(self.predicted), **sizes}
        return self.statement.format(**sizes)


def fraction(x: float) -> str:
    """A predicted exponent as the fraction it came from, e.g. -0.4 -> "-2/5"."""
    return str(sp.Rational(x).limit_denominator(1000))


_RATE = "least-squares slope in log-log, 95% percentile bootstrap CI over seeds"
_RATE_FAIL = "the CI lies wholly above the predicted exponent (slower decay than the bound allows)"
_TREND = "Kendall's tau of the seed mean against the swept variable, two-sided p-value"
_MINIMUM = "interior minimum of the curve in tau: both ends above the minimum by more than 5%"


def _r2() -> Rates:
    return rates_m_equals_n(2)


def _r1() -> Rates:
    return rates_m_equals_n(1)


_CLAIMS = (
    Claim("lemmas-4-5-exact", "Lemmas 4 and 5 hold exactly on every computed flow", "Lemmas 4, 5", "exact",
          "worst ratio lhs/rhs over every flow of the report", "any ratio above 1 (beyond rounding): a bug",
          lambda: {"worst_ratio_at_most": 1.0}),
    Claim("K2<=K1-lemma2", "the sampler KL never exceeds the score bound (Lemma 2)", "Lemma 2", "exact",
          "max K2/K1 over every point where both are measured", "K2 > K1 anywhere: a bug",
          lambda: {"max_K2_over_K1_at_most": 1.0}),
    *(Claim(f"early-stopping-{k}", k + " has an interior minimum in tau at n = {n} (Fig. 3; Theorem 1's 1/tau vs "
            "tau^4/(mn))", "Fig. 3; Theorems 1-2", "tau_curves", _MINIMUM,
            "some seed without an interior minimum",
            lambda: {"interior_minimum": _r2().balance is not None}) for k in ("K1", "K2")),
    *(Claim(f"rate-n-{k}", "early-stopped " + k + " decays in n at least as fast as n^({exponent}) along m = n "
            "(corollary (16))", "Corollary (16); Theorem 2", "n_rate", _RATE, _RATE_FAIL,
            lambda: float(_r2().bound_exponent)) for k in ("K1", "K2")),
    Claim("tau-es-vs-n", "the early-stopping time of the measured KL scales as n^({exponent}) along m = n "
          "(corollary (16))", "Corollary (16)", "n_rate", _RATE,
          "the CI excludes the predicted exponent (the bound's minimiser is a prescription, so this tests it "
          "as a prediction of the measured optimum)", lambda: float(_r2().tau_es_exponent)),
    Claim("capacity-m", "early-stopped K1 falls with m at n = {n} (Fig. 11)", "Fig. 11; Theorems 1-2", "capacity",
          _TREND, "no significant decreasing trend", _falls_with_m),
    Claim("I3-vs-m", "the random-feature error I3 decays at least as 1/m (Lemmas 6/8)", "Lemmas 6, 8", "capacity",
          _RATE, _RATE_FAIL, lambda: float(term_exponent(simplified(2), "rf", S.m))),
    Claim("modes-shift-KL", "early-stopped K1 increases with mu (Theorem 2, Figs. 4-5)", "Theorem 2; Figs. 4-5",
          "modes_shift", _TREND, "no significant increasing trend",
          lambda: direction(_r2().bound_mu_exponent)),
    Claim("modes-shift-tau", "tau_es decreases with mu (Theorem 2: (mn/Poly(mu))^(1/5))", "Theorem 2",
          "modes_shift", _TREND, "no significant decreasing trend",
          lambda: direction(_r2().tau_es_mu_exponent)),
    Claim("modes-shift-power", "early-stopped KL grows no faster than mu^(k/5) = mu^{predicted} "
          "(Poly(mu) = mu^{k} reconstruction, bound at tau_es)", "Theorem 2", "modes_shift", _RATE,
          "the CI lies wholly above k/5", lambda: float(_r2().bound_mu_exponent)),
    Claim("gap-grows-tau", "the generalisation gap I1 grows with tau (proof of Theorem 1): increasing trend of "
          "the seed-mean I1 (Kendall tau > 0, p < {p}) at each n", "Theorem 1 (proof); eq. (15)", "gap", _TREND,
          "no significant increasing trend at some n", _generalisation_grows_in_tau),
    Claim("gap-shrinks-n", "I1 at tau = {tau} shrinks in n no slower than n^({exponent}) (the Rademacher step)",
          "Theorem 1 (proof, end of Appendix A)", "gap", _RATE, _RATE_FAIL, _gap_rate_in_n),
    Claim("theorem1-rate-n", "compact-support target: early-stopped K1 decays at least as n^({exponent}) along "
          "m = n (Theorem 1, (16))", "Theorem 1; Corollary (16)", "theorem1", _RATE, _RATE_FAIL,
          lambda: float(_r1().bound_exponent)),
    Claim("theorem1-early-stopping", "compact-support target: K1 has an interior minimum in tau at n = {n}, "
          "m = {m}", "Theorem 1", "theorem1", _MINIMUM, "some seed without an interior minimum",
          lambda: {"interior_minimum": _r1().balance is not None}),
    *(Claim(f"calibrated-bound-theorem{t}", f"K2 <= K1 <= calibrated Theorem {t} bound on held-out draws",
            f"Theorem {t}", "calibrated", "bound/measured on every held-out point (constants fitted on a disjoint "
            "calibration design)", "any held-out point above the bound",
            lambda: {"all_dominated": True}) for t in (2, 1)),
)

CLAIMS: dict[str, Claim] = {c.id: c for c in _CLAIMS}
"""Every claim, by id, in the order of the report."""
