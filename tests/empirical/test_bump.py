"""The compactly supported Theorem-1 target against direct convolution (scipy quad over x0), Monte Carlo
with the exact sampler, closed-form moments and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from empirical.targets import Bump1D, bump, two_bumps
from empirical.quadrature import gl_panels

TS = [1e-6, 1e-3, 0.05, 0.5, 2.0, 5.0]


def _target() -> Bump1D:
    return two_bumps(2.0, 1.0, (0.3, 0.7), k=3)


def _pdf_by_convolution(b: Bump1D, t: float, x: float) -> float:
    """p_t(x) = ∫ p0(x0) N(x; r x0, σ_t²) dx0 with adaptive quadrature over each component's support."""
    r, s = np.exp(-t), np.sqrt(-np.expm1(-2 * t))
    total = 0.0
    for c, h in zip(b.centers, b.scales):
        peak = [x / r] if abs(x / r - c) < h else None
        f = lambda x0: b.pdf(0.0, np.array([x0]))[0] * stats.norm.pdf(x, r * x0, s)  # noqa: E731
        total += integrate.quad(f, c - h, c + h, points=peak, epsabs=0, epsrel=1e-11, limit=500)[0]
    return total


@pytest.mark.parametrize("t", TS)
def test_density_matches_direct_convolution_also_at_small_t(t):
    b = _target()
    r = np.exp(-t)
    x = r * np.array([-2.9, -1.2, -0.2, 0.0, 1.1, 2.0, 2.99])
    ref = np.array([_pdf_by_convolution(b, t, xi) for xi in x])
    np.testing.assert_allclose(b.pdf(t, x), ref, rtol=1e-9, atol=1e-300)
    # between the supports at tiny t the density underflows in the reference; logpdf stays finite there
    ok = ref > 1e-250
    np.testing.assert_allclose(b.logpdf(t, x[ok]), np.log(ref[ok]), rtol=0, atol=1e-9)
    assert np.all(np.isfinite(b.logpdf(t, x)))


def test_density_at_t0_is_the_normalised_bump():
    b = bump(0.5, 2.0, k=2)
    y = np.linspace(-0.9, 0.9, 7)
    ref = special.gamma(3.5) / (np.sqrt(np.pi) * special.gamma(3)) * (1 - y**2) ** 2 / 2.0
    np.testing.assert_allclose(b.pdf(0.0, 0.5 + 2.0 * y), ref, rtol=1e-13)
    assert integrate.quad(lambda x: b.pdf(0.0, np.array([x]))[0], -1.5, 2.5)[0] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("t", [0.0, *TS])
