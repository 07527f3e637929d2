"""Targets in R^d (empirical/targets/product.py) against independent references.

References: the 1-D targets themselves (d = 1), central finite differences, the direct d-dimensional
Gaussian-mixture formula, Monte Carlo from ``sample``, and the closed-form moments of the mixture and
of the bump (y = s (2 Beta(k+1, k+1) - 1) has variance s²/(2k+3)).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from empirical.sde import ou
from empirical.targets import (ProductTarget, Target, gaussian, random_direction, two_bumps, two_bumps_nd, two_mode,
                               two_mode_nd)
from empirical.targets.product import frame


def _random_orthogonal(d: int, seed: int) -> np.ndarray:
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix); unlike a Householder frame, not symmetric."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _targets(d: int, direction: np.ndarray | None) -> list[ProductTarget]:
    return [two_mode_nd(2.0, d, (0.3, 0.7), direction=direction),
            two_bumps_nd(1.5, d, (0.4, 0.6), scale=1.0, direction=direction)]


# --- d = 1 reproduces the 1-D target -------------------------------------------------------------------------------

@pytest.mark.parametrize("f", [two_mode(2.0, (0.3, 0.7)), two_bumps(1.5, 1.0, (0.4, 0.6))], ids=["gm", "bumps"])
@pytest.mark.parametrize("t", [0.0, 0.3, 2.0])
def test_d1_identity_reproduces_the_1d_target_exactly(f, t):
    p = ProductTarget([f])
    assert isinstance(p, Target) and p.dim == 1 and p.sde is f.sde
    x = np.linspace(-2.4, 2.4, 37)  # inside the bumps' support [-2.5, 2.5] at t = 0
    if t == 0.0 and f.name == "two_bumps":
        x = x[np.abs(np.abs(x) - 1.5) < 1.0]  # the score at t = 0 exists only inside the support
    X = x[:, None]
    assert np.array_equal(p.logpdf(t, X), f.logpdf(t, x))
    np.testing.assert_allclose(p.pdf(t, X), f.pdf(t, x), rtol=1e-14, atol=0)
    assert np.array_equal(p.score(t, X), f.score(t, x)[:, None])
    assert p.kl_to_prior(t) == f.kl_to_prior(t)
    assert p.kl_to_prior() == f.kl_to_prior()
    assert p.fisher_information(t) == f.fisher_information(t)


def test_d1_reflection_mirrors_the_1d_target():
    f = two_mode(2.0, (0.3, 0.7))
    p = ProductTarget([f], Q=[[-1.0]])
    x = np.linspace(-5, 5, 21)
    np.testing.assert_allclose(p.pdf(0.4, x[:, None]), f.pdf(0.4, -x), rtol=1e-14)
    np.testing.assert_allclose(p.score(0.4, x[:, None])[:, 0], -f.score(0.4, -x), rtol=1e-14)


# --- the score is the gradient of log p_t --------------------------------------------------------------------------

@pytest.mark.parametrize("frame_kind", ["identity", "direction", "haar"])
@pytest.mark.parametrize("t", [0.05, 0.5, 2.0])
def test_score_is_the_gradient_of_logpdf(frame_kind, t):
    d = 3
    rng = np.random.default_rng(7)
    for p in _targets(d, random_direction(d, seed=3) if frame_kind == "direction" else None):
        if frame_kind == "haar":
            p = ProductTarget(p.factors, Q=_random_orthogonal(d, seed=1))
            assert not np.allclose(p.Q, p.Q.T)
        if frame_kind != "identity":
            assert not np.allclose(p.Q, np.eye(d))
        x = p.sample(20, rng, t) + 0.1 * rng.standard_normal((20, d))
        h = 1e-5 * max(np.sqrt(-np.expm1(-2 * t)), 1e-2)
        fd = np.empty_like(x)
        for j in range(d):
            e = np.zeros(d)
            e[j] = h
            fd[:, j] = (p.logpdf(t, x + e) - p.logpdf(t, x - e)) / (2 * h)
        np.testing.assert_allclose(p.score(t, x), fd, rtol=1e-7, atol=1e-7)  # measured: <= 3e-10


# --- the mixture against the direct d-dimensional formula ----------------------------------------------------------

@pytest.mark.parametrize("t", [0.0, 0.2, 1.0, 5.0])
def test_mixture_pdf_and_score_match_the_direct_formula(t):
    d, mu, q1 = 4, 2.5, 0.3
    u = random_direction(d, seed=11)
    p = two_mode_nd(mu, d, (q1, 1 - q1), direction=u * 3.0)  # normalised inside
    np.testing.assert_allclose(p.direction, u, atol=1e-15)
    r = np.exp(-t)
    s2 = r**2 * 1.0 + (1 - r**2)  # OU keeps unit variance
    x = 2.5 * np.random.default_rng(1).standard_normal((50, d))
    comps = [(q1, -mu * r * u), (1 - q1, mu * r * u)]
    ref = sum(q * stats.multivariate_normal(m, s2 * np.eye(d)).pdf(x) for q, m in comps)
    np.testing.assert_allclose(p.pdf(t, x), ref, rtol=1e-12, atol=0)
    logc = np.stack([np.log(q) + stats.multivariate_normal(m, s2 * np.eye(d)).logpdf(x) for q, m in comps])
    resp = np.exp(logc - special.logsumexp(logc, axis=0))
    score_ref = sum(resp[k][:, None] * (-(x - m) / s2) for k, (_, m) in enumerate(comps))
    np.testing.assert_allclose(p.score(t, x), score_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("t", [0.0, 0.3, 1.5])
def test_product_of_gaussians_in_a_general_frame_matches_the_direct_formula(t):
    # Factors q1 N(-µ, 1) + q2 N(µ, 1), N(a, v2), N(b, v3) in the frame of a non-symmetric orthogonal Q:
    # p_t = Σ_k q_k N(Q m_k(t), Q diag(v(t)) Qᵀ) with m(t) = r m, v(t) = r² v + σ_t².
    d, mu, q1 = 3, 1.7, 0.35
    sde = ou()
    Q = _random_orthogonal(d, seed=21)
    p = ProductTarget([two_mode(mu, (q1, 1 - q1), sde=sde), gaussian(0.5, 2.0, sde=sde),
                       gaussian(-1.0, 0.5, sde=sde)], Q=Q)
    r, sig2 = np.exp(-t), -np.expm1(-2 * t)
    cov = Q @ np.diag(r**2 * np.array([1.0, 2.0, 0.5]) + sig2) @ Q.T
    comps = [(q1, Q @ (r * np.array([-mu, 0.5, -1.0]))), (1 - q1, Q @ (r * np.array([mu, 0.5, -1.0])))]
    x = 2.0 * np.random.default_rng(2).standard_normal((40, d))
    logc = np.stack([np.log(q) + stats.multivariate_normal(m, cov).logpdf(x) for q, m in comps])
    np.testing.assert_allclose(p.logpdf(t, x), special.logsumexp(logc, axis=0), rtol=1e-12, atol=1e-12)
    resp = np.exp(logc - special.logsumexp(logc, axis=0))
    score_ref = sum(resp[k][:, None] * -np.linalg.solve(cov, (x - m).T).T for k, (_, m) in enumerate(comps))
    np.testing.assert_allclose(p.score(t, x), score_ref, rtol=1e-10, atol=1e-12)
    # The sample covariance is Q diag(v(t)) Qᵀ plus the mixture's spread along Q e1.
    xs = p.sample(40_000, np.random.default_rng(4), t)
    full = cov + 4 * q1 * (1 - q1) * (r * mu) ** 2 * np.outer(Q[:, 0], Q[:, 0])
    np.testing.assert_allclose(np.cov(xs.T), full, atol=0.08)


# --- KL(p_t ‖ π) and the Fisher information against Monte Carlo ----------------------------------------------------

@pytest.mark.parametrize("t", [0.0, 0.5])
def test_kl_to_prior_matches_monte_carlo(t):
    d, n = 3, 20_000
    rng = np.random.default_rng(5)
    for p in _targets(d, random_direction(d, seed=2)):
        x = p.sample(n, rng, t)
        log_ratio = p.logpdf(t, x) - stats.multivariate_normal(np.zeros(d), np.eye(d)).logpdf(x)
        mc, se = log_ratio.mean(), log_ratio.std(ddof=1) / np.sqrt(n)
        kl = p.kl_to_prior(t)
        assert kl > 0.05
        assert abs(kl - mc) < 5 * se, (p.name, t, kl, mc, se)


@pytest.mark.parametrize("t", [0.1, 1.0])
def test_fisher_information_matches_monte_carlo(t):
    d, n = 3, 20_000
    rng = np.random.default_rng(6)
    for p in _targets(d, random_direction(d, seed=4)):
        sq = np.sum(p.score(t, p.sample(n, rng, t)) ** 2, axis=-1)
        mc, se = sq.mean(), sq.std(ddof=1) / np.sqrt(n)
        assert abs(p.fisher_information(t) - mc) < 5 * se, (p.name, t, p.fisher_information(t), mc, se)


def test_kl_and_fisher_do_not_depend_on_the_direction():
    d, t = 3, 0.3
    dirs = [None, -np.eye(d)[0], random_direction(d, seed=0), random_direction(d, seed=9)]
    for build in (lambda u: two_mode_nd(2.0, d, (0.3, 0.7), direction=u),
                  lambda u: two_bumps_nd(1.5, d, (0.4, 0.6), direction=u)):
        kls = [build(u).kl_to_prior(t) for u in dirs]
        fis = [build(u).fisher_information(t) for u in dirs]
        np.testing.assert_allclose(kls, kls[0], rtol=1e-12)
        np.testing.assert_allclose(fis, fis[0], rtol=1e-12)
    # The standard normal factors add 0 to the KL and 1 each to the Fisher information.
    p1, pd = two_mode(2.0, (0.3, 0.7)), two_mode_nd(2.0, d, (0.3, 0.7), direction=dirs[2])
    assert pd.kl_to_prior(t) == pytest.approx(p1.kl_to_prior(t), rel=1e-12, abs=1e-15)
    assert pd.fisher_information(t) == pytest.approx(p1.fisher_information(t) + (d - 1), rel=1e-9)


# --- sample moments ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("t", [0.0, 0.7])
def test_sample_moments(t):
    d, n, mu, q1, s, k = 5, 40_000, 2.0, 0.3, 0.8, 2
    u = random_direction(d, seed=12)
    r, sig2 = np.exp(-t), -np.expm1(-2 * t)
    rng = np.random.default_rng(8)
    cases = [(two_mode_nd(mu, d, (q1, 1 - q1), direction=u), 1.0),
             (two_bumps_nd(mu, d, (q1, 1 - q1), scale=s, k=k, direction=u), s**2 / (2 * k + 3))]
    for p, var0 in cases:
        mean = r * mu * (1 - 2 * q1) * u
        cov = r**2 * (var0 * np.eye(d) + 4 * q1 * (1 - q1) * mu**2 * np.outer(u, u)) + sig2 * np.eye(d)
        x = p.sample(n, rng, t)
        assert x.shape == (n, d)
        np.testing.assert_array_less(np.abs(x.mean(0) - mean), 5 * np.sqrt(np.diag(cov) / n))
        xc = x - mean
        prods = xc[:, :, None] * xc[:, None, :]
        se = prods.std(axis=0, ddof=1) / np.sqrt(n)
        np.testing.assert_array_less(np.abs(prods.mean(0) - cov), 5 * se + 1e-12)

@pytest.mark.parametrize("t", [0.0, 0.7])
def test_gaussian_mixture_reproduces_the_target_pdf(t):
    d = 4
    sde = ou()
    targets = [two_mode_nd(3.0, d, direction=random_direction(d, 0), sde=sde),
               ProductTarget([two_mode(1.5, (0.3, 0.7), sde=sde), gaussian(0.5, 1.0, sde=sde), two_mode(2.0, sde=sde)],
                             frame(random_direction(3, 4)))]
    for p in targets:
        means, weights, var0 = p.gaussian_mixture()
        assert means.shape == (weights.size, p.dim) and var0 == 1.0
        assert abs(weights.sum() - 1.0) < 1e-15
        r = np.exp(-t)
        s2 = r**2 * var0 + (1 - r**2)
        x = 2.0 * np.random.default_rng(2).standard_normal((40, p.dim))
        ref = sum(q * stats.multivariate_normal(r * c, s2 * np.eye(p.dim)).pdf(x) for q, c in zip(weights, means))
        np.testing.assert_allclose(ref, p.pdf(t, x), rtol=1e-12, atol=0)
    assert targets[0].gaussian_mixture()[0].shape == (2, d)
    np.testing.assert_allclose(targets[0].gaussian_mixture()[0], [-3.0 * targets[0].direction, 3.0 * targets[0].direction],
                               atol=1e-14)


def test_gaussian_mixture_is_none_for_bumps_and_unequal_variances():
    assert two_bumps_nd(1.5, 3).gaussian_mixture() is None
    assert ProductTarget([gaussian(0.0, 1.0), gaussian(0.0, 2.0)]).gaussian_mixture() is None


# --- the bump product: compact support, finite score inside -------------------------------------------------------

def test_bump_product_has_compact_support_and_a_finite_score_inside():
    d, mu, s = 3, 1.5, 1.0
    p = two_bumps_nd(mu, d, (0.4, 0.6), scale=s, direction=random_direction(d, seed=5))
    rng = np.random.default_rng(3)
    inside = p.sample(500, rng)
    y = p.to_frame(inside)
    assert np.all(np.abs(np.abs(y[:, 0]) - mu) <= s) and np.all(np.abs(y[:, 1:]) <= s)
    assert np.all(p.pdf(0.0, inside) > 0)
    assert np.all(np.isfinite(p.score(0.0, inside)))
    # Outside: push one frame coordinate past its bump (between the modes, or beyond a half-width).
    out = y.copy()
    out[:100, 0] = rng.uniform(-mu + s + 1e-9, mu - s - 1e-9, 100)
    out[100:200, 1] = rng.choice([-1, 1], 100) * rng.uniform(s + 1e-9, 3 * s, 100)
    out[200:300, 2] = rng.choice([-1, 1], 100) * rng.uniform(s + 1e-9, 3 * s, 100)
    out[300:400, 0] = np.sign(out[300:400, 0]) * rng.uniform(mu + s + 1e-9, 10.0, 100)
    x_out = out[:400] @ p.Q.T
    assert np.all(p.pdf(0.0, x_out) == 0) and np.all(p.logpdf(0.0, x_out) == -np.inf)
    with pytest.raises(ValueError, match="support"):
        p.score(0.0, x_out[:5])
    # Diffusion spreads the mass everywhere: positive density and a finite score at t > 0.
    assert np.all(p.pdf(0.2, x_out) > 0) and np.all(np.isfinite(p.score(0.2, x_out)))


# --- frames, directions, validation --------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 2, 5, 20])
def test_frame_is_orthogonal_with_first_column_u(d):
    e1 = np.eye(d)[0]
    near = e1 + 1e-13 * random_direction(d, seed=1)
    for v in [e1, -e1, near, -near, random_direction(d, seed=2), 7.0 * random_direction(d, seed=3)]:
        Q = frame(v)
        np.testing.assert_allclose(Q.T @ Q, np.eye(d), atol=1e-14)
        np.testing.assert_allclose(Q[:, 0], v / np.linalg.norm(v), atol=1e-14)
    assert np.array_equal(frame(e1), np.eye(d))


def test_random_direction_is_seeded_and_uniform():
    us = np.stack([random_direction(3, seed=s) for s in range(4000)])
    np.testing.assert_allclose(np.linalg.norm(us, axis=1), 1.0, atol=1e-15)
    assert np.array_equal(random_direction(3, seed=17), random_direction(3, seed=17))
    # Uniform on S²: mean 0 and second moment I/3 (each within 5 standard errors).
    np.testing.assert_array_less(np.abs(us.mean(0)), 5 * np.sqrt(1 / 3 / len(us)))
    np.testing.assert_allclose(np.mean(us**2, 0), 1 / 3, atol=5 * np.sqrt(4 / 45 / len(us)))


def test_distinct_but_equal_sdes_are_shared_and_identical_factors_grouped():
    p = ProductTarget([two_mode(2.0), gaussian(0.0, 1.0), gaussian(0.0, 1.0)])  # three ou() objects
    assert p.dim == 3 and p.sde.T == 5.0
    g = gaussian(0.0, 1.0)
    q = ProductTarget([two_mode(2.0, sde=g.sde), g, g])
    x = np.random.default_rng(0).standard_normal((10, 3))
    np.testing.assert_allclose(q.logpdf(0.5, x), p.logpdf(0.5, x), rtol=1e-14)
    np.testing.assert_allclose(q.score(0.5, x), p.score(0.5, x), rtol=1e-14)


def test_invalid_inputs_raise_value_errors_naming_the_parameter():
    f, g = two_mode(2.0), gaussian(0.0, 1.0)
    with pytest.raises(ValueError, match="factors"):
        ProductTarget([])
    with pytest.raises(ValueError, match="factors"):
        ProductTarget([f, "not a target"])
    with pytest.raises(ValueError, match="sde"):
        ProductTarget([f, gaussian(0.0, 1.0, sde=ou(3.0))])
    with pytest.raises(ValueError, match="Q"):
        ProductTarget([f, g], Q=np.eye(3))
    with pytest.raises(ValueError, match="Q"):
        ProductTarget([f, g], Q=[[1.0, 0.0], [0.0, 1.0 + 1e-8]])
    with pytest.raises(ValueError, match="Q"):
        ProductTarget([f, g], Q=[[np.nan, 0.0], [0.0, 1.0]])
    ProductTarget([f, g], Q=frame([1.0, 2.0]))  # orthogonal to rounding: accepted
    p = ProductTarget([f, g])
    for bad in (np.zeros(2), np.zeros((4, 3)), np.zeros((4, 1))):
        with pytest.raises(ValueError, match="x"):
            p.logpdf(0.1, bad)
    with pytest.raises(ValueError, match="direction"):
        two_mode_nd(2.0, 3, direction=np.zeros(3))
    with pytest.raises(ValueError, match="direction"):
        two_bumps_nd(2.0, 3, direction=np.ones(2))
    with pytest.raises(ValueError, match="d must"):
        two_mode_nd(2.0, 0)
    with pytest.raises(ValueError, match="d must"):
        random_direction(2.5)
    with pytest.raises(ValueError, match="mu"):
        two_mode_nd(-1.0, 2)
    with pytest.raises(ValueError, match="mu"):
        two_bumps_nd(0.5, 2, scale=1.0)
