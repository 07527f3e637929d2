"""Exact Gaussian ReLU moments (empirical/rf/gaussian_relu.py) against independent references.

References: the arc-cosine kernel of Cho & Saul (2009) at μ = 0; scipy's bivariate normal CDF;
quadrature (an iterated 1-D integral whose inner Gaussian integral is done by hand, and scipy's
dblquad); Monte Carlo; the one-variable moments at ρ = ±1; the σ = 0 limits.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from empirical.rf.gaussian_relu import bivariate_normal_cdf, relu_mean, relu_positive_prob, relu_product_moment

SQRT_2PI = np.sqrt(2 * np.pi)


def _phi(x):
    return np.exp(-0.5 * x * x) / SQRT_2PI


def _iterated(h1: float, h2: float, rho: float) -> float:
    """E[relu(y1 + h1) relu(y2 + h2)], y standard with correlation ρ: y2 = ρ y1 + r e, the e-integral
    E[relu(ρ y1 + h2 + r e)] = m Φ(m/r) + r φ(m/r) by hand, the y1-integral by adaptive quadrature."""
    r = np.sqrt((1 - rho) * (1 + rho))

    def integrand(y):
        m = rho * y + h2
        return _phi(y) * (y + h1) * (m * special.ndtr(m / r) + r * _phi(m / r))

    lo = -h1
    kink = [-h2 / rho] if rho != 0 and lo < -h2 / rho < max(lo, 0) + 40 else None
    return integrate.quad(integrand, lo, max(lo, 0) + 40, epsabs=0, epsrel=1e-13, limit=500, points=kink)[0]


def _random_points(n: int, seed: int):
    rng = np.random.default_rng(seed)
    h = rng.uniform(-8, 8, (n, 2))
    rho = rng.uniform(-0.999, 0.999, n)
    rho[:4] = [0.999, -0.999, 0.99, -0.99]
    return h, rho


def test_mean_and_positive_probability_against_quadrature_and_limits():
    for mu, sigma in [(0.3, 1.2), (-2.0, 0.5), (4.0, 2.0), (-0.1, 3.0)]:
        pdf = lambda x: stats.norm.pdf(x, mu, sigma)  # noqa: E731
        ref = integrate.quad(lambda x: x * pdf(x), 0, np.inf, epsabs=0, epsrel=1e-12)[0]
        assert relu_mean(mu, sigma) == pytest.approx(ref, rel=1e-10)
        assert relu_positive_prob(mu, sigma) == pytest.approx(stats.norm.sf(0, mu, sigma), rel=1e-12)
    assert relu_mean([-1.0, 0.0, 2.5], 0.0).tolist() == [0.0, 0.0, 2.5]
    assert relu_positive_prob([-1.0, 0.0, 2.5], 0.0).tolist() == [0.0, 0.0, 1.0]
    assert np.all(np.isfinite(relu_mean([-40.0, 40.0, 1e6], 1.0)))
    with pytest.raises(ValueError):
        relu_mean(0.0, -1.0)


@pytest.mark.parametrize("rho", np.linspace(-1, 1, 21))
def test_arc_cosine_kernel_at_zero_mean(rho):
    s1, s2 = 0.7, 1.9
    kernel = s1 * s2 / (2 * np.pi) * (np.sqrt(max(1 - rho * rho, 0.0)) + (np.pi - np.arccos(rho)) * rho)
    assert relu_product_moment(0.0, 0.0, s1, s2, rho) == pytest.approx(kernel, rel=1e-13, abs=1e-16)


def test_bivariate_cdf_against_scipy():
    rng = np.random.default_rng(1)
    h = rng.uniform(-4, 4, (60, 2))
    rho = rng.uniform(-0.999, 0.999, 60)
    h[:3] = [[0.0, 0.0], [0.0, -1.5], [2.0, 0.0]]
    got = bivariate_normal_cdf(h[:, 0], h[:, 1], rho)
    ref = [stats.multivariate_normal.cdf(x, cov=[[1, c], [c, 1]], abseps=1e-12, releps=1e-12) for x, c in zip(h, rho)]
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-7)
    assert bivariate_normal_cdf(0.0, 0.0, 0.5) == pytest.approx(1 / 3, rel=1e-15)
    # |ρ| = 1: comonotone and countermonotone limits
    assert bivariate_normal_cdf(0.4, -0.2, 1.0) == pytest.approx(special.ndtr(-0.2), rel=1e-15)
    assert bivariate_normal_cdf(0.4, -0.2, -1.0) == pytest.approx(special.ndtr(0.4) - special.ndtr(0.2), rel=1e-13)
    assert bivariate_normal_cdf(-0.4, 0.2, -1.0) == 0.0


def test_product_moment_against_quadrature():
    """Absolutely to 1e-14 of σ1σ2(1 + h1² + h2²) everywhere (|h| ≤ 8, |ρ| ≤ 0.999); relatively to
    1e-8 wherever the moment is at least 1e-6 of that scale (below it, the far lower tail, the closed
    form cancels and only the absolute bound is claimed)."""
    h, rho = _random_points(160, seed=2)
    sigma = np.random.default_rng(3).uniform(0.2, 3.0, (160, 2))
    got = relu_product_moment(h[:, 0] * sigma[:, 0], h[:, 1] * sigma[:, 1], sigma[:, 0], sigma[:, 1], rho)
    ref = np.array([_iterated(a, b, c) for (a, b), c in zip(h, rho)]) * sigma.prod(axis=1)
    scale = sigma.prod(axis=1) * (1 + (h**2).sum(axis=1))
    assert np.all(np.isfinite(got)) and np.all(got >= 0)
    assert np.max(np.abs(got - ref) / scale) < 1e-14
    big = ref >= 1e-6 * scale
    assert big.sum() > 80
    np.testing.assert_allclose(got[big], ref[big], rtol=1e-8, atol=0)


def test_product_moment_against_dblquad():
    for h1, h2, rho in [(0.5, -1.0, 0.3), (-2.0, 1.5, -0.7), (3.0, 2.0, 0.95), (1.0, -0.5, -0.999)]:
        r = np.sqrt(1 - rho * rho)
        lower = lambda y: -(rho * y + h2) / r  # noqa: E731  (the e-kink of the second ReLU)
        f = lambda e, y: _phi(y) * _phi(e) * (y + h1) * (rho * y + r * e + h2)  # noqa: E731
        ref = integrate.dblquad(f, -h1, max(-h1, 0) + 12, lower, lambda y: max(lower(y), 0) + 12,
                                epsabs=0, epsrel=1e-11)[0]
        assert relu_product_moment(h1, h2, 1.0, 1.0, rho) == pytest.approx(ref, rel=1e-8)


def test_product_moment_against_monte_carlo():
    rng = np.random.default_rng(4)
    for mu1, mu2, s1, s2, rho in [(0.2, -0.4, 1.0, 0.5, 0.6), (-1.0, 1.5, 2.0, 1.0, -0.8), (0.0, 0.0, 1.0, 1.0, 0.0)]:
        y = rng.standard_normal((2, 1_000_000))
        z1 = mu1 + s1 * y[0]
        z2 = mu2 + s2 * (rho * y[0] + np.sqrt(1 - rho * rho) * y[1])
        prod = np.maximum(z1, 0) * np.maximum(z2, 0)
        se = prod.std() / np.sqrt(prod.size)
        assert abs(relu_product_moment(mu1, mu2, s1, s2, rho) - prod.mean()) < 5 * se


@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (1.3, 0.4), (-2.5, 1.1), (7.0, 1.0), (-7.0, 1.0)])
def test_rho_one_is_the_second_moment_and_rho_minus_one_the_reflection(mu, sigma):
    h = mu / sigma
    second = (mu * mu + sigma * sigma) * special.ndtr(h) + mu * sigma * _phi(h)
    assert relu_product_moment(mu, mu, sigma, sigma, 1.0) == pytest.approx(second, rel=1e-12, abs=1e-300)
    # relu(z) relu(−z) = 0: with ρ = −1 and μ2 = −μ1, z2 = −z1
    assert relu_product_moment(mu, -mu, sigma, sigma, -1.0) == pytest.approx(0.0, abs=1e-15)
    # continuity: |ρ| → 1 approaches the limit
    assert relu_product_moment(mu, mu, sigma, sigma, 1 - 1e-12) == pytest.approx(second, rel=1e-5, abs=1e-15)
    # ρ = 1 with unequal h: the same y drives both, one 1-D integral
    ref = integrate.quad(lambda y: _phi(y) * max(mu + sigma * y, 0) * max(0.5 + 2 * y, 0), -12, 12,
                         points=[-h, -0.25], epsabs=0, epsrel=1e-12)[0]
    assert relu_product_moment(mu, 0.5, sigma, 2.0, 1.0) == pytest.approx(ref, rel=1e-9, abs=1e-15)


def test_zero_sigma_is_a_constant_feature():
    assert relu_product_moment(1.5, 0.3, 0.0, 2.0, 0.4) == pytest.approx(1.5 * relu_mean(0.3, 2.0), rel=1e-15)
    assert relu_product_moment(0.3, -1.5, 2.0, 0.0, 0.4) == 0.0
    assert relu_product_moment(2.0, 3.0, 0.0, 0.0, -1.0) == 6.0
    # σ → 0 is continuous
    assert relu_product_moment(1.5, 0.3, 1e-9, 2.0, 0.4) == pytest.approx(1.5 * relu_mean(0.3, 2.0), rel=1e-8)


def test_symmetric_in_the_two_features():
    h, rho = _random_points(200, seed=5)
    s = np.random.default_rng(6).uniform(0.1, 2.0, (200, 2))
    a = relu_product_moment(h[:, 0], h[:, 1], s[:, 0], s[:, 1], rho)
    b = relu_product_moment(h[:, 1], h[:, 0], s[:, 1], s[:, 0], rho)
    scale = s.prod(axis=1) * (1 + (h**2).sum(axis=1))
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=0)  # only the far-tail cancellation breaks exact symmetry
    assert np.max(np.abs(a - b) / scale) < 1e-15


def test_broadcasting_and_no_nan_at_the_edges():
    mu = np.linspace(-3, 3, 5)
    out = relu_product_moment(mu[:, None, None], mu[None, :, None], 1.0, np.array([0.0, 0.5, 1.0]), 0.3)
    assert out.shape == (5, 5, 3)
    elementwise = [[[relu_product_moment(a, b, 1.0, c, 0.3) for c in (0.0, 0.5, 1.0)] for b in mu] for a in mu]
    np.testing.assert_allclose(out, np.array(elementwise, dtype=float), rtol=1e-15)
    edge = relu_product_moment([-1e3, 1e3, 0.0, 40.0], [1e3, 1e3, 0.0, -40.0], 1.0, [1.0, 1.0, 0.0, 1.0],
                               [1.0, -1.0, 0.0, 0.999999999])
    assert np.all(np.isfinite(edge))
    assert edge[1] == pytest.approx(1e6 - 1, rel=1e-12)  # E[(μ + y)(μ − y)] = μ² − 1
    with pytest.raises(ValueError):
        relu_product_moment(0.0, 0.0, 1.0, 1.0, 1.5)
