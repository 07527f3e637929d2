"""The second evaluations behind the exact checks (empirical.measure.independent): I2 from the spectrum against a
matrix exponential and an ODE solver, K1 by quadrature against the quadratic form, ledger-I2, and that each
check fails on a broken input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, linalg

from empirical.measure.decomposition import decomposition
from empirical.rf.features import draw_features
from empirical.rf.flow import gradient_flow
from empirical.measure.independent import K1_QUADRATURE_RTOL, independent_checks, k1_by_quadrature, optimisation_error
from empirical.measure.lemma_checks import LEMMA_RTOL, ledger_i2
from empirical.rf.loss import population_loss
from empirical.measure import MeasureConfig, make_target, measure, seeds
from empirical.targets import two_mode


def _van_loan_flow(loss, tau: float) -> np.ndarray:
    """θ(τ) from 0 of dθ/dτ = -2(B1 θ - B2) by one matrix exponential of the block matrix
    [[-2τ B1, 2τ B2], [0, 0]], whose upper-right block is ∫_0^τ e^{-2B1 s} ds 2B2 (Van Loan, 1978)."""
    m, d = loss.m, loss.d
    M = np.zeros((m + d, m + d))
    M[:m, :m], M[:m, m:] = -2 * tau * loss.B1, 2 * tau * loss.B2
    return linalg.expm(M)[:m, m:]


def test_optimisation_error_against_a_matrix_exponential_and_an_ode_solver():
    loss = population_loss(two_mode(3.0), draw_features(8, seed=2), n_t=16)
    taus = np.array([0.3, 3.0, 30.0, 300.0])
    star = loss.minimizer()
    by_expm = [loss.value(np.sqrt(8) * _van_loan_flow(loss, t).T) - loss.value(star) for t in taus]
    np.testing.assert_allclose(optimisation_error(loss, taus), by_expm, rtol=1e-7, atol=1e-12)
    ode = integrate.solve_ivp(lambda _, th: -2 * (loss.B1 @ th - loss.B2[:, 0]), (0, taus[-1]), np.zeros(8),
                              method="Radau", t_eval=taus, rtol=1e-11, atol=1e-13)
    by_ode = [loss.value(np.sqrt(8) * th[None, :]) - loss.value(star) for th in ode.y.T]
    np.testing.assert_allclose(optimisation_error(loss, taus), by_ode, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("target,mu,m", [("gm", 4.0, 128), pytest.param("bump", 1.5, 312, marks=pytest.mark.slow)])
def test_optimisation_error_matches_the_decomposition_to_rounding(target, mu, m):
    c = MeasureConfig(target=target, mu=mu, m=m, seed=7)
    loss = population_loss(make_target(c), draw_features(m, 1, seeds(7)[1], T=c.T), "std")
    taus = np.logspace(0, 11, 23)
    I2 = decomposition(loss, loss, None, taus).I2
    diff = np.abs(optimisation_error(loss, taus) - I2)
    print(f"{target} m={m}: max |I2 - I2 by spectrum| = {diff.max():.2e}")
    assert diff.max() <= LEMMA_RTOL * max(loss.c, 1.0)
    # a flow at half speed is far outside that rounding at every τ where I2 still moves
    slow = decomposition(loss, loss, None, taus / 2).I2
    assert np.max(np.abs(optimisation_error(loss, taus) - slow)) > 1e3 * LEMMA_RTOL


@pytest.mark.parametrize("target,n,m,mu", [("gm", 16, 64, 3.0), ("gm", 4, 256, 6.0), ("bump", 3, 128, 1.5)])
def test_k1_by_quadrature_agrees_at_the_k1_minimum(target, n, m, mu):
    """K1 by the quadratic form (exact in x) and by quadrature of the trained score agree to a third of the
    check's tolerance at the K1 minimum, overfitted (n = 3, 4) or not."""
    r = measure(MeasureConfig(target=target, n=n, m=m, mu=mu, taus=tuple(np.logspace(0, 11, 12)), kl=("K1",),
                              m_ref_factor=0, seed=3))
    i = int(np.argmin(r.K["K1"]))
    out = r.lemmas["independent"]
    value = out["K1_quadrature"]["value"]
    print(f"{target} n={n} m={m}: K1 {r.K['K1'][i]:.8g}, by quadrature {value:.8g}")
    assert out["holds"] and out["K1_quadrature"]["tau"] == float(r.taus[i])
    assert abs(r.K["K1"][i] / value - 1) <= K1_QUADRATURE_RTOL / 3
    if target == "gm":  # the measurement's value is the quadrature of its model at that τ
        assert value == k1_by_quadrature(make_target(r.config), r.features, r.A[i], 0.0)


def test_independent_checks_fail_on_a_wrong_k1_or_a_wrong_i2():
    r = measure(MeasureConfig(n=16, m=32, taus=(1.0, 1e3, 1e6), kl=("K1",), m_ref_factor=0, seed=1))
    c = r.config
    target = make_target(c)
    pop = population_loss(target, r.features, c.lam)
    args = (target, r.features, r.A, r.taus)
    assert independent_checks(*args, r.K["K1"], r.I2, pop, r.quantities, c.t0)["failed"] == []
    assert independent_checks(*args, 2 * r.K["K1"], r.I2, pop, r.quantities, c.t0)["failed"] == ["K1_quadrature"]
    assert independent_checks(*args, r.K["K1"], r.I2 * 1.01, pop, r.quantities, c.t0)["failed"] == ["I2_agreement"]


def test_ledger_i2_is_lemma4_with_the_comparator():
    """On a flow whose I2 is known, ledger-I2's right side is the excess plus ‖θ_ρ‖²/(2τ): tight where the
    comparator's norm dominates, and a norm too small by half (the minimum-norm ‖θ*‖² replaced by anything
    smaller) breaks it at small τ."""
    loss = population_loss(two_mode(3.0), draw_features(8, seed=0), n_t=16)
    taus = np.geomspace(1e-2, 1e6, 30)
    I2 = loss.value(gradient_flow(loss, taus)) - loss.value(loss.minimizer())
    from empirical.rf.comparator import comparator

    near = comparator(loss)
    q = {"comparator_norm2": near.norm2, "comparator_excess": near.excess, "loss_zero": loss.c}
    out = ledger_i2(I2, optimisation_error(loss, taus), q, taus)
    assert out["holds"] and 0 < out["worst_ratio"]["ledger_I2"] <= 1
    assert not ledger_i2(I2, optimisation_error(loss, taus), {**q, "comparator_norm2": 1e-3 * near.norm2}, taus)["holds"]
