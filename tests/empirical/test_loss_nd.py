"""The population loss L̃ (7) in R^d (issue 9): exact for isotropic Gaussian-mixture targets, Monte Carlo otherwise.

The exact path (:func:`empirical.rf.coefficients_nd.mixture_coefficients` via ``target.gaussian_mixture()``) is
checked against the ``samples=`` Monte-Carlo path at random A, within 5 Monte-Carlo standard errors estimated
from independent draws; the 1-D path is checked to be the unchanged 1-D engine bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from empirical.rf.coefficients import exact_coefficients, sample_coefficients
from empirical.rf.coefficients_nd import mixture_coefficients
from empirical.rf.features import draw_features
from empirical.rf.flow import gradient_flow
from empirical.rf.loss import empirical_losses, population_loss, population_losses, weighting
from empirical.quadrature import time_grid
from empirical.targets import two_bumps_nd, two_mode, two_mode_nd, random_direction

D, M, N_T = 3, 16, 16


@pytest.fixture(scope="module")
def setup():
    target = two_mode_nd(2.0, D, (0.3, 0.7), direction=random_direction(D, 1))
    f = draw_features(M, d=D, seed=0)
    exact = population_losses(target, f, ("std", "g2"), n_t=N_T)
    return target, f, exact


def _mc_standard_error(target, f, lam, A, n, seed=123):
    """sqrt(Σ_j (ω_j λ_j)² Var_{p_t}‖s_A - ∇log p_t‖² / n), the variance from independent draws."""
    g = time_grid(target.sde.T, N_T)
    lam_t = weighting(lam, target.sde, g.t, D)
    rng = np.random.default_rng(seed)
    var = []
    for t in g.t:
        x = target.sample(n, rng, t)
        var.append(np.var(np.sum((f.score(A, t, x) - target.score(t, x)) ** 2, axis=1)))
    return float(np.sqrt(np.sum((g.w * lam_t) ** 2 * np.array(var)) / n))


@pytest.mark.parametrize("lam", ["std", "g2"])
def test_exact_loss_matches_monte_carlo_at_random_A(setup, lam):
    target, f, exact = setup
    n = 20_000
    mc = population_loss(target, f, lam, n_t=N_T, samples=n, seed=7)
    assert mc.kind == "population-mc" and exact[lam].kind == "population" and mc.B2.shape == (M, D)
    rng = np.random.default_rng(5)
    for A in [np.zeros((D, M)), *(3.0 * rng.standard_normal((3, D, M)))]:
        se = _mc_standard_error(target, f, lam, A, n)
        z = (float(mc.value(A)) - float(exact[lam].value(A))) / se
        assert abs(z) < 5, (lam, z, se)


def test_constant_c_agrees_with_the_line_fisher_of_mixture_coefficients(setup):
    target, f, exact = setup
    g = time_grid(target.sde.T, N_T)
    lam = {k: weighting(k, target.sde, g.t, D) for k in ("std", "g2")}
    coefs, consts = mixture_coefficients(*target.gaussian_mixture(), f, g, lam, target.sde)  # its own c (1-D line)
    for k in lam:
        assert abs(consts[k] / exact[k].c - 1) < 1e-10
        np.testing.assert_array_equal(coefs[k][0], exact[k].B1)
        np.testing.assert_array_equal(coefs[k][1], exact[k].B2)


def test_std_weighting_uses_d(setup):
    target, f, exact = setup
    ratio = exact["g2"].c / exact["std"].c  # ∫2·I / ∫(σ_t/√d)·I: the √d must be there
    g = time_grid(target.sde.T, N_T)
    info = np.array([target.fisher_information(t) for t in g.t])
    assert abs(ratio - np.sum(g.w * 2 * info) / np.sum(g.w * np.sqrt(target.sde.sigma2(g.t) / D) * info)) < 1e-12


def test_minimizer_and_gradient_flow_in_d(setup):
    _, _, exact = setup
    L = exact["std"]
    A_star = L.minimizer()
    assert A_star.shape == (D, M)
    taus = np.array([0.0, 1.0, 10.0, 1e6])
    path = gradient_flow(L, taus)
    assert path.shape == (4, D, M)
    np.testing.assert_array_equal(path[0], 0.0)
    values = L.value(path)
    assert np.all(np.diff(values) <= 1e-12)
    np.testing.assert_allclose(L.grad(A_star), 0.0, atol=1e-8)
    assert L.value(A_star) <= values[-1] + 1e-10


def test_d1_product_target_matches_the_1d_engine():
    f = draw_features(12, seed=2)
    one = population_losses(two_mode(3.0), f, ("std", "g2"), n_t=N_T)
    prod = population_losses(two_mode_nd(3.0, 1), f, ("std", "g2"), n_t=N_T)
    for k in one:
        np.testing.assert_allclose(prod[k].B1, one[k].B1, rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(prod[k].B2, one[k].B2, rtol=1e-9, atol=1e-13)
        assert abs(prod[k].c / one[k].c - 1) < 1e-12


def test_1d_path_is_the_unchanged_engine_bit_for_bit():
    p, f = two_mode(3.0, (0.4, 0.6)), draw_features(12, seed=3)
    g = time_grid(p.sde.T, N_T, 0.01)
    lam = {k: weighting(k, p.sde, g.t) for k in ("std", "g2")}
    coefs = exact_coefficients(p, f, g, lam)
    info = np.array([p.fisher_information(t) for t in g.t])
    L = population_losses(p, f, ("std", "g2"), n_t=N_T, t0=0.01)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(4).spawn(g.t.size)]

    def draw(j, t):
        x = p.sample(500, rngs[j], t)
        return x[:, None], p.score(t, x)[:, None]

    mc_coefs, mc_consts = sample_coefficients(f, g, lam, draw)
    mc = population_losses(p, f, ("std", "g2"), n_t=N_T, t0=0.01, samples=500, seed=4)
    for k in lam:
        np.testing.assert_array_equal(L[k].B1, coefs[k][0])
        np.testing.assert_array_equal(L[k].B2, coefs[k][1])
        assert L[k].c == float(np.sum(g.w * lam[k] * info))
        np.testing.assert_array_equal(mc[k].B1, mc_coefs[k][0])
        np.testing.assert_array_equal(mc[k].B2, mc_coefs[k][1])
        assert mc[k].c == mc_consts[k]


def test_non_mixture_target_needs_samples_and_dimensions_must_match():
    bumps, f = two_bumps_nd(1.5, 2), draw_features(8, d=2, seed=0)
    with pytest.raises(ValueError, match="target.*samples="):
        population_losses(bumps, f, n_t=4)
    L = population_loss(bumps, f, n_t=4, t0=0.1, samples=200, seed=0)
    assert L.B2.shape == (8, 2) and L.kind == "population-mc"
    with pytest.raises(ValueError, match="features.d"):
        population_losses(two_mode_nd(2.0, 3), f, n_t=4)
    with pytest.raises(ValueError, match="features.d"):
        population_losses(two_mode(2.0), f, n_t=4)
    with pytest.raises(ValueError, match="samples"):
        population_losses(two_mode_nd(2.0, 2), f, n_t=4, samples=1)


def test_empirical_loss_in_d_matches_noise_draws_at_random_A():
    """The exact-in-noise empirical loss in R^3 (mixture of point masses, Mehler series) against K = 400
    noise draws per point: L̂(A) within 5 standard errors estimated from independent noise draws."""
    target, f = two_mode_nd(2.0, D), draw_features(M, d=D, seed=2)
    x = target.sample(12, np.random.default_rng(3))
    exact = empirical_losses(x, f, lams=("std",), n_t=N_T)["std"]
    A = np.random.default_rng(4).standard_normal((D, M)) * 3
    values = [empirical_losses(x, f, lams=("std",), n_t=N_T, noise_draws=100, seed=s)["std"].value(A) for s in range(8)]
    se = np.std(values, ddof=1) / np.sqrt(len(values))
    assert abs(exact.value(A) - np.mean(values)) < 5 * se
    assert exact.kind == "empirical" and exact.B2.shape == (M, D)


def test_empirical_loss_in_d_is_the_all_exact_moments_within_rtol():
    """rtol bounds B̂1's relative Frobenius error: the default against rtol = 1e-13 (every pair to round-off)."""
    target, f = two_mode_nd(3.0, 2), draw_features(24, d=2, seed=5)
    x = target.sample(10, np.random.default_rng(6))
    loose = empirical_losses(x, f, lams=("std",), n_t=8, rtol=1e-4)["std"]
    tight = empirical_losses(x, f, lams=("std",), n_t=8, rtol=1e-13)["std"]
    err = np.linalg.norm(loose.B1 - tight.B1) / np.linalg.norm(tight.B1)
    assert err <= 1e-4
    assert np.array_equal(loose.B2, tight.B2) and loose.c == tight.c


def test_empirical_loss_minimum_is_below_the_population_one_in_d():
    """Overfitting in R^4: the empirical minimiser's empirical loss is below its population loss."""
    target, f = two_mode_nd(3.0, 4), draw_features(64, d=4, seed=7)
    x = target.sample(8, np.random.default_rng(8))
    emp = empirical_losses(x, f, lams=("std",), n_t=N_T)["std"]
    pop = population_losses(target, f, ("std",), n_t=N_T)["std"]
    A = emp.minimizer()
    assert emp.value(A) - emp.c + pop.c < pop.value(A)
