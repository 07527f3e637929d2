"""Exact 1-D targets against independent references: quadrature, finite differences, closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from empirical.sde import ou
from empirical.targets import empirical, gaussian, two_mode

mus = st.floats(0.5, 6.0)
q1s = st.floats(0.1, 0.9)
ts = st.floats(1e-3, 5.0)


@given(mus, q1s, ts)
def test_mixture_density_matches_closed_form_ou(mu, q1, t):
    # For OU the mixture keeps unit variance: p_t = q1 N(-mu e^-t, 1) + q2 N(mu e^-t, 1) (docs/theory.md §6).
    g = two_mode(mu, (q1, 1 - q1))
    x = np.linspace(-8, 8, 41)
    ref = q1 * stats.norm.pdf(x, -mu * np.exp(-t), 1) + (1 - q1) * stats.norm.pdf(x, mu * np.exp(-t), 1)
    np.testing.assert_allclose(g.pdf(t, x), ref, rtol=1e-12, atol=1e-300)


@given(mus, q1s, ts)
def test_score_and_its_derivative_match_finite_differences(mu, q1, t):
    g = two_mode(mu, (q1, 1 - q1))
    x = np.linspace(-6, 6, 25)
    h = 1e-5
    np.testing.assert_allclose(g.score(t, x), (g.logpdf(t, x + h) - g.logpdf(t, x - h)) / (2 * h), atol=1e-6)
    np.testing.assert_allclose(g.score_dx(t, x), (g.score(t, x + h) - g.score(t, x - h)) / (2 * h), atol=1e-5)


@given(mus, ts, st.floats(-3, 3))
def test_partial_moments_match_quadrature(mu, t, z):
    g = two_mode(mu, (0.4, 0.6))
    f = g.partial_moments(t, np.array([z]))
    for k in range(3):
        ref = integrate.quad(lambda x: x**k * g.pdf(t, np.array(x)), -60, z, limit=200, epsabs=1e-12)[0]
        assert f[k][0] == pytest.approx(ref, abs=1e-9)


def test_partial_moments_of_point_masses():
    e = empirical(np.array([0.0, 1.0]))
    f0, f1, f2 = e.partial_moments(0.0, np.array([-1.0, 0.5, 2.0]))
    np.testing.assert_allclose(f0, [0, 0.5, 1])
    np.testing.assert_allclose(f1, [0, 0, 0.5])
    np.testing.assert_allclose(f2, [0, 0, 0.5])


@pytest.mark.parametrize("mean,var", [(0.0, 1.0), (1.0, 1.0), (2.0, 0.25)])
def test_kl_to_prior_gaussian_closed_form(mean, var):
    sde = ou(5.0)
    g = gaussian(mean, var, sde=sde)
    r2 = np.exp(-10.0)
    m_T, v_T = mean * np.exp(-5.0), var * r2 + 1 - r2
    ref = 0.5 * (v_T + m_T**2 - 1 - np.log(v_T))
    assert g.kl_to_prior() == pytest.approx(ref, rel=1e-6)


def test_sampling_is_seeded_and_matches_the_law():
    g = two_mode(3.0, (0.3, 0.7))
    a = g.sample(20000, np.random.default_rng(1))
    b = g.sample(20000, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert stats.kstest(a, lambda x: g.cdf(0.0, np.asarray(x))).pvalue > 1e-3


def test_invalid_parameters_are_named():
    with pytest.raises(ValueError, match="mu"):
        two_mode(-1.0)
    with pytest.raises(ValueError, match="weights"):
        two_mode(1.0, (0.5, 0.6))
    with pytest.raises(ValueError, match="T"):
        ou(0.0)


def test_memoised_quadratures_are_those_of_their_own_inputs():
    """The per-process memo of kl_to_prior and fisher_information is keyed by p_t's exact inputs: targets that
    differ only in weights, in t, or in the prior's variance each get their own quadrature's value."""
    from empirical.sde import ve
    from empirical.targets import GaussianMixture1D

    a = GaussianMixture1D(means=[-2.0, 2.0], variances=[0.5, 0.5], weights=[0.5, 0.5])
    b = GaussianMixture1D(means=[-2.0, 2.0], variances=[0.5, 0.5], weights=[0.3, 0.7])
    c = GaussianMixture1D(means=[-2.0, 2.0], variances=[0.5, 0.5], weights=[0.5, 0.5], sde=ve())
    for p in (a, b, c, a, b, c):  # the second pass reads the memo
        for t in (0.05, 0.5, p.sde.T):
            assert p.fisher_information(t) == p._fisher(t, 200_000)
            assert p.kl_to_prior(t) == p._kl_to_prior(t)
    assert a.fisher_information(0.05) != b.fisher_information(0.05) != a.fisher_information(0.5)
    assert a.kl_to_prior(1.0) != c.kl_to_prior(1.0)  # same components at t = 0 only; OU and VE priors differ
    with pytest.raises(ValueError, match="max_panels"):  # an error is not memoised as a value
        gaussian(0.0, 1e-12).fisher_information(0.0, max_panels=10)
