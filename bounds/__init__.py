"""Theorems 1 and 2 of Li, Li, Zhang, Bian (NeurIPS 2023) as symbolic, evaluable bounds.

Public API
----------
theorem1(form="simplified"|"full", constants=None) -> Bound
theorem2(k=6, form="simplified"|"full", constants=None) -> Bound
Bound: .expr, .terms, .evaluate(**values), .evaluate_terms(**values), .latex(), .hypotheses,
       .with_constants(mapping)
early_stopping_time(bound, method="numeric"|"symbolic", **values) -> EarlyStop
stationary_tau(bound, terms=None, **values) -> sympy expression | None
rates(bound, m_exponent=1, **values) -> Rates;  regimes(bound) -> list[Regime]
lemmas: lemma1_radius, lemma1_tail_probability, lemma4_bound, lemma5_bound, lemma6_mc_error,
        lemma8_mc_error, rademacher_bound
"""

from bounds.bound import Bound
from bounds.early_stopping import EarlyStop, early_stopping_time, stationary_tau
from bounds.lemmas import (
    lemma1_radius,
    lemma1_tail_probability,
    lemma4_bound,
    lemma5_bound,
    lemma6_mc_error,
    lemma8_mc_error,
    rademacher_bound,
)
from bounds.rates import Rates, Regime, rates, regimes
from bounds.theorem1 import theorem1
from bounds.theorem2 import theorem2
from bounds.validation import HypothesisWarning

__all__ = [
    "Bound",
    "EarlyStop",
    "HypothesisWarning",
    "Rates",
    "Regime",
    "early_stopping_time",
    "lemma1_radius",
    "lemma1_tail_probability",
    "lemma4_bound",
    "lemma5_bound",
    "lemma6_mc_error",
    "lemma8_mc_error",
    "rademacher_bound",
    "rates",
    "regimes",
    "stationary_tau",
    "theorem1",
    "theorem2",
]
