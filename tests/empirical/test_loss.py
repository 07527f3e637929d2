"""The exact-in-x quadratic loss (Lemma 3) against independent references: dense x-quadrature split at
the kinks (no Stein, no partial moments), adaptive t-quadrature, Monte Carlo, closed forms, limits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from empirical.rf.features import draw_features, rf_score
from empirical.rf.flow import gradient_flow
from empirical.kl import kl_score_bound
from empirical.rf.loss import (
    QuadraticLoss,
    empirical_loss,
    empirical_losses,
    population_loss,
    population_losses,
    weighting,
)
from empirical.quadrature import gl_panels, time_grid
from empirical.sde import ou
from empirical.targets import empirical, gaussian, two_bumps, two_mode

TARGETS = {
    "gaussian": lambda: gaussian(1.0, 0.5),
    "two_mode": lambda: two_mode(3.0, (0.3, 0.7)),
    "empirical": lambda: empirical(np.array([-2.0, -0.3, 0.4, 2.5, 3.0])),
    "two_bumps": lambda: two_bumps(2.0, 1.0, (0.4, 0.6)),
}


def _x_nodes(target, t: float, kinks: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray]:
    """GL panels over the support, split at every kink so that each ReLU is a polynomial on a panel."""
    lo, hi = target.support(t)
    edges = np.unique(np.concatenate([[lo, hi], kinks[(kinks > lo) & (kinks < hi)]]))
    parts = [gl_panels(a, b, max(1, int(np.ceil((b - a) / h)))) for a, b in zip(edges[:-1], edges[1:])]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _grid_coefficients(target, f, n_t: int, lam: str):
    """B1, B2, c by direct x-quadrature of h1 h1ᵀ, h1 h2ᵀ, h2² on each t node of the same t-grid."""
    grid = time_grid(target.sde.T, n_t)
    lamv = weighting(lam, target.sde, grid.t)
    B1, B2, c = np.zeros((f.m, f.m)), np.zeros(f.m), 0.0
    for j, t in enumerate(grid.t):
        h = min(0.05, 0.1 * float(np.sqrt(target.sde.sigma2(t))))
        x, w = _x_nodes(target, t, -f.bias(t) / f.W[:, 0], h)
        p, s, phi = target.pdf(t, x), target.score(t, x), f.phi(t, x)
        coef = grid.w[j] * lamv[j]
        B1 += coef * (phi.T * (w * p)) @ phi / f.m
        B2 += coef * phi.T @ (w * p * s) / np.sqrt(f.m)
        c += coef * np.sum(w * p * s * s)
    return B1, B2[:, None], c


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_exact_coefficients_match_dense_x_quadrature(name):
    target, f = TARGETS[name](), draw_features(12, seed=5)
    L = population_loss(target, f, "std", n_t=12)
    B1, B2, c = _grid_coefficients(target, f, 12, "std")
    np.testing.assert_allclose(L.B1, B1, rtol=0, atol=1e-9 * np.abs(B1).max())
    np.testing.assert_allclose(L.B2, B2, rtol=0, atol=1e-9 * np.abs(B2).max())
    if name != "empirical":  # Fisher information of p̂_t needs the DSM constant instead (its own test)
        assert L.c == pytest.approx(c, rel=1e-8)


def test_population_constant_of_a_gaussian_is_closed_form():
    # p0 = N(1, 0.5) under OU: p_t = N(e^-t, 0.5 e^-2t + 1 - e^-2t), Fisher information 1/v_t.
    g, sde = gaussian(1.0, 0.5), ou()
    L = population_losses(g, draw_features(4), ("std", "var", "g2"))
    v = lambda t: 0.5 * np.exp(-2 * t) + 1 - np.exp(-2 * t)
    for lam, weight in (("std", lambda t: np.sqrt(sde.sigma2(t))), ("var", sde.sigma2), ("g2", lambda t: 2.0)):
        ref = integrate.quad(lambda t: weight(t) / v(t), 0, 5, epsabs=0, epsrel=1e-12)[0] / 5
        assert L[lam].c == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("t", [1e-3, 0.1, 1.0, 5.0])
def test_fisher_information_of_a_mixture_matches_adaptive_quadrature(t):
    g = two_mode(3.0, (0.3, 0.7))
    ref = integrate.quad(lambda x: g.score(t, np.array(x)) ** 2 * g.pdf(t, np.array(x)), -20, 20,
                         points=[-3, 0, 3], limit=500, epsabs=0, epsrel=1e-12)[0]
    assert g.fisher_information(t) == pytest.approx(ref, rel=1e-10)


def test_empirical_dsm_constant_matches_adaptive_t_quadrature():
    x = np.array([0.3, -1.0])
    sde = ou()
    L = empirical_losses(x, draw_features(4), lams=("std", "var"))
    ref_std = integrate.quad(lambda t: 1 / np.sqrt(sde.sigma2(t)), 0, 5, epsabs=0, epsrel=1e-12, limit=200)[0] / 5
    assert L["std"].c == pytest.approx(ref_std, rel=1e-7)
    assert L["var"].c == pytest.approx(1.0, rel=1e-12)


def _loss_by_adaptive_t(target, f, A, lam):
    """(1/T) ∫ λ(t) E_{p_t} (s_A - ∇log p_t)² dt with scipy.quad in t and kink-split panels in x."""

    def inner(t):
        x, w = _x_nodes(target, t, -f.bias(t) / f.W[:, 0], 0.05)
        err = f.score(A, t, x)[:, 0] - target.score(t, x)
        return float(weighting(lam, target.sde, np.array([t]))[0] * np.sum(w * target.pdf(t, x) * err**2))

    return integrate.quad(inner, 0, target.sde.T, epsabs=0, epsrel=1e-9, limit=400)[0] / target.sde.T


@pytest.mark.parametrize("lam", ["std", "g2"])
def test_loss_value_matches_a_fully_independent_quadrature(lam):
    target, f = two_mode(2.0, (0.4, 0.6)), draw_features(8, seed=11)
    A = np.random.default_rng(11).standard_normal((1, 8)) * 8
    L = population_loss(target, f, lam)
    assert float(L.value(A)) == pytest.approx(_loss_by_adaptive_t(target, f, A, lam), rel=1e-6)


def _z_scores(exact, mc_draws, A):
    vals = np.array([L.value(A) for L in mc_draws])
    se = vals.std(axis=0, ddof=1) / np.sqrt(len(mc_draws))
    return np.abs(vals.mean(axis=0) - exact.value(A)) / se


def test_population_exact_agrees_with_sampling_p_t_within_mc_error():
    target, f = two_mode(3.0), draw_features(16, seed=2)
    A = np.random.default_rng(0).standard_normal((4, 1, 16)) * 10
    exact = population_loss(target, f, n_t=8)
    mc = [population_loss(target, f, n_t=8, samples=3000, seed=s) for s in range(8)]
    assert np.all(_z_scores(exact, mc, A) < 4.5)


def test_empirical_exact_agrees_with_noise_draws_within_mc_error():
    x = two_mode(3.0).sample(50, np.random.default_rng(1))
    f = draw_features(16, seed=3)
    A = np.random.default_rng(4).standard_normal((4, 1, 16)) * 10
    exact = empirical_loss(x, f, n_t=8)
    mc = [empirical_loss(x, f, n_t=8, noise_draws=40, seed=s) for s in range(8)]
    assert np.all(_z_scores(exact, mc, A) < 4.5)


def test_noise_draws_work_in_two_dimensions_and_are_seeded():
    x = np.random.default_rng(0).standard_normal((30, 2))
    f = draw_features(10, d=2, seed=1)
    a, b = (empirical_loss(x, f, noise_draws=3, seed=9, n_t=6) for _ in range(2))
    np.testing.assert_array_equal(a.B1, b.B1)
    assert a.B2.shape == (10, 2)
    A = np.random.default_rng(2).standard_normal((5, 2, 10))
    assert np.all(a.value(A) >= 0)  # a sample average of squares


@settings(max_examples=10)
@given(st.integers(0, 1000), st.floats(0.1, 100.0))
def test_losses_are_nonnegative_quadratics_with_the_right_gradient(seed, scale):
    f = draw_features(10, seed=seed)
    x = two_mode(3.0).sample(40, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    for L in (population_loss(two_mode(3.0), f, n_t=8), empirical_loss(x, f, n_t=8)):
        A = scale * rng.standard_normal((3, 1, 10))
        assert np.all(L.value(A) >= -1e-12 * L.c)
        assert L.value(L.minimizer()) >= -1e-12 * L.c
        dA = 1e-5 * rng.standard_normal((1, 10))
        fd = (L.value(A[0] + dA) - L.value(A[0] - dA)) / 2
        assert float(np.sum(L.grad(A[0]) * dA)) == pytest.approx(float(fd), rel=1e-7, abs=1e-13)
        np.testing.assert_allclose(L.value(A), [L.value(a) for a in A])


def test_rich_model_approaches_the_true_linear_score_of_a_gaussian():
    # p0 = N(0, 1) is invariant under OU: ∇log p_t = -x, which ReLU features can only approximate.
    g = gaussian(0.0, 1.0)
    losses = [population_loss(g, draw_features(m, seed=0), n_t=16) for m in (4, 16, 64)]
    best = [float(L.value(L.minimizer())) for L in losses]
    c = population_loss(g, draw_features(2), n_t=16).c
    assert best[0] > best[1] > best[2]
    assert best[2] < 1e-6 * c


def test_nested_models_have_smaller_minima():
    target = two_mode(3.0)
    small = population_loss(target, draw_features(16, seed=4), n_t=16)
    big = population_loss(target, draw_features(128, seed=4), n_t=16)
    assert big.value(big.minimizer()) <= small.value(small.minimizer()) + 1e-12


def test_empirical_coefficients_converge_to_population_at_rate_n_to_minus_half():
    target, f = two_mode(3.0), draw_features(24, seed=6)
    pop = population_loss(target, f, n_t=16)
    ns = np.array([100, 400, 1600, 6400])
    err = np.zeros((len(ns), 2))
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        for i, n in enumerate(ns):
            emp = empirical_loss(target.sample(int(n), rng), f, n_t=16)
            err[i] += [np.linalg.norm(emp.B1 - pop.B1), np.linalg.norm(emp.B2 - pop.B2)]
    slopes = np.polyfit(np.log(ns), np.log(err), 1)[0]
    assert np.all(np.diff(err, axis=0) < 0)
    assert np.all((slopes > -0.75) & (slopes < -0.3)), slopes


def test_mirror_symmetry():
    target, f = two_mode(3.0), draw_features(10, seed=8)
    mirrored = type(f)(-f.W, f.U, f.T, f.embedding)
    a, b = population_loss(target, f, n_t=16), population_loss(target, mirrored, n_t=16)
    np.testing.assert_allclose(b.B1, a.B1, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(b.B2, -a.B2, rtol=1e-11, atol=1e-15)
    assert b.c == pytest.approx(a.c, rel=1e-13)
    # Features and their mirror images together: B1 = [[P, Q], [Q, P]], B2 = [b; -b], so the flow from 0
    # keeps A = [a, -a] and the trained score is odd in x at every t and τ.
    both = type(f)(np.vstack([f.W, -f.W]), np.vstack([f.U, f.U]), f.T, f.embedding)
    L = population_loss(target, both, n_t=16)
    A = gradient_flow(L, [3.0, 300.0])
    x = np.linspace(0.1, 4.0, 9)
    for t in (0.01, 1.0, 4.0):
        s_pos, s_neg = both.score(A[1], t, x), both.score(A[1], t, -x)
        np.testing.assert_allclose(s_neg, -s_pos, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(A[:, 0, 10:], -A[:, 0, :10], rtol=1e-9, atol=1e-12 * np.abs(A).max())


def test_k1_by_the_quadratic_form_matches_the_half_integral_of_lemma_2():
    target, f = two_mode(2.0, (0.4, 0.6)), draw_features(8, seed=11)
    A = np.random.default_rng(11).standard_normal((1, 8)) * 8
    L = population_loss(target, f, "g2")
    ref = 0.5 * 5.0 * _loss_by_adaptive_t(target, f, A, "g2") + target.kl_to_prior()
    assert kl_score_bound(target, rf_score(f, A), loss=L) == pytest.approx(ref, rel=1e-6)
    assert kl_score_bound(target, rf_score(f, A)) == pytest.approx(ref, rel=1e-6)  # builds its own g2 loss
    stack = kl_score_bound(target, rf_score(f, np.stack([A, 2 * A])), loss=L)
    assert stack.shape == (2,) and stack[0] == pytest.approx(kl_score_bound(target, rf_score(f, A), loss=L), rel=1e-12)


def _coefficient_changes(a, b):
    return [np.linalg.norm(a.B1 - b.B1) / np.linalg.norm(b.B1), np.linalg.norm(a.B2 - b.B2) / np.linalg.norm(b.B2),
            abs(a.c - b.c) / abs(b.c)]


def _t_convergence(m: int, n: int, n_t: int) -> float:
    target, f = two_mode(3.0), draw_features(m, seed=1)
    x = target.sample(n, np.random.default_rng(0))
    A = np.random.default_rng(1).standard_normal((4, 1, m)) * np.sqrt(m) * 3
    worst = 0.0
    for make in (lambda k: population_losses(target, f, ("std", "g2"), n_t=k).values(),
                 lambda k: empirical_losses(x, f, lams=("std",), n_t=k).values()):
        for a, b in zip(make(n_t), make(2 * n_t)):
            worst = max(worst, *_coefficient_changes(a, b), float(np.max(np.abs(a.value(A) / b.value(A) - 1))))
    return worst


def test_doubling_the_t_nodes_changes_little_at_a_small_size():
    assert _t_convergence(128, 200, 64) < 1e-6


@pytest.mark.slow
def test_doubling_the_default_t_nodes_changes_less_than_1e_6_at_the_defaults():
    assert _t_convergence(1024, 1000, 64) < 1e-6


@pytest.mark.parametrize(
    "call, word",
    [(lambda f: population_loss(two_mode(3.0), f, "sqrt"), "lam"),
     (lambda f: population_loss(two_mode(3.0), f, t0=5.0), "t0"),
     (lambda f: population_loss(two_mode(3.0), f, n_t=0), "n_t"),
     (lambda f: empirical_loss(np.zeros(3), f, lam="g2"), "t0"),
     (lambda f: empirical_loss(np.zeros((3, 2)), f), "x_train"),
     (lambda f: empirical_loss(np.array([np.nan]), f), "x_train"),
     (lambda f: empirical_loss(np.zeros(3), f, noise_draws=0), "noise_draws"),
     (lambda f: empirical_loss(np.zeros(3), f, ou(4.0)), "features.T"),
     (lambda f: population_loss(two_mode(3.0, sde=ou(4.0)), f), "features.T"),
     (lambda f: population_loss(two_mode(3.0), f, samples=1), "samples"),
     (lambda f: population_loss(two_mode(3.0), draw_features(3, d=2)), "features.d"),
     (lambda f: kl_score_bound(two_mode(3.0), rf_score(f, np.zeros((1, 4))), loss=population_loss(two_mode(3.0), f)),
      "population 'g2' loss"),
     (lambda f: population_loss(two_mode(3.0), f).value(np.zeros((1, 5))), "A must have shape"),
     (lambda f: QuadraticLoss(np.eye(3), np.ones((2, 1)), 0.0), "B2"),
     (lambda f: QuadraticLoss(np.eye(3), np.ones((3, 1)), np.nan), "finite")],
)
def test_bad_input_raises_value_errors(call, word):
    with pytest.raises(ValueError, match=word):
        call(draw_features(4))


def test_empirical_g2_with_t0_is_finite_and_matches_noise_draws():
    x = np.array([-1.0, 0.5, 2.0])
    f = draw_features(6, seed=1)
    L = empirical_loss(x, f, lam="g2", t0=0.05, n_t=12)
    assert L.t0 == 0.05 and np.isfinite(L.c)
    A = np.random.default_rng(0).standard_normal((3, 1, 6)) * 5
    mc = [empirical_loss(x, f, lam="g2", t0=0.05, n_t=12, noise_draws=200, seed=s) for s in range(6)]
    assert np.all(_z_scores(L, mc, A) < 4.5)
