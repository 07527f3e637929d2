"""Exact d-dimensional B1, B2, c for Gaussian mixtures (empirical/rf/coefficients_nd.py).

References: the 1-D engine (d = 1), Monte Carlo with per-entry standard errors (d = 3), rotation
equivariance, positive semi-definiteness, the σ = 0 limit of a feature with w_i = 0, and the
product target's exact Fisher information.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from empirical.rf.coefficients import sample_coefficients
from empirical.rf.coefficients_nd import mixture_coefficients
from empirical.rf.features import RandomFeatures, draw_features
from empirical.rf.loss import population_losses, weighting
from empirical.quadrature import N_T_DEFAULT, time_grid
from empirical.sde import ou
from empirical.targets import random_direction, two_mode, two_mode_nd

LAMS = ("std", "g2")


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _lams(sde, grid, d):
    return {k: weighting(k, sde, grid.t, d) for k in LAMS}


def test_d1_reproduces_the_1d_engine():
    target, f = two_mode(3.0), draw_features(16, d=1, seed=0)
    ref = population_losses(target, f, LAMS)  # exact_coefficients + the target's Fisher information
    grid = time_grid(target.sde.T, N_T_DEFAULT)  # the grid and λ that population_losses builds
    coefs, consts = mixture_coefficients([[-3.0], [3.0]], [0.5, 0.5], 1.0, f, grid,
                                         {k: weighting(k, target.sde, grid.t) for k in LAMS}, target.sde)
    for k in LAMS:
        B1, B2 = coefs[k]
        assert _rel(B1, ref[k].B1) < 1e-10
        assert _rel(B2, ref[k].B2) < 1e-10
        assert abs(consts[k] - ref[k].c) < 1e-10 * abs(ref[k].c)


def _mc_with_errors(target, f, grid, lams, n, seed):
    """sample_coefficients on seeded draws of p_t, and the Monte-Carlo standard error of every entry."""
    m = f.m
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(grid.t.size)]
    draws = [(x, target.score(t, x)) for t, x in ((t, target.sample(n, rngs[j], t)) for j, t in enumerate(grid.t))]
    coefs, consts = sample_coefficients(f, grid, lams, lambda j, t: draws[j])
    var = {k: [np.zeros((m, m)), np.zeros((m, f.d)), 0.0] for k in lams}
    for j, (t, (x, y)) in enumerate(zip(grid.t, draws)):
        phi = f.phi(t, x)
        terms = ((phi[:, :, None] * phi[:, None, :]) / m, (phi[:, :, None] * y[:, None, :]) / np.sqrt(m),
                 np.sum(y * y, axis=1))
        v = [np.var(a, axis=0) / n for a in terms]
        for k, lam in lams.items():
            for i in range(3):
                var[k][i] = var[k][i] + (grid.w[j] * lam[j]) ** 2 * v[i]
    return coefs, consts, {k: [np.sqrt(a) for a in v] for k, v in var.items()}


def test_d3_agrees_with_monte_carlo_within_five_standard_errors():
    d, mu, q = 3, 2.0, (0.3, 0.7)
    u = random_direction(d, seed=4)
    sde = ou()
    target = two_mode_nd(mu, d, q, direction=u, sde=sde)
    f, grid = draw_features(12, d=d, seed=1), time_grid(sde.T, 4)
    lams = _lams(sde, grid, d)
    coefs, consts = mixture_coefficients(np.stack([-mu * u, mu * u]), q, 1.0, f, grid, lams, sde)
    mc, mc_c, se = _mc_with_errors(target, f, grid, lams, 200_000, seed=7)
    worst = 0.0
    for k in LAMS:
        for exact, sample, err in zip(coefs[k], mc[k], se[k]):
            assert np.all(err > 0)
            assert np.max(err) < 0.01 * np.max(np.abs(exact))  # the check resolves a 1% error
            worst = max(worst, float(np.max(np.abs(exact - sample) / err)))
        worst = max(worst, abs(consts[k] - mc_c[k]) / se[k][2])
        # c against the product target's own exact Fisher information
        fisher = np.array([target.fisher_information(t) for t in grid.t])
        assert abs(consts[k] - grid.w @ (lams[k] * fisher)) < 1e-10 * consts[k]
    # 2 × (78 + 36 + 1) entries: a bound of 5 standard errors fails by chance with probability < 1e-4.
    # Measured: max |z| 2.5 (B1), 1.7 (B2), 1.4 (c); rms z about 1; swapping q1, q2 gives max |z| ~ 180.
    assert worst < 5.0, worst


def test_rotating_means_and_features_rotates_b2_and_leaves_b1_and_c():
    d, sde = 4, ou()
    f, grid = draw_features(10, d=d, seed=2), time_grid(sde.T, 8)
    rng = np.random.default_rng(3)
    means = rng.standard_normal((2, d))  # a line away from the origin: c needs the affine reduction
    Q = ortho_group.rvs(d, random_state=5)
    fq = RandomFeatures(W=f.W @ Q.T, U=f.U, T=f.T, embedding=f.embedding)
    lams = _lams(sde, grid, d)
    a, ca = mixture_coefficients(means, [0.4, 0.6], 0.5, f, grid, lams, sde)
    b, cb = mixture_coefficients(means @ Q.T, [0.4, 0.6], 0.5, fq, grid, lams, sde)
    for k in LAMS:
        assert _rel(b[k][0], a[k][0]) < 1e-12
        assert _rel(b[k][1], a[k][1] @ Q.T) < 1e-12
        assert abs(cb[k] - ca[k]) < 1e-10 * ca[k]
    # a translation leaves c (the Fisher information) unchanged
    _, cs = mixture_coefficients(means + rng.standard_normal(d), [0.4, 0.6], 0.5, f, grid, lams, sde)
    assert all(abs(cs[k] - ca[k]) < 1e-10 * ca[k] for k in LAMS)


def test_b1_is_symmetric_psd_and_a_zero_w_feature_is_the_small_w_limit():
    d, sde = 3, ou()
    f, grid = draw_features(20, d=d, seed=6), time_grid(sde.T, 8)
    means = np.array([[-2.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    lams = _lams(sde, grid, d)
    W0, W1 = f.W.copy(), f.W.copy()
    W0[0] = 0.0
    W1[0] = 1e-9 * np.array([0.6, 0.0, 0.8])
    for W in (f.W, W0):
        B1 = mixture_coefficients(means, [0.5, 0.5], 1.0, RandomFeatures(W, f.U, f.T), grid, lams, sde)[0]["std"][0]
        assert np.array_equal(B1, B1.T)
        assert np.linalg.eigvalsh(B1).min() > -1e-12 * np.linalg.eigvalsh(B1).max()
    zero = mixture_coefficients(means, [0.5, 0.5], 1.0, RandomFeatures(W0, f.U, f.T), grid, lams, sde)[0]["std"]
    tiny = mixture_coefficients(means, [0.5, 0.5], 1.0, RandomFeatures(W1, f.U, f.T), grid, lams, sde)[0]["std"]
    assert np.all(np.isfinite(zero[0])) and np.all(zero[1][0] == 0)
    assert np.max(np.abs(zero[0] - tiny[0])) < 1e-7 * np.max(np.abs(tiny[0]))


def test_means_off_a_line_need_fisher():
    sde, f = ou(), draw_features(4, d=2, seed=0)
    grid = time_grid(sde.T, 4)
    means = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    lams = _lams(sde, grid, 2)
    with pytest.raises(ValueError, match="fisher"):
        mixture_coefficients(means, [0.2, 0.3, 0.5], 1.0, f, grid, lams, sde)
    _, c = mixture_coefficients(means, [0.2, 0.3, 0.5], 1.0, f, grid, lams, sde, fisher=lambda t: 2.0)
    assert c["g2"] == pytest.approx(2.0 * grid.w @ lams["g2"], rel=1e-14)


@pytest.mark.parametrize("kwargs, word", [
    ({"means": np.zeros((2, 3))}, "means"),
    ({"means": [[np.nan, 0.0], [1.0, 0.0]]}, "means"),
    ({"weights": [0.5, 0.6]}, "weights"),
    ({"weights": [1.0]}, "weights"),
    ({"var0": -1.0}, "var0"),
    ({"lam_values": {"std": np.ones(3)}}, "lam_values"),
    ({"sde": ou(4.0)}, "features.T"),
])
def test_bad_arguments_raise_naming_the_parameter(kwargs, word):
    f, grid = draw_features(4, d=2, seed=0), time_grid(5.0, 4)
    args = {"means": [[-1.0, 0.0], [1.0, 0.0]], "weights": [0.5, 0.5], "var0": 1.0, "features": f, "grid": grid,
            "lam_values": {"std": np.ones(4)}, "sde": ou()} | kwargs
    with pytest.raises(ValueError, match=word):
        mixture_coefficients(**args)


def test_two_mode_nd_convenience_matches_explicit_means():
    from empirical.rf.coefficients_nd import two_mode_nd_coefficients

    sde, d, u = ou(), 3, random_direction(3, seed=9)
    f, grid = draw_features(8, d=d, seed=3), time_grid(sde.T, 8)
    lams = _lams(sde, grid, d)
    a, ca = two_mode_nd_coefficients(2.5, d, (0.3, 0.7), f, grid, lams, direction=u, sde=sde)
    b, cb = mixture_coefficients(np.stack([-2.5 * u, 2.5 * u]), (0.3, 0.7), 1.0, f, grid, lams, sde)
    for k in LAMS:
        assert _rel(a[k][0], b[k][0]) < 1e-12 and _rel(a[k][1], b[k][1]) < 1e-12
        assert abs(ca[k] - cb[k]) < 1e-10 * cb[k]
    with pytest.raises(ValueError, match="mu"):
        two_mode_nd_coefficients(-1.0, d, (0.5, 0.5), f, grid, lams)
