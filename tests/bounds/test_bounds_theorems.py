"""Theorems 1-2 as evaluable bounds: exact values against plain arithmetic, shape properties,
full form against the simplified one (docs/theory.md §5-6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from bounds import theorem1, theorem2
from bounds import symbols as S

size = st.floats(1.0, 1e9)
tau_st = st.floats(1.0, 1e4)
delta_st = st.floats(1e-6, 0.99)
dim_st = st.floats(1.0, 1e4)


def full_reference(n, m, tau, delta, d, C_support, L_star, rf, norms=4.0, C_T=1.0, C_e=1.0, L_bar=0.0, KL=0.0):
    """docs/theory.md §5's unsimplified bound, written out with the math module (unit constants)."""
    Lq = math.log(1 / delta**2)
    ell = math.sqrt(math.log(d + 1) / n) + math.sqrt(math.log(1 / delta) / n)
    G = tau * math.sqrt(d / m) * ((tau + 1) * ell + (1 + math.sqrt(tau)) / math.sqrt(m))
    P = (C_T * (C_support + math.sqrt(Lq)) + C_e) ** 6
    return P * G * (math.sqrt(L_star) + 1 / math.sqrt(m * tau) + G) + L_bar + L_star + rf + norms / tau + KL


def test_theorem1_simplified_exact_value():
    constants = dict(c_gen1=2.0, c_gen2=3.0, c_opt=5.0, c_rf=7.0, c_app_bar=11.0, c_app_star=13.0, c_prior=17.0)
    b = theorem1(constants=constants)
    got = b.evaluate(n=1000, m=500, tau=7, L_bar=0.1, L_star=0.2, KL_T=0.3)
    want = 2 * 7**4 / (500 * 1000) + 3 * 7**3 / 500**2 + 5 / 7 + 7 / 500 + 11 * 0.1 + 13 * 0.2 + 17 * 0.3
    assert got == pytest.approx(want, rel=1e-14)
    terms = b.evaluate_terms(n=1000, m=500, tau=7, L_bar=0.1, L_star=0.2, KL_T=0.3)
    assert terms["gen_mn"] == pytest.approx(2 * 7**4 / 5e5, rel=1e-14)
    assert terms["gen_m2"] == pytest.approx(3 * 343 / 2.5e5, rel=1e-14)
    assert sum(terms.values()) == pytest.approx(want, rel=1e-14)


def test_theorem2_simplified_exact_value():
    b = theorem2(k=4)
    got = b.evaluate(n=200, m=300, tau=2.5, mu=3.5, delta=0.1)
    want = 3.5**4 * (2.5**4 / (300 * 200) + 2.5**3 / 300**2) + 1 / 2.5 + 3.5**2 / 300
    assert got == pytest.approx(want, rel=1e-14)
    assert theorem2().evaluate(n=10, m=10, tau=1, mu=3) == pytest.approx(3**6 * (1 / 100 + 1 / 100) + 1 + 9 / 10)


def test_full_forms_exact_values():
    v = dict(n=1234.0, m=567.0, tau=8.5, delta=0.01, d=3.0)
    got = theorem1("full").evaluate(**v, L_star=0.04, C_x=2.0, norm0=0.0)
    rf = 3.0 * math.log(1 / 0.01**2) ** 2 / 567.0
    want = full_reference(**v, C_support=2.0, L_star=0.04, rf=rf, norms=3.0)
    assert got == pytest.approx(want, rel=1e-12)
    got2 = theorem2(form="full").evaluate(n=1234.0, m=567.0, tau=8.5, delta=0.01, mu=4.0)
    want2 = full_reference(1234.0, 567.0, 8.5, 0.01, 1.0, 4.0, 0.0, 16.0 * math.log(100.0) / 567.0)
    assert got2 == pytest.approx(want2, rel=1e-12)


def test_vectorised_matches_scalar_loop_and_broadcasts():
    b = theorem1()
    n = np.array([1.0, 10.0, 1e3])[:, None]
    tau = np.array([1.0, 2.0, 50.0, 1e3])[None, :]
    grid = b.evaluate(n=n, m=77.0, tau=tau)
    assert grid.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert grid[i, j] == b.evaluate(n=float(n[i, 0]), m=77.0, tau=float(tau[0, j]))
    terms = b.evaluate_terms(n=n, m=77.0, tau=tau)
    assert all(t.shape == (3, 4) for t in terms.values())
    assert isinstance(b.evaluate(n=5, m=5, tau=5), float)


