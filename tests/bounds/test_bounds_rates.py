"""Dominant-balance rates against exponents derived by hand and against numeric early stopping."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from bounds import early_stopping_time, rates, regimes, theorem1, theorem2
from bounds import symbols as S
from bounds.rates import a_sym, minimax

R = sp.Rational


def test_corollary_16():
    """a = 1: balance τ⁴/n² = 1/τ gives τ = n^{2/5}; then τ³/m² = n^{6/5 - 2} = m^{-4/5}; 1/m = n^{-1}."""
    r = rates(theorem1(), m_exponent=1)
    assert r == rates(1)
    assert r.tau_es_exponent == R(2, 5) and r.bound_exponent == R(-2, 5)
    assert r.term_exponents == {"gen_mn": R(-2, 5), "gen_m2": R(-4, 5), "opt": R(-2, 5), "rf": -1}
    assert r.balance == ("gen_mn", "opt")
    assert all(isinstance(x, sp.Rational) for x in (r.tau_es_exponent, r.bound_exponent))


@pytest.mark.parametrize("a", [R(2, 3), 1, R(3, 2), 3])
def test_mn_one_fifth_regime(a):
    """For n² ≲ m³ (a ≥ 2/3): τ_es ∝ (mn)^{1/5}, bound ∝ (mn)^{-1/5}; by hand 3(1+a)/5 - 2a ≤ -(1+a)/5."""
    r = rates(theorem1(), m_exponent=a)
    assert 3 * (1 + a) / R(5) - 2 * a <= -(1 + a) / R(5)
    assert r.tau_es_exponent == (1 + a) / R(5) and r.bound_exponent == -(1 + a) / R(5)


@pytest.mark.parametrize("a", [R(1, 10), R(1, 2), R(3, 5)])
def test_m_one_half_regime(a):
    """For a < 2/3 the τ³/m² term balances 1/τ: τ³ n^{-2a} = τ^{-1} gives τ = n^{a/2}, bound n^{-a/2}."""
    r = rates(theorem1(), m_exponent=a)
    assert r.tau_es_exponent == a / 2 and r.bound_exponent == -a / 2 and r.balance == ("gen_m2", "opt")


def test_regimes_with_symbolic_a():
    found = {reg.balance: reg for reg in regimes(theorem1())}
    assert set(found) == {("gen_mn", "opt"), ("gen_m2", "opt")}
    mn = found[("gen_mn", "opt")]
    assert sp.simplify(mn.tau_es_exponent - (1 + a_sym) / 5) == 0
    assert mn.validity == sp.Interval(R(2, 3), sp.oo)
    m2 = found[("gen_m2", "opt")]
    assert sp.simplify(m2.tau_es_exponent - a_sym / 2) == 0 and m2.validity == sp.Interval.Lopen(0, R(2, 3))
    assert mn.bound_exponent.subs(a_sym, 1) == R(-2, 5)


def test_theorem2_mu_exponents():
    """Balance µ^k τ⁴/(mn) = 1/τ: τ_es ∝ µ^{-k/5} (mn)^{1/5}; both balanced terms ∝ µ^{k/5}."""
    r = rates(theorem2(k=S.k))
    assert r.tau_es_exponent == R(2, 5) and r.bound_exponent == R(-2, 5)
    assert sp.simplify(r.tau_es_mu_exponent + S.k / 5) == 0 and sp.simplify(r.bound_mu_exponent - S.k / 5) == 0
    r6 = rates(theorem2())
    assert r6.tau_es_mu_exponent == R(-6, 5) and r6.bound_mu_exponent == R(6, 5)
    half = rates(theorem2(k=4), m_exponent=R(1, 2))  # τ³ µ^k / m² = 1/τ: τ ∝ µ^{-k/4}
    assert half.tau_es_mu_exponent == -1 and half.bound_mu_exponent == 1
    assert rates(theorem2(form="full")).tau_es_mu_exponent == R(-6, 5)


def test_full_form_rates_and_the_dropped_cross_term():
    """The full form at the defaults (L̃(θ*) = 0) gives the same rate as (16). With L̃(θ*) > 0 its cross
    term P √L̃(θ*) G ⊃ √L̃(θ*) τ² √(d log(d+1)) / √(mn) balances 1/τ at τ = n^{1/3} (m = n): -1/3,
    slower than the simplified statement's -2/5."""
    r = rates(theorem1("full"))
    assert r.tau_es_exponent == R(2, 5) and r.bound_exponent == R(-2, 5)
    r_star = rates(theorem1("full"), L_star=0.01)
    assert r_star.tau_es_exponent == R(1, 3) and r_star.bound_exponent == R(-1, 3)
    assert r_star.floor_terms == ("approx_star",)


@pytest.mark.parametrize(("a", "form", "extra"), [(1, "simplified", {}), (R(1, 2), "simplified", {}),
                                                  (1, "full", {}), (1, "full", {"L_star": 0.01})])
def test_rates_agree_with_numeric_early_stopping(a, form, extra):
    """Independent check: log-log slope of the numerically found τ_es over n ∈ [1e16, 1e20]."""
    n = np.logspace(16, 20, 5)
    b = theorem1(form)
    r = rates(b, m_exponent=a, **extra)
    es = early_stopping_time(b, n=n, m=n ** float(a), **extra)
    assert np.polyfit(np.log(n), np.log(es.tau_es), 1)[0] == pytest.approx(float(r.tau_es_exponent), abs=0.02)


def test_minimax_exact_and_errors():
    assert minimax([(R(-2), R(4)), (R(0), R(-1))], lower=0) == R(2, 5)
    assert minimax([(R(1), R(1)), (R(2), R(3))], lower=0) == 0  # increasing only: τ_es = 1
    with pytest.raises(ValueError, match="decreases in tau without end"):
        minimax([(R(0), R(-1))], lower=0)
    with pytest.raises(ValueError, match="m_exponent must be a positive rational"):
        rates(theorem1(), m_exponent="0")
    with pytest.raises(ValueError, match="theorem must be 1, 2 or a Bound"):
        rates(3)
