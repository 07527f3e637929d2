"""Rates by dominant balance: exponents of n (and µ) in τ_es and in the early-stopped bound.

With m = c·n^a and τ = n^γ, every term of a bound expands into monomials n^α τ^β µ^e (constants
dropped, α depending on a). For large n the bound behaves like n^{max_i (α_i + β_i γ)}; τ_es ∝ n^{γ*}
with γ* minimising that maximum over γ ≥ 0 (τ ≥ 1) among the τ-dependent monomials — a convex
piecewise-linear minimax, solved exactly here in sympy Rationals. Corollary (16) (a = 1: γ* = 2/5,
bound n^{-2/5}, the τ³/m² term m^{-4/5}) comes out of this computation, it is not hard-coded.

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: corollary (16) and its general-m form (validity n² ≲ m³), Theorem 2's τ_es ≍
(mn/Poly(µ))^{1/5}. docs/theory.md §5, §6 and §8.2 (the exponents the verification suite fits).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.bound import Bound
from bounds.rate_inputs import GROWTH, checked_values, parse_exponent
from bounds.theorem1 import theorem1
from bounds.theorem2 import theorem2

a_sym = sp.Symbol("a", positive=True)
"""The exponent a of the coupling m = c·n^a, when kept symbolic (:func:`regimes`)."""


@dataclass(frozen=True)
class Monomial:
    """One monomial n^{n_exp} m^{m_exp} τ^{tau_exp} µ^{mu_exp} (times a positive constant) of ``term``.

    Parameters
    ----------
    term : str
        Name of the bound's term the monomial comes from.
    n_exp, m_exp, tau_exp, mu_exp : sympy expression
        Exponents of n, m, τ and µ: rationals, or linear in the symbol ``k`` for a symbolic Poly(µ).
    """

    term: str
    n_exp: sp.Expr
    m_exp: sp.Expr
    tau_exp: sp.Expr
    mu_exp: sp.Expr

    def alpha(self, a: sp.Expr) -> sp.Expr:
        """Exponent of n at fixed τ when m = c·n^a.

        Parameters
        ----------
        a : sympy expression
            The coupling exponent: a positive Rational, or :data:`a_sym`.

        Returns
        -------
        sympy expression
            ``n_exp + a * m_exp``.
        """
        return self.n_exp + a * self.m_exp


def monomials(bound: Bound, **values: float) -> tuple[Monomial, ...]:
    """The bound expanded into monomials in (n, m, τ, µ), one per term and exponent of (n, m, τ).

    Every other input takes its value from ``values`` or the bound's defaults (so, e.g., the full
    form's √L̃(θ*) cross term is absent at the default L̃(θ*) = 0 and present for L̃(θ*) > 0).
    Monomials of a term that differ only in the power of µ are merged into the highest power, which
    dominates for large µ.

    Parameters
    ----------
    bound : Bound
        Its terms must be sums of positive monomials in n, m, τ, µ once the other inputs are fixed.
    **values : float
        Inputs other than n, m, τ, µ (taken as exact rationals); the rest take the defaults.

    Returns
    -------
    tuple of Monomial
        In the order of the bound's terms.

    Raises
    ------
    ValueError
        If a term is not a sum of positive monomials in n, m, τ, µ.
    """
    values = checked_values(bound, values)
    subs = {s: v for s, v in bound.default_items} | {S.BY_NAME[k]: v for k, v in values.items()}
    subs = {s: sp.nsimplify(v, rational=True) for s, v in subs.items() if s not in GROWTH}
    merged: dict[tuple[object, ...], Monomial] = {}
    for name, expr in bound.term_items:
        for piece in sp.Add.make_args(sp.expand(expr.subs(subs))):
            powers = piece.as_powers_dict()
            exps = [sp.sympify(powers.get(s, 0)) for s in GROWTH]
            coefficient = piece / sp.Mul(*(s**e for s, e in zip(GROWTH, exps)))
            if coefficient == 0:
                continue
            if coefficient.free_symbols - {S.k} or not coefficient.is_positive:
                raise ValueError(f"term {name!r} is not a sum of positive monomials in n, m, tau, mu: {piece}")
            key = (name, *exps[:3])
            if key not in merged or _ordered(exps[3] - merged[key].mu_exp) > (0, 0):
                merged[key] = Monomial(name, *exps)
    return tuple(merged.values())


def minimax(lines: list[tuple[sp.Expr, sp.Expr]], lower: sp.Expr | None = None) -> sp.Expr:
    """argmin_x max_i (c_i + s_i x) over x ≥ ``lower`` (or all x), exactly.

    The objective is convex and piecewise linear, so its (leftmost) minimiser is ``lower`` or the
    crossing of a line with slope ≥ 0 and one with slope ≤ 0.

    Parameters
    ----------
    lines : list of (sympy expression, sympy expression)
        The lines (c_i, s_i): intercept and slope, exact (or linear in ``k``).
    lower : sympy expression, optional
        Lower end of x (0 for τ ≥ 1, i.e. γ ≥ 0 in τ = n^γ); unbounded if None.

    Returns
    -------
    sympy expression
        The leftmost minimiser, exact.

    Raises
    ------
    ValueError
        If the objective decreases without end (no early-stopping time).
    """
    lines = list(dict.fromkeys(lines))
    if not any(s >= 0 for _, s in lines) or (lower is None and not any(s <= 0 for _, s in lines)):
        raise ValueError("the bound decreases in tau without end: no early-stopping time")
    candidates = [] if lower is None else [sp.sympify(lower)]
    for (ci, si), (cj, sj) in itertools.product(lines, lines):
        if si > sj and si >= 0 >= sj:
            x = (cj - ci) / (si - sj)
            if lower is None or _ordered(x - lower) >= (0, 0):
                candidates.append(x)
    objective = [max((c + s * x for c, s in lines), key=_ordered) for x in candidates]
    best = min(range(len(candidates)), key=lambda i: (_ordered(objective[i]), _ordered(candidates[i])))
    return sp.simplify(candidates[best])


def _ordered(value: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    # Exponents are linear in the positive symbol k (if present): ordering by (value at k = 0,
    # coefficient of k) is the order for large k; for exponents without k it is the plain order.
    value = sp.expand(sp.sympify(value))
    return (value.subs(S.k, 0), sp.diff(value, S.k))


@dataclass(frozen=True)
class Rates:
    """Exponents for m = c·n^a (see :func:`rates`). Exponents of µ are ``None`` for bounds without µ.

    Parameters
    ----------
    m_exponent, tau_es_exponent, bound_exponent : sympy Rational
        a in m = c·n^a; γ* in τ_es ∝ n^{γ*} (0 when clamped to τ = 1); the early-stopped bound's
        exponent of n (its slowest-decaying term).
    term_exponents : dict of str to sympy Rational
        Exponent of n of each decaying term at τ = τ_es.
    balance : (str, str) or None
        The increasing and the decreasing term that set τ_es; None when τ_es is clamped to 1.
    floor_terms : tuple of str
        Terms independent of n, m and τ (they do not decay).
    tau_es_mu_exponent, bound_mu_exponent : sympy expression or None
        Exponents of µ in τ_es and in the bound (Theorem 2: -k/5 and k/5).
    """

    m_exponent: sp.Rational
    tau_es_exponent: sp.Rational
    bound_exponent: sp.Rational
    term_exponents: dict[str, sp.Rational]
    balance: tuple[str, str] | None
    floor_terms: tuple[str, ...]
    tau_es_mu_exponent: sp.Expr | None
    bound_mu_exponent: sp.Expr | None

    def as_json(self) -> dict[str, object]:
        """Exact rationals written as strings like "-2/5".

        Returns
        -------
        dict
            The fields by name, JSON-serialisable: exponents as strings (None kept), tuples as lists.
        """
        def txt(x: sp.Expr | None) -> str | None:
            return None if x is None else str(x)

        return {
            "m_exponent": txt(self.m_exponent),
            "tau_es_exponent": txt(self.tau_es_exponent),
            "bound_exponent": txt(self.bound_exponent),
            "term_exponents": {k: txt(v) for k, v in self.term_exponents.items()},
            "balance": list(self.balance) if self.balance else None,
            "floor_terms": list(self.floor_terms),
            "tau_es_mu_exponent": txt(self.tau_es_mu_exponent),
            "bound_mu_exponent": txt(self.bound_mu_exponent),
        }


def rates(bound: Bound | int, m_exponent: object = 1, **values: float) -> Rates:
    """Exponents of n in τ_es and in the early-stopped bound for m = c·n^a, a = ``m_exponent``.

    Also, for bounds with µ: exponents of µ in τ_es and in the bound's dominant (in n) terms, within
    the same balance (Theorem 2: τ_es ∝ µ^{-k/5}, bound ∝ µ^{k/5} where τ⁴/(mn) balances 1/τ).
    Terms independent of n, m and τ (approximation errors, KL(p_T‖π)) do not decay and are listed
    in ``floor_terms``.

    Parameters
    ----------
    bound : Bound or {1, 2}
        A Bound, or 1 / 2 for the simplified Theorem 1 / Theorem 2 (k = 6).
    m_exponent : int, float, sympy number or str, default 1
        a in m = c·n^a, a positive rational such as 1 or "3/2" (:func:`bounds.rate_inputs.parse_exponent`).
    **values : float
        Fix inputs other than n, m, τ, µ (e.g. ``L_bar=0.1``; see :func:`monomials`); else defaults.

    Returns
    -------
    Rates
        Exact exponents (sympy Rationals); :meth:`Rates.as_json` writes them as strings.

    Raises
    ------
    ValueError
        If ``bound`` is not a Bound, 1 or 2, ``m_exponent`` is invalid, a name of ``values`` is not an
        input of the bound (or is one of n, m, τ, µ) or its value is not a finite number in its
        domain, or the bound decreases in τ without end (no early-stopping time).

    References
    ----------
    Corollary (16) of the paper (τ_es = Θ(n^{2/5}), KL ≲ n^{-2/5} + m^{-4/5} for m ~ n) and its
    general-m form; Theorem 2's τ_es ≍ (mn/Poly(µ))^{1/5} (module References). docs/theory.md §5, §6.

    Examples
    --------
    Corollary (16): with m ~ n, τ_es ∝ n^{2/5}, the bound ∝ n^{-2/5}, the τ³/m² term ∝ m^{-4/5}:

    >>> from bounds import rates, theorem1, theorem2
    >>> r = rates(theorem1(), m_exponent=1)
    >>> str(r.tau_es_exponent), str(r.bound_exponent), str(r.term_exponents["gen_m2"]), r.balance
    ('2/5', '-2/5', '-4/5', ('gen_mn', 'opt'))

    With m ~ n^{1/2} (n² ≫ m³) the τ³/m² term balances 1/τ instead: τ_es ∝ m^{1/2} = n^{1/4}.
    Theorem 2 (k = 6): τ_es ∝ µ^{-6/5}, bound ∝ µ^{6/5}. A measured L̃(θ̄*) is a floor:

    >>> r = rates(1, m_exponent="1/2")
    >>> str(r.tau_es_exponent), str(r.bound_exponent), r.balance
    ('1/4', '-1/4', ('gen_m2', 'opt'))
    >>> str(rates(theorem2()).tau_es_mu_exponent), str(rates(theorem2()).bound_mu_exponent)
    ('-6/5', '6/5')
    >>> rates(theorem1(), L_bar=0.1).floor_terms
    ('approx_bar',)
    """
    a = parse_exponent(m_exponent)
    if not isinstance(bound, Bound):
        ok = isinstance(bound, (int, np.integer)) and not isinstance(bound, bool) and bound in (1, 2)
        bound = {1: theorem1, 2: theorem2}[int(bound)]() if ok else _bad_theorem(bound)
    monos = monomials(bound, **values)
    moving = [p for p in monos if p.tau_exp != 0]
    gamma = minimax([(p.alpha(a), p.tau_exp) for p in moving], lower=sp.Integer(0))
    at = {p: p.alpha(a) + p.tau_exp * gamma for p in monos}
    decaying = {p: e for p, e in at.items() if not (p.alpha(a) == 0 and p.tau_exp == 0)}
    top = max(decaying.values())
    term_exponents = {name: max(e for p, e in decaying.items() if p.term == name) for name in _names(decaying)}
    peak = max(at[p] for p in moving)
    active = [p for p in moving if at[p] == peak]
    balance = _balance(active, gamma)
    floor = tuple(dict.fromkeys(p.term for p in monos if p not in decaying))
    tau_mu = bound_mu = None
    if any(p.mu_exp != 0 for p in monos):
        eta = sp.Integer(0) if gamma == 0 else minimax([(p.mu_exp, p.tau_exp) for p in active])
        tau_mu = sp.simplify(eta)
        bound_mu = sp.simplify(max((p.mu_exp + p.tau_exp * eta for p, e in decaying.items() if e == top), key=_ordered))
    return Rates(a, gamma, top, term_exponents, balance, floor, tau_mu, bound_mu)


def _bad_theorem(theorem: object) -> Bound:
    raise ValueError(f"theorem must be 1, 2 or a Bound, got {theorem!r}")


def _names(monos: dict[Monomial, sp.Expr]) -> list[str]:
    return list(dict.fromkeys(p.term for p in monos))


def _balance(active: list[Monomial], gamma: sp.Expr) -> tuple[str, str] | None:
    """Names of the increasing and decreasing terms that set τ_es (None when τ_es is clamped to 1)."""
    if gamma == 0:
        return None
    up = next(p.term for p in active if p.tau_exp > 0)
    down = next(p.term for p in active if p.tau_exp < 0)
    return up, down


@dataclass(frozen=True)
class Regime:
    """A balance of two terms and the coupling exponents a (m = c·n^a) for which it sets τ_es.

    Parameters
    ----------
    balance : (str, str)
        The increasing and the decreasing term.
    tau_es_exponent, bound_exponent : sympy expression
        γ*(a) in τ_es ∝ n^{γ*}, and the early-stopped bound's exponent of n (a ``Max`` over the
        decaying terms), in the symbol :data:`a_sym`.
    validity : sympy Set
        The a > 0 for which this balance sets τ_es.
    """

    balance: tuple[str, str]
    tau_es_exponent: sp.Expr
    bound_exponent: sp.Expr
    validity: sp.Set


def regimes(bound: Bound, **values: float) -> list[Regime]:
    """All balances of an increasing and a decreasing monomial, with a = ``a_sym`` symbolic.

    For the simplified Theorem 1: τ⁴/(mn) against 1/τ for a ≥ 2/3 (τ_es ∝ (mn)^{1/5}: the
    validity condition n² ≲ m³), τ³/m² against 1/τ for a ≤ 2/3 (τ_es ∝ m^{1/2}).

    Parameters
    ----------
    bound : Bound
        The bound, e.g. ``theorem1()``.
    **values : float
        Values of inputs other than n, m, τ, µ, as in :func:`rates`.

    Returns
    -------
    list of Regime
        Every balance that sets τ_es on an interval of a of positive length.

    References
    ----------
    Corollary (16), general m: τ_es ≍ (mn)^{1/5} while n² ≲ m³ (module References); docs/theory.md §5.

    Examples
    --------
    >>> from bounds import regimes, theorem1
    >>> from bounds.rates import a_sym
    >>> for reg in regimes(theorem1()):
    ...     print(reg.balance, reg.validity, reg.tau_es_exponent, reg.bound_exponent.subs(a_sym, 1))
    ('gen_mn', 'opt') Interval(2/3, oo) a/5 + 1/5 -2/5
    ('gen_m2', 'opt') Interval.Lopen(0, 2/3) a/2 0
    """
    a = a_sym
    monos = monomials(bound, **values)
    moving = [p for p in monos if p.tau_exp != 0]
    decaying = [p for p in monos if p.n_exp != 0 or p.m_exp != 0 or p.tau_exp != 0]
    found = []
    for up, down in itertools.product([p for p in moving if p.tau_exp > 0], [p for p in moving if p.tau_exp < 0]):
        gamma = sp.simplify((down.alpha(a) - up.alpha(a)) / (up.tau_exp - down.tau_exp))
        level = up.alpha(a) + up.tau_exp * gamma
        valid = sp.solve_univariate_inequality(gamma >= 0, a, relational=False, domain=sp.Interval.open(0, sp.oo))
        for other in moving:
            ineq = other.alpha(a) + other.tau_exp * gamma <= level
            if ineq is not sp.true:
                valid &= sp.solve_univariate_inequality(ineq, a, relational=False, domain=sp.Interval.open(0, sp.oo))
        if isinstance(valid, sp.Interval) and valid.measure > 0:
            top = sp.Max(*(p.alpha(a) + p.tau_exp * gamma for p in decaying))
            found.append(Regime((up.term, down.term), gamma, top, valid))
    return found