def test_total_moments_match_closed_form(t):
    # E Y = 0, E Y² = 1/(2k+3) for Y ~ Z(1-y²)^k; X_t = r(c + sY) + σε.
    b, k = _target(), 3
    r, s2 = np.exp(-t), -np.expm1(-2 * t)
    m1 = np.sum(b.weights * b.centers)
    m2 = np.sum(b.weights * (b.centers**2 + b.scales**2 / (2 * k + 3)))
    f0, f1, f2 = b.partial_moments(t, np.array([1e3]))
    assert (f0[0], f1[0], f2[0]) == pytest.approx((1.0, r * m1, r * r * m2 + s2), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("t", TS[1:])
def test_partial_moments_match_panel_quadrature_of_the_density(t):
    # reference: composite Gauss-Legendre of x^j p_t(x) split at the edges of the two supports
    b, r = _target(), np.exp(-t)
    lo = b.support(t)[0]
    z = r * np.array([-2.5, -0.4, 1.3, 3.05])
    sig = np.sqrt(-np.expm1(-2 * t))
    edges = np.concatenate([[lo], r * np.array([-3.0, -1.0, 1.0, 3.0])])
    F = b.partial_moments(t, z)
    for i, zi in enumerate(z):
        cuts = np.append(edges[edges < zi], zi)
        x, w = (np.concatenate(p) for p in zip(*(gl_panels(a, c, max(8, int((c - a) / (0.25 * sig))) )
                                                  for a, c in zip(cuts[:-1], cuts[1:]))))
        p = b.pdf(t, x)
        for j in range(3):
            assert F[j][i] == pytest.approx(np.sum(w * x**j * p), rel=1e-9, abs=1e-13)


@pytest.mark.parametrize("t", [0.0, 0.01, 0.5])
def test_exact_sampler_agrees_with_the_cdf(t):
    b = _target()
    x = b.sample(20_000, np.random.default_rng(12), t)
    res = stats.kstest(x, lambda z: b.cdf(t, np.asarray(z)))
    assert res.pvalue > 1e-3
    again = b.sample(20_000, np.random.default_rng(12), t)
    np.testing.assert_array_equal(x, again)


@settings(max_examples=12)
@given(st.sampled_from(TS), st.floats(-2.8, 2.8))
def test_score_and_its_derivative_match_finite_differences(t, x):
    b = _target()
    x = np.array([x * np.exp(-t)])
    if t < 1e-2:
        x = x[np.abs(np.abs(x) - 2 * np.exp(-t)) < 0.9]  # inside the support, away from its edges
    h = 1e-6 * max(np.sqrt(-np.expm1(-2 * t)), 1e-2)
    fd = (b.logpdf(t, x + h) - b.logpdf(t, x - h)) / (2 * h)
    np.testing.assert_allclose(b.score(t, x), fd, rtol=1e-5, atol=1e-5)
    fd2 = (b.score(t, x + h) - b.score(t, x - h)) / (2 * h)
    np.testing.assert_allclose(b.score_dx(t, x), fd2, rtol=1e-4, atol=1e-4 / h * 1e-6)


@pytest.mark.parametrize("t", [0.05, 0.5, 5.0])
def test_fisher_information_matches_monte_carlo(t):
    b = _target()
    x = b.sample(40_000, np.random.default_rng(4), t)
    s2 = b.score(t, x) ** 2
    assert b.fisher_information(t) == pytest.approx(s2.mean(), abs=4.5 * s2.std() / np.sqrt(x.size))


def test_fisher_information_tends_to_its_t0_closed_form():
    # At t = 0 for one bump of scale 1: ∫ B'²/B = Z ∫ 4k² y² (1-y²)^{k-2} dy.
    k = 3
    b = bump(0.0, 1.0, k=k)
    Z = special.gamma(k + 1.5) / (np.sqrt(np.pi) * special.gamma(k + 1))
    ref = Z * integrate.quad(lambda y: 4 * k * k * y * y * (1 - y * y) ** (k - 2), -1, 1)[0]
    assert b.fisher_information(0.0) == pytest.approx(ref, rel=1e-12)
    assert b.fisher_information(1e-6) == pytest.approx(ref, rel=1e-3)


def test_kl_to_prior_matches_adaptive_quadrature():
    b = _target()

    def integrand(x: float) -> float:
        lp = b.logpdf(5.0, np.array([x]))[0]
        return np.exp(lp) * (lp - stats.norm.logpdf(x))

    ref = integrate.quad(integrand, -14, 14, epsabs=1e-15, epsrel=1e-9, limit=200)[0]
    assert b.kl_to_prior() == pytest.approx(ref, rel=1e-7)
    assert b.kl_to_prior(0.5) > b.kl_to_prior(2.0) > b.kl_to_prior()


@pytest.mark.parametrize(
    "kwargs, word",
    [(dict(k=1), "k"), (dict(scales=np.array([0.0, 1.0])), "scales"), (dict(weights=np.array([0.5, 0.6])), "weights"),
     (dict(order=4), "order")],
)
def test_bad_parameters_raise(kwargs, word):
    base = dict(centers=np.array([-2.0, 2.0]), scales=np.array([1.0, 1.0]), weights=np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match=word):
        Bump1D(**{**base, **kwargs})


def test_score_outside_the_support_at_t0_and_bad_t_raise():
    b = _target()
    with pytest.raises(ValueError, match="support"):
        b.score(0.0, np.array([10.0]))
    with pytest.raises(ValueError, match="t must be"):
        b.pdf(-1.0, np.array([0.0]))
    with pytest.raises(ValueError, match="mu"):
        two_bumps(0.5, 1.0)


def test_the_memoised_fisher_information_is_that_of_its_own_bump():
    """The per-process memo is keyed by p_t's exact parameters: bumps differing in half-width, weights, k or
    quadrature order, or the same bump at another t, each get their own quadrature's value."""
    from empirical.targets.bump import Bump1D

    bumps = [bump(0.0, 1.0), bump(0.0, 2.0), bump(0.0, 1.0, k=3), Bump1D([0.0], [1.0], [1.0], order=32),
             Bump1D([-1.0, 1.0], [0.5, 0.5], [0.3, 0.7]), Bump1D([-1.0, 1.0], [0.5, 0.8], [0.3, 0.7])]
    for p in bumps + bumps:  # the second pass reads the memo
        for t in (0.05, 0.5):
            assert p.fisher_information(t) == p._fisher(t)
    values = {p.fisher_information(0.05) for p in bumps}
    assert len(values) == len(bumps)
