"""Term builders shared by Theorems 1 and 2: the simplified bound and the proof's unsimplified bound."""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from bounds import symbols as S
from bounds.bound import Bound
from bounds.validation import Range, at_least_one, nonnegative, open_unit, positive

FORMS = ("simplified", "full")


def log_q() -> sp.Expr:
    """Lq := log(1/δ²), the confidence factor of Theorem 1 (docs/theory.md §5)."""
    return sp.log(1 / S.delta**2)


def simplified_terms(poly: sp.Expr, rf: sp.Expr) -> tuple[tuple[str, sp.Expr], ...]:
    """The simplified bound of Theorem 1 / Theorem 2, one hidden constant per term.

    ``poly`` multiplies τ⁴/(mn) + τ³/m² (1 for Theorem 1, Poly(µ) for Theorem 2); ``rf`` is the
    random-feature term (1/m for Theorem 1, µ²/m for Theorem 2).
    """
    return (
        ("gen_mn", S.c_gen1 * poly * S.tau**4 / (S.m * S.n)),
        ("gen_m2", S.c_gen2 * poly * S.tau**3 / S.m**2),
        ("opt", S.c_opt / S.tau),
        ("rf", S.c_rf * rf),
        ("approx_bar", S.c_app_bar * S.L_bar),
        ("approx_star", S.c_app_star * S.L_star),
        ("prior", S.c_prior * S.KL_T),
    )


def full_terms(C_support: sp.Expr, dim: sp.Expr, rf: sp.Expr) -> tuple[tuple[str, sp.Expr], ...]:
    """The proof's unsimplified bound (end of Appendix A, docs/theory.md §5).

    KL ≲ (C_{T,δ} + C_{T,e})⁶ G {√L̃(θ*) + 1/√(mτ) + G} + L̃(θ̄*) + L̃(θ*) + rf
         + (sum of the four RKHS norms)/τ + KL(p_T‖π),
    G = τ √(d/m) [(τ+1) ℓ + (1+√τ)/√m],  ℓ = √(log(d+1)/n) + √(log(1/δ)/n),
    C_{T,δ} = C_T (C_support + √Lq).  ``C_support`` is C_x (Theorem 1) or µ (Theorem 2, C_{T,µ,δ}).
    """
    n, m, tau = S.n, S.m, S.tau
    ell = sp.sqrt(sp.log(dim + 1) / n) + sp.sqrt(sp.log(1 / S.delta) / n)
    G = tau * sp.sqrt(dim / m) * ((tau + 1) * ell + (1 + sp.sqrt(tau)) / sp.sqrt(m))
    prefactor = (S.C_T * (C_support + sp.sqrt(log_q())) + S.C_e) ** 6
    norms = S.norm_bar0 + S.norm_bar_star + S.norm0 + S.norm_star
    return (
        ("generalization", S.c_gen * prefactor * G * (sp.sqrt(S.L_star) + 1 / sp.sqrt(m * tau) + G)),
        ("approx_bar", S.c_app_bar * S.L_bar),
        ("approx_star", S.c_app_star * S.L_star),
        ("rf", S.c_rf * rf),
        ("opt", S.c_opt * norms / tau),
        ("prior", S.c_prior * S.KL_T),
    )


def conditions(with_d: bool) -> tuple[Range, ...]:
    """Domain of the formulas, then the hypotheses n, m, τ (, d) ≥ 1 shared by both theorems."""
    dims = ("n", "m", "tau", "d") if with_d else ("n", "m", "tau")
    inputs = [s.name for s in (*S.CONSTANTS, *S.INPUTS)]
    return (
        *(positive(p) for p in (*dims, "T")),
        open_unit("delta"),
        *(nonnegative(p) for p in inputs),
        *(at_least_one(p) for p in dims),
    )


def make_bound(
    name: str,
    terms: tuple[tuple[str, sp.Expr], ...],
    conds: tuple[Range, ...],
    required: tuple[sp.Symbol, ...],
    constants: Mapping[str, float] | None,
) -> Bound:
    """A :class:`Bound` whose defaults are those of :data:`bounds.symbols.DEFAULTS` it uses."""
    used = set().union(*(e.free_symbols for _, e in terms))
    # Keep checks of the variables (even those only in hypotheses) and of the inputs actually used.
    conds = tuple(c for c in conds if S.BY_NAME[c.param] in used or S.BY_NAME[c.param] in S.VARIABLES)
    used |= {S.BY_NAME[c.param] for c in conds}
    defaults = tuple((s, v) for s, v in S.DEFAULTS.items() if s in used)
    bound = Bound(name, terms, conds, defaults, required)
    return bound.with_constants(constants) if constants else bound


def check_form(form: str) -> str:
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    return form