def test_terms_and_constants_are_exposed():
    b = theorem1()
    assert list(b.terms) == ["gen_mn", "gen_m2", "opt", "rf", "approx_bar", "approx_star", "prior"]
    assert sp.simplify(b.terms["gen_mn"] - S.c_gen1 * S.tau**4 / (S.m * S.n)) == 0
    assert sp.simplify(b.expr - sum(b.terms.values())) == 0
    assert {c.name for c in b.constants} == {"c_gen1", "c_gen2", "c_opt", "c_rf", "c_app_bar", "c_app_star", "c_prior"}
    t2 = theorem2(k=S.k)
    assert sp.simplify(t2.terms["gen_m2"] - S.c_gen2 * S.mu**S.k * S.tau**3 / S.m**2) == 0
    assert t2.evaluate(n=10, m=10, tau=1, mu=3, k=6) == theorem2(k=6).evaluate(n=10, m=10, tau=1, mu=3)
    fitted = b.with_constants({"c_opt": 0.5})
    assert fitted.evaluate(n=1e12, m=1e12, tau=2) == pytest.approx(0.25, rel=1e-6)
    with pytest.raises(ValueError, match="c_gen"):
        b.with_constants({"c_gen": 1.0})  # a constant of the full form only


def test_latex_renders_every_bound():
    for b in (theorem1(), theorem1("full"), theorem2(), theorem2(form="full")):
        text = b.latex()
        assert text.startswith(r"\mathrm{KL}") and r"\tau" in text and "c_{opt}" in text
        assert set(b.latex_terms()) == set(b.terms)
    assert r"\mu^{6}" in theorem2().latex()
    assert r"\tilde{L}(\bar{\theta}^*)" in theorem1().latex()


@given(n=size, m=size, tau=tau_st, L=st.floats(0, 10), f=st.floats(1.001, 1e3))
def test_positive_and_nonincreasing_in_n_and_m(n, m, tau, L, f):
    for b in (theorem1(), theorem1("full")):
        v = b.evaluate(n=n, m=m, tau=tau, L_star=L)
        assert v > 0
        assert b.evaluate(n=n * f, m=m, tau=tau, L_star=L) <= v
        assert b.evaluate(n=n, m=m * f, tau=tau, L_star=L) <= v


@given(n=size, m=size, tau=tau_st, mu=st.floats(3.0, 100.0), f=st.floats(1.001, 10.0))
def test_theorem2_positive_and_increasing_in_mu(n, m, tau, mu, f):
    for b in (theorem2(), theorem2(k=2), theorem2(form="full")):
        v = b.evaluate(n=n, m=m, tau=tau, mu=mu)
        assert 0 < v < b.evaluate(n=n, m=m, tau=tau, mu=mu * f)


@given(n=size, m=size, tau=tau_st, delta=delta_st, d=dim_st, L=st.floats(0, 1), KL=st.floats(0, 1))
def test_full_form_dominates_simplified_termwise(n, m, tau, delta, d, L, KL):
    """Where the derivation implies full ≥ simplified, with unit constants and default inputs.

    With C_T = C_x = C_e = 1 the prefactor is (2 + √Lq)⁶ ≥ 64, and
    G² ≥ τ² (d/m) [(τ+1)² ℓ² + (1+√τ)²/m] ≥ d (log(d+1) + log(1/δ)) τ⁴/(mn) + d τ³/m²;
    64 d log(d+1) ≥ 64 log 2 > 1, so the generalisation term ≥ τ⁴/(mn) + τ³/m² for all δ ∈ (0,1),
    d ≥ 1. The four norms (1 each) give 4/τ ≥ 1/τ. The random-feature term d Lq²/m ≥ 1/m only when
    Lq ≥ 1/√d, i.e. δ ≤ exp(-1/(2√d)); under that condition the whole full form dominates.
    """
    v = dict(n=n, m=m, tau=tau, L_star=L, KL_T=KL)
    full = theorem1("full").evaluate_terms(delta=delta, d=d, **v)
    simple = theorem1().evaluate_terms(**v)
    assert full["generalization"] >= simple["gen_mn"] + simple["gen_m2"]
    assert full["opt"] >= simple["opt"]
    threshold = math.exp(-1 / (2 * math.sqrt(d)))
    assert (full["rf"] >= simple["rf"]) == (delta <= threshold) or math.isclose(delta, threshold, rel_tol=1e-9)
    if delta <= threshold:
        assert sum(full.values()) >= sum(simple.values())


@given(n=size, m=size, tau=tau_st, excess=st.floats(1e-3, 50.0), delta=st.floats(1e-6, 1 / math.e))
def test_theorem2_full_dominates_simplified_for_small_delta(n, m, tau, excess, delta):
    """k = 6: (µ + √Lq + 1)⁶ ≥ µ⁶ and, for δ ≤ 1/e (log(1/δ) ≥ 1), G² ≥ τ⁴/(mn) + τ³/m² and
    µ² log(1/δ)/m ≥ µ²/m, so the full form dominates the simplified one with unit constants."""
    mu = math.sqrt(math.log(1 / delta**2)) + excess  # Theorem 2's hypothesis
    v = dict(n=n, m=m, tau=tau, mu=mu, delta=delta)
    assert theorem2(form="full").evaluate(**v) >= theorem2().evaluate(**v)


def test_full_form_requires_degree_six():
    with pytest.raises(ValueError, match="k must be 6"):
        theorem2(k=4, form="full")
