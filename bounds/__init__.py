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

Invalid input raises ``ValueError`` naming the parameter and its valid range; evaluating outside a
theorem's hypotheses on request (``check_hypotheses=False``) warns with :class:`HypothesisWarning`.

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: Theorems 1 and 2, corollary (16), the unsimplified bound at the end of Appendix A,
Lemmas 1, 4, 5, 6, 8 and the Rademacher step. docs/theory.md §5, §6 and §7; module map: docs/theory.md §12.

Examples
--------
Corollary (16): with m ~ n, stop at τ_es ∝ n^{2/5}, where the bound decays like n^{-2/5}:

>>> from bounds import early_stopping_time, rates, theorem1
>>> r = rates(theorem1(), m_exponent=1)
>>> str(r.tau_es_exponent), str(r.bound_exponent)
('2/5', '-2/5')
>>> round(early_stopping_time(theorem1(), n=1000, m=1000).tau_es, 6)
11.864899
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
