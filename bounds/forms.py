"""Term builders shared by Theorems 1 and 2: the simplified bound and the proof's unsimplified bound.

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: the statements of Theorems 1 and 2, and the unsimplified bound at the end of
Appendix A. docs/theory.md §5 and §6.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from bounds import symbols as S
from bounds.bound import Bound
from bounds.validation import LIMITS, Range, at_least_one, at_most, nonnegative, open_unit, positive

FORMS = ("simplified", "full")


def log_q() -> sp.Expr:
    """Lq := log(1/δ²), the confidence factor of Theorem 1 (docs/theory.md §5).

    Returns
    -------
    sympy expression
        log(1/δ²) in the symbol :data:`bounds.symbols.delta` (δ ∈ (0, 1), so Lq > 0).

    Examples
    --------
    >>> from bounds.forms import log_q
    >>> from bounds import symbols as S
    >>> round(float(log_q().subs(S.delta, 0.05)), 6)  # log 400
    5.991465
    """
    return sp.log(1 / S.delta**2)


def simplified_terms(poly: sp.Expr, rf: sp.Expr) -> tuple[tuple[str, sp.Expr], ...]:
    """The simplified bound of Theorem 1 / Theorem 2, one hidden constant per term.

    Parameters
    ----------
    poly : sympy expression
        Multiplies τ⁴/(mn) + τ³/m²: 1 for Theorem 1, Poly(µ) = µ^k for Theorem 2.
    rf : sympy expression
        The random-feature term: 1/m for Theorem 1, µ²/m for Theorem 2.

    Returns
    -------
    tuple of (str, sympy expression)
        ``gen_mn``, ``gen_m2`` (generalisation gap), ``opt`` (optimisation error), ``rf``,
        ``approx_bar``, ``approx_star`` (L̃(θ̄*), L̃(θ*)) and ``prior`` (KL(p_T‖π)), each times its
        hidden constant ``c_*``.

    References
    ----------
    The statements of Theorems 1 and 2 of the paper (module References); docs/theory.md §5 and §6.
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
    The prefactor (C_{T,δ} + C_{T,e})⁶ is what docs/theory.md §5 abbreviates as Lq³.

    Parameters
    ----------
    C_support : sympy expression
        C_x (Theorem 1) or µ (Theorem 2).
    dim : sympy expression
        The dimension d: the symbol d (Theorem 1) or 1 (Theorem 2).
    rf : sympy expression
        The random-feature term: d log²(1/δ²)/m (Lemma 6) or µ² log(1/δ)/m (Lemma 8).

    Returns
    -------
    tuple of (str, sympy expression)
        ``generalization``, ``approx_bar``, ``approx_star``, ``rf``, ``opt`` (the four RKHS norms / τ)
        and ``prior``, each times its hidden constant ``c_*``.

    References
    ----------
    The unsimplified bound at the end of Appendix A of the paper, with Lemmas 6 and 8 (module
    References); docs/theory.md §5 and §6.
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
    """Domain of the formulas, then the hypotheses n, m, τ (, d) ≥ 1 shared by both theorems.

    Parameters
    ----------
    with_d : bool
        Whether d is an input (Theorem 1) or fixed to 1 (Theorem 2).

    Returns
    -------
    tuple of Range
        n, m, τ (, d), T > 0 and δ ∈ (0, 1); every hidden constant and measured input ≥ 0 (domain);
        n, m, τ ≤ 1e30 (, d ≤ 1e6) (limits, :data:`bounds.validation.LIMITS`); then n, m, τ (, d) ≥ 1
        (hypotheses).

    References
    ----------
    Hypotheses of Theorems 1 and 2 (module References); docs/theory.md §5 and §6.
    """
    dims = ("n", "m", "tau", "d") if with_d else ("n", "m", "tau")
    inputs = [s.name for s in (*S.CONSTANTS, *S.INPUTS)]
    return (
        *(positive(p) for p in (*dims, "T")),
        open_unit("delta"),
        *(nonnegative(p) for p in inputs),
        *(at_most(p, LIMITS[p]) for p in dims),
        *(at_least_one(p) for p in dims),
    )


def make_bound(
    name: str,
    terms: tuple[tuple[str, sp.Expr], ...],
    conds: tuple[Range, ...],
    required: tuple[sp.Symbol, ...],
    constants: Mapping[str, float] | None,
) -> Bound:
    """A :class:`Bound` whose defaults are those of :data:`bounds.symbols.DEFAULTS` it uses.

    Parameters
    ----------
    name : str
        The bound's name, e.g. ``"Theorem 1 (simplified)"``.
    terms : tuple of (str, sympy expression)
        From :func:`simplified_terms` or :func:`full_terms`.
    conds : tuple of Range
        From :func:`conditions`; only those on a variable or on an input used by ``terms`` are kept.
    required : tuple of sympy Symbol
        Parameters without a default.
    constants : mapping of str to float, optional
        Hidden constants to override, as in :meth:`Bound.with_constants`.

    Returns
    -------
    Bound

    Raises
    ------
    ValueError
        For invalid ``constants`` (see :meth:`Bound.with_constants`).
    """
    used = set().union(*(e.free_symbols for _, e in terms))
    # Keep checks of the variables (even those only in hypotheses) and of the inputs actually used.
    conds = tuple(c for c in conds if S.BY_NAME[c.param] in used or S.BY_NAME[c.param] in S.VARIABLES)
    used |= {S.BY_NAME[c.param] for c in conds}
    defaults = tuple((s, v) for s, v in S.DEFAULTS.items() if s in used)
    bound = Bound(name, terms, conds, defaults, required)
    return bound.with_constants(constants) if constants else bound


def check_form(form: str) -> str:
    """``form`` itself if it is one of :data:`FORMS` ("simplified", "full").

    Parameters
    ----------
    form : str
        The requested form.

    Returns
    -------
    str
        ``form``, unchanged.

    Raises
    ------
    ValueError
        If ``form`` is not "simplified" or "full".

    Examples
    --------
    >>> from bounds.forms import check_form
    >>> check_form("full")
    'full'
    >>> check_form("short")
    Traceback (most recent call last):
        ...
    ValueError: form must be one of ('simplified', 'full'), got 'short'
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    return form
