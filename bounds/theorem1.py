"""Theorem 1 (compact support, data-independent): simplified and unsimplified forms (docs/theory.md §5).

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: Theorem 1, corollary (16), and the unsimplified bound at the end of Appendix A
(random-feature term from Lemma 6). Project restatement: docs/theory.md §5.
"""

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
    form : {"simplified", "full"}, default "simplified"
        The theorem's statement, or the proof's unsimplified bound (end of Appendix A).
    constants : mapping of str to float, optional
        Hidden-constant name (``c_*``, each ≥ 0) → value. Overrides the default 1 of each hidden
        constant (e.g. constants fitted by docs/theory.md §8.3); see
        :meth:`~bounds.bound.Bound.with_constants`.

    Returns
    -------
    Bound
        Named ``"Theorem 1 (simplified)"`` or ``"Theorem 1 (full)"``. Terms of the simplified form:
        ``gen_mn``, ``gen_m2``, ``opt``, ``rf``, ``approx_bar``, ``approx_star``, ``prior``; of the full
        form: ``generalization``, ``approx_bar``, ``approx_star``, ``rf``, ``opt``, ``prior``. Required
        inputs: ``n``, ``m``, ``tau``.

    Raises
    ------
    ValueError
        If ``form`` is not "simplified" or "full", or ``constants`` names an unknown constant or a
        negative or non-finite value.

    References
    ----------
    P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
    arXiv:2311.01797: Theorem 1 (``form="simplified"``); the unsimplified bound at the end of
    Appendix A, with Lemma 6 (``form="full"``). docs/theory.md §5.

    Examples
    --------
    With unit constants each term is a plain monomial: at n = m = 1000, τ = 10,
    τ⁴/(mn) = 0.01, τ³/m² = 0.001, 1/τ = 0.1 and 1/m = 0.001.

    >>> from bounds import theorem1
    >>> bound = theorem1()
    >>> round(bound.evaluate(n=1000, m=1000, tau=10), 6)
    0.112
    >>> list(bound.terms)
    ['gen_mn', 'gen_m2', 'opt', 'rf', 'approx_bar', 'approx_star', 'prior']

    The hypothesis τ ≥ 1 is enforced, and the error names the parameter:

    >>> bound.evaluate(n=1000, m=1000, tau=0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: tau = 0.5 is outside the valid range tau in [1, inf) (hypothesis of Theorem 1 (simplified))...

    The unsimplified form of Appendix A has one product term for the generalisation gap:

    >>> list(theorem1(form="full").terms)
    ['generalization', 'approx_bar', 'approx_star', 'rf', 'opt', 'prior']
    """
    if check_form(form) == "simplified":
        terms = simplified_terms(poly=1, rf=1 / S.m)
    else:
        terms = full_terms(C_support=S.C_x, dim=S.d, rf=S.d * log_q() ** 2 / S.m)
    return make_bound(f"{NAME} ({form})", terms, conditions(with_d=True), (S.n, S.m, S.tau), constants)
