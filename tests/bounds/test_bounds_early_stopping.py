"""Early stopping (corollary (16)): τ_es is a minimum, agrees with sympy and scipy, scales as n^{2/5}."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from bounds import early_stopping_time, stationary_tau, theorem1, theorem2
from bounds import symbols as S

size = st.floats(1.0, 1e10)


@given(n=size, m=size, full=st.booleans())
def test_tau_es_is_a_minimum(n, m, full):
    b = theorem1("full" if full else "simplified")
    r = early_stopping_time(b, n=n, m=m)
    assert r.tau_es >= 1.0
    assert r.bound_at_tau_es == pytest.approx(b.evaluate(n=n, m=m, tau=r.tau_es), rel=1e-14)
    for step in (1e-3, 1e-1):
        above = b.evaluate(n=n, m=m, tau=r.tau_es * (1 + step))
        assert above >= r.bound_at_tau_es
        if not r.clamped:
            below = max(1.0, r.tau_es / (1 + step))  # stay inside the hypothesis τ ≥ 1
            assert b.evaluate(n=n, m=m, tau=below) >= r.bound_at_tau_es


@settings(max_examples=4)  # sympy's CRootOf takes about a second per point
@given(n=st.integers(1, 10**10), m=st.integers(1, 10**10), c=st.sampled_from([0.01, 0.25, 3.0, 100.0]))
def test_numeric_matches_the_quintic_root(n, m, c):
    """Simplified Theorem 1: d/dτ = 0 is the quintic 4c₁τ⁵/(mn) + 3c₂τ⁴/m² - c_opt = 0, solved by sympy."""
    b = theorem1(constants={"c_opt": c})
    numeric = early_stopping_time(b, n=n, m=m)
    symbolic = early_stopping_time(b, n=n, m=m, method="symbolic")
    assert numeric.tau_es == pytest.approx(symbolic.tau_es, rel=1e-10)
    assert numeric.clamped == symbolic.clamped


@settings(max_examples=10)
@given(n=size, m=size, mu=st.floats(2.5, 30.0))
def test_numeric_matches_scipy_on_full_forms(n, m, mu):
    """A second method: scipy's bounded Brent search on log τ (the full forms have no sympy root)."""
    for b, extra in ((theorem1("full"), {}), (theorem2(form="full"), {"mu": mu})):
        r = early_stopping_time(b, n=n, m=m, **extra)
        res = optimize.minimize_scalar(
            lambda s: b.evaluate(n=n, m=m, tau=math.exp(s), **extra), bounds=(0.0, 60.0), method="bounded",
            options={"xatol": 1e-10},
        )
        assert r.bound_at_tau_es <= res.fun * (1 + 1e-12)
        assert r.bound_at_tau_es == pytest.approx(res.fun, rel=1e-9)


def test_symbolic_refuses_what_sympy_cannot_solve():
    with pytest.raises(ValueError, match="use method='numeric'"):
        early_stopping_time(theorem1("full"), n=100.0, m=100.0, method="symbolic")
    with pytest.raises(ValueError, match="scalar inputs"):
        early_stopping_time(theorem1(), n=np.array([10.0, 20.0]), m=100.0, method="symbolic")


def test_dominant_balance_closed_form():
    """d/dτ [c₁ µ^k τ⁴/(mn) + c_opt/τ] = 0 ⇔ τ⁵ = c_opt m n / (4 c₁ µ^k), derived by hand."""
    got = stationary_tau(theorem2(k=S.k), terms=("gen_mn", "opt"))
    want = (S.c_opt * S.m * S.n / (4 * S.c_gen1 * S.mu**S.k)) ** sp.Rational(1, 5)
    assert sp.simplify(got / want) == 1
    assert stationary_tau(theorem1("full")) is None


def test_clamped_to_one_and_vectorised():
    b = theorem1()
    r = early_stopping_time(b, n=1.0, m=1.0)  # τ⁴ + τ³ + 1/τ + 1: slope 4 + 3 - 1 > 0 at τ = 1
    assert r.clamped and r.tau_es == 1.0 and r.bound_at_tau_es == 4.0
    n = np.array([1.0, 1e2, 1e4, 1e6])
    vec = early_stopping_time(b, n=n[:, None], m=np.array([1.0, 1e3])[None, :])
    assert vec.tau_es.shape == (4, 2)
    for i in range(4):
        for j, m in enumerate((1.0, 1e3)):
            assert vec.tau_es[i, j] == pytest.approx(early_stopping_time(b, n=n[i], m=m).tau_es, rel=1e-12)
    with pytest.raises(ValueError, match="no early-stopping time"):
        early_stopping_time(theorem1(constants={"c_gen1": 0.0, "c_gen2": 0.0}), n=10.0, m=10.0)


def test_fitted_exponents_along_m_equals_n():
    """Corollary (16): along m = n, τ_es ∝ n^{2/5} and the early-stopped bound ∝ n^{-2/5}.

    Local log-log slopes over successive decades converge to 2/5 and -2/5; the correction comes
    from τ³/m² relative to τ⁴/(mn), i.e. O(1/τ_es) = O(n^{-2/5}), hence the shrinking tolerance.
    """
    n = np.logspace(2, 14, 13)
    r = early_stopping_time(theorem1(), n=n, m=n)
    slope_tau = np.diff(np.log(r.tau_es)) / np.diff(np.log(n))
    slope_bound = np.diff(np.log(r.bound_at_tau_es)) / np.diff(np.log(n))
    err_tau, err_bound = np.abs(slope_tau - 0.4), np.abs(slope_bound + 0.4)
    assert np.all(np.diff(err_tau) < 0) and np.all(np.diff(err_bound) < 0)
    assert err_tau[-1] < 5 * n[-1] ** -0.4 and err_bound[-1] < 5 * n[-1] ** -0.4
    fit_tau = np.polyfit(np.log(n[-5:]), np.log(r.tau_es[-5:]), 1)[0]
    fit_bound = np.polyfit(np.log(n[-5:]), np.log(r.bound_at_tau_es[-5:]), 1)[0]
    assert fit_tau == pytest.approx(0.4, abs=1e-3) and fit_bound == pytest.approx(-0.4, abs=1e-3)


@given(n=st.floats(1e3, 1e10), m=st.floats(1e3, 1e10), mu=st.floats(2.5, 50.0), f=st.floats(1.01, 5.0))
def test_theorem2_tau_es_decreases_and_bound_increases_in_mu(n, m, mu, f):
    for b in (theorem2(), theorem2(form="full")):
        lo, hi = early_stopping_time(b, n=n, m=m, mu=mu), early_stopping_time(b, n=n, m=m, mu=mu * f)
        assert hi.tau_es <= lo.tau_es
        assert hi.tau_es < lo.tau_es or hi.clamped
        assert hi.bound_at_tau_es > lo.bound_at_tau_es
