"""Theorem 1 (compact support, data-independent): simplified and unsimplified forms (docs/theory.md §5)."""

from __future__ import annotations

from collections.abc import Mapping

from bounds import symbols as S
from bounds.bound import Bound
from bounds.forms import check_form, conditions, full_terms, log_q, make_bound, simplified_terms

NAME = "Theorem 1"


def theorem1(form: str = "simplified", constants: Mapping[str, float] | None = None) -> Bound:
    """Theorem 1 of Li, Li, Zhang, Bian (2023) as a :class:`~bounds.bound.Bound`.

    ``form="simplified"``: the statement of Theorem 1,
        KL ≲ c_gen1 τ⁴/(mn) + c_gen2 τ³/m² + c_opt/τ + c_rf/m
             + c_app_bar L̃(θ̄*) + c_app_star L̃(θ*) + c_prior KL(p_T‖π),
    where ≲ hides d log(d+1), polynomials of log(1/δ²), RKHS norms and T-dependent constants;
    early stopping gives corollary (16).
    ``form="full"``: the proof's unsimplified bound (end of Appendix A; :func:`bounds.forms.full_terms`)
    with C_{T,δ} = C_T (C_x + √log(1/δ²)), random-feature term d log²(1/δ²)/m (Lemma 6), and the four
    RKHS norms, C_T, C_x, C_e, L̃(θ*), L̃(θ̄*), KL(p_T‖π), δ, d as inputs
    (defaults: :data:`bounds.symbols.DEFAULTS`).

    Hypotheses (checked by :meth:`~bounds.bound.Bound.evaluate`): n, m, τ, d ≥ 1; δ ∈ (0, 1); T > 0.

    Parameters
    ----------
    form : {"simplified", "full"}
    constants : mapping of hidden-constant name (``c_*``) to value, optional
        Overrides the default 1 of each hidden constant (e.g. constants fitted by docs/theory.md §8.3).
    """
    if check_form(form) == "simplified":
        terms = simplified_terms(poly=1, rf=1 / S.m)
    else:
        terms = full_terms(C_support=S.C_x, dim=S.d, rf=S.d * log_q() ** 2 / S.m)
    return make_bound(f"{NAME} ({form})", terms, conditions(with_d=True), (S.n, S.m, S.tau), constants)
