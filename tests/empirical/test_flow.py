"""Exact gradient flows (9)-(10) against an ODE solver and plain gradient descent; Lemmas 4 and 5 on the
computed flows; the decomposition (15)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from empirical.measure.decomposition import decomposition
from empirical.rf.features import draw_features
from empirical.rf.flow import flow_factor, gradient_flow
from empirical.rf.loss import empirical_loss, population_loss
from empirical.targets import two_mode

SLACK = 1e-10
"""Relative slack for floating-point rounding only, in the exact Lemma 4 / 5 checks."""


def _losses(m: int = 20, n: int = 60, seed: int = 0):
    target, f = two_mode(3.0), draw_features(m, seed=seed)
    x = target.sample(n, np.random.default_rng(seed))
    return empirical_loss(x, f, n_t=16), population_loss(target, f, n_t=16)


def test_flow_matches_solve_ivp():
    emp, _ = _losses()
    A0 = np.random.default_rng(1).standard_normal((1, 20)) * 3
    taus = np.array([0.0, 0.3, 2.0, 15.0, 60.0])
    # In the A convention the flow is dA/dτ = -m ∇_A L̃ (θ = vec(A)/√m).
    sol = solve_ivp(lambda _, a: -20 * emp.grad(a.reshape(1, 20)).ravel(), (0, taus[-1]), A0.ravel(),
                    t_eval=taus, method="DOP853", rtol=1e-12, atol=1e-12)
    A = gradient_flow(emp, taus, A0)
    np.testing.assert_allclose(A[:, 0, :], sol.y.T, rtol=0, atol=1e-9 * np.abs(A).max())
    np.testing.assert_allclose(A[0], A0, rtol=1e-15, atol=0)


def test_flow_is_the_small_step_limit_of_gradient_descent():
    emp, _ = _losses()
    tau = 5.0
    exact = gradient_flow(emp, [tau])[0]
    errors = []
    for steps in (500, 1000, 2000):
        A, eta = np.zeros((1, 20)), tau / steps
        for _ in range(steps):
            A = A - eta * 20 * emp.grad(A)
        errors.append(np.abs(A - exact).max())
    # Euler's global error is first order: halving the step halves it.
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] / errors[2] == pytest.approx(2.0, rel=0.05)
    assert errors[2] < 1e-3 * np.abs(exact).max()


def test_flow_factor_is_accurate_for_small_beta_tau():
    beta, tau = np.array([0.0, 1e-12, 1e-6, 1.0]), np.array([1e-3, 2.0])
    F = flow_factor(beta, tau)
    bt = np.multiply.outer(tau, beta)
    series = 2 * tau[:, None] * (1 - bt + 2 * bt**2 / 3)
    np.testing.assert_allclose(F[:, :3], series[:, :3], rtol=1e-11)
    np.testing.assert_allclose(F[:, 3], (1 - np.exp(-2 * tau)), rtol=1e-14)


@settings(max_examples=8)
@given(st.integers(0, 10_000), st.floats(0.0, 5.0))
def test_lemma_4_and_lemma_5_hold_exactly_on_the_flows(seed, a0_scale):
    rng = np.random.default_rng(seed)
    m = 16
    taus = np.logspace(-2, 5, 30)
    for L in _losses(m, 40, seed % 7):
        A0 = a0_scale * rng.standard_normal((1, m))
        A = gradient_flow(L, taus, A0)
        loss, loss0 = L.value(A), float(L.value(A0))
        theta = lambda B: B / np.sqrt(m)  # noqa: E731  (θ = vec(A)/√m)
        comparators = [L.minimizer(), *(5 * rng.standard_normal((3, 1, m)))]
        for At in comparators:
            bound = np.sum((theta(A0) - theta(At)) ** 2) / (2 * taus)
            assert np.all(loss - L.value(At) <= bound * (1 + SLACK) + SLACK * loss0)
        moved = np.sqrt(np.sum((theta(A) - theta(A0)) ** 2, axis=(1, 2)))
        mid = np.sqrt(taus * np.maximum(loss0 - loss, 0.0))
        assert np.all(moved <= mid * (1 + SLACK) + SLACK)
        assert np.all(mid <= np.sqrt(taus * loss0) * (1 + SLACK))
        assert np.all(np.diff(loss) <= SLACK * loss0)


def test_flow_from_zero_approaches_the_minimum_norm_minimiser_in_loss():
    _, pop = _losses()
    A = gradient_flow(pop, [1e12])[0]
    best = float(pop.value(pop.minimizer()))
    assert float(pop.value(A)) == pytest.approx(best, rel=1e-8, abs=1e-12)


def test_bad_flow_input_raises():
    emp, _ = _losses()
    with pytest.raises(ValueError, match="taus"):
        gradient_flow(emp, [-1.0])
    with pytest.raises(ValueError, match="A0"):
        gradient_flow(emp, [1.0], np.zeros((1, 3)))


def test_decomposition_identities_and_signs():
    target = two_mode(3.0)
    f, big = draw_features(20, seed=3), draw_features(160, seed=3)
    x = target.sample(80, np.random.default_rng(3))
    emp, pop, pop_big = empirical_loss(x, f, n_t=16), population_loss(target, f, n_t=16), population_loss(target, big, n_t=16)
    taus = np.logspace(-1, 4, 12)
    dec = decomposition(emp, pop, pop_big, taus)
    np.testing.assert_allclose(dec.I1 + dec.I2 + dec.I3 + dec.loss_star_large, dec.loss_empirical_flow, rtol=1e-12)
    np.testing.assert_allclose(dec.loss_empirical_flow, pop.value(gradient_flow(emp, taus)), rtol=1e-13)
    assert dec.I3 >= 0  # nested features: the larger model's minimum is lower
    assert np.all(dec.I2 >= -1e-12)
    # Lemma 4 with the minimiser as comparator, from θ0 = 0: I2 <= ‖θ*‖²/(2τ)
    assert np.all(dec.I2 <= np.sum(pop.minimizer() ** 2) / 20 / (2 * taus) * (1 + SLACK))
    at_zero = decomposition(emp, pop, pop_big, [0.0])
    assert at_zero.I1[0] == 0.0
    with pytest.raises(ValueError, match="population_large"):
        decomposition(emp, pop, pop, taus)


def test_flow_solves_its_ode_in_two_dimensions():
    x = np.random.default_rng(0).standard_normal((40, 2))
    L = empirical_loss(x, draw_features(12, d=2, seed=1), noise_draws=4, seed=2, n_t=6)
    A0 = np.random.default_rng(3).standard_normal((2, 12))
    tau, h = 2.0, 1e-4
    Am, A, Ap = gradient_flow(L, [tau - h, tau, tau + h], A0)
    # dA/dτ = -m ∇_A L̃ by a central difference (error O(h²))
    np.testing.assert_allclose((Ap - Am) / (2 * h), -12 * L.grad(A), rtol=1e-6, atol=1e-8)
