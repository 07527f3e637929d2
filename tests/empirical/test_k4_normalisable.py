"""K4 = KL(p_t0 ‖ p_0,θ) with p_0,θ ∝ exp(∫s) (11) exists only when exp(∫s) is normalisable on R: +inf otherwise,
never a value that depends on the integration interval; and the interval is widened when the score points
outwards only at its ends. References: closed-form normalisers of exp(∫s) and scipy quadrature."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate, special

from empirical.kl import integrated_logpdf, kl_integrated
from empirical.kl.divergence import kl_nodes
from empirical.scores import exact_score
from empirical.sde import ou, ve
from empirical.targets import gaussian, two_mode

P = gaussian(0.0, 1.0, sde=ou(1.0))  # p_t = N(0, 1) at every t; K4's interval at t0 = 0 is [-10, 10]


def _inf(score, target=P, t0=None):
    with pytest.warns(RuntimeWarning, match="K4 = \\+inf: .* not normalisable"):
        return kl_integrated(target, score, t0)


@pytest.mark.parametrize("name, score", [
    ("zero", lambda t, x: 0.0 * x),                                   # exp(∫s) = 1
    ("constant", lambda t, x: 1.0 + 0.0 * x),                         # e^x
    ("outward far out", lambda t, x: -x + 0.002 * x**3),              # exp(-x²/2 + x⁴/2000): inward up to |x| = 22
    ("left only", lambda t, x: np.where(x < 0, -0.5, -x)),            # e^{-x/2} on the left: no decay there
])
def test_k4_is_infinite_when_exp_of_the_integrated_score_is_not_normalisable(name, score):
    assert _inf(score) == np.inf


def test_k4_of_a_normalisable_score_is_unchanged_and_finite():
    shifted = exact_score(gaussian(0.2, 1.0, sde=ou(1.0)))  # p_0,θ = N(0.2, 1): K4 = 0.2²/2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kl_integrated(P, shifted) == pytest.approx(0.02, rel=1e-9)


def test_k4_widens_the_interval_when_the_score_points_outwards_only_at_its_ends():
    """s = -x + 20 tanh x points outwards at ±10 and inwards from |x| ≈ 20 on: exp(∫s) = e^{-x²/2} cosh(x)^20 is
    normalisable, with its mass near ±20, outside K4's interval. Its normaliser in closed form (a binomial sum of
    Gaussians) gives K4 = log Z - log √(2π) - 20 E_{N(0,1)} log cosh X; restricting to [-10, 10] would be wrong."""
    score = lambda t, x: -x + 20.0 * np.tanh(x)  # noqa: E731
    k = np.arange(21)
    log_z = special.logsumexp(special.gammaln(21) - special.gammaln(k + 1) - special.gammaln(21 - k)
                              + 0.5 * (20.0 - 2.0 * k) ** 2) - 20 * np.log(2.0) + 0.5 * np.log(2 * np.pi)
    logcosh = integrate.quad(lambda x: np.exp(-x * x / 2) / np.sqrt(2 * np.pi) * np.logaddexp(x, -x) - np.log(2)
                             * np.exp(-x * x / 2) / np.sqrt(2 * np.pi), -40, 40, points=[0.0], limit=200)[0]
    exact = log_z - 0.5 * np.log(2 * np.pi) - 20.0 * logcosh
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k4 = kl_integrated(P, score)
    assert k4 == pytest.approx(exact, rel=1e-9)
    x = np.linspace(-10.0, 10.0, 4001)  # the interval K4 used before: 126.1 against 179.3
    restricted = kl_nodes(P.logpdf(0.0, x), integrated_logpdf(score, 0.0, x), x)
    assert exact - restricted > 50


def test_an_untrained_network_has_no_normalisable_density_and_the_old_value_depended_on_the_interval():
    """The issue's case: an untrained Swish network at t = ε points outwards at both ends of every interval;
    the value restricted to an interval (what K4 reported) grows with the interval."""
    from empirical.training.nets import SwishNet

    target = two_mode(3.0, sde=ve())
    for seed in range(4):
        score = SwishNet(16, sde=ve(), seed=seed).score
        s_ends = score(1e-5, np.array([-845.0, 845.0]))
        if s_ends[0] > 0 and s_ends[1] < 0:
            continue  # this draw happens to point inwards far out
        assert _inf(score, target) == np.inf
        restricted = [kl_nodes(target.logpdf(1e-5, x), integrated_logpdf(score, 1e-5, x), x)
                      for x in (np.linspace(-h, h, 4001) for h in (11.0, 20.0, 40.0))]
        assert len({round(v, 6) for v in restricted}) == 3
        return
    pytest.fail("no untrained network among four seeds pointed outwards")


def test_k4_of_the_random_feature_model_is_finite_where_its_score_points_inwards():
    from empirical.measure import MeasureConfig, measure

    r = measure(MeasureConfig(n=64, m=64, taus=(1.0, 1e3), kl=("K1", "K4"), m_ref_factor=0))
    assert np.all(np.isfinite(r.K["K4"])) and np.all(r.K["K4"] >= 0)


def test_kl_nodes_counts_zero_density_as_zero():
    """p uniform on [-1, 1] (log p = -inf outside, as a compactly supported target at t0 = 0): KL(U ‖ N(0, 1)) =
    log ½ + ½ log 2π + 1/6 (K4 of the bumps at t0 = 0 was NaN before)."""
    x = np.linspace(-3.0, 3.0, 6001)
    with np.errstate(divide="ignore"):
        logp = np.where(np.abs(x) <= 1.0, np.log(0.5), -np.inf)
    logq = -0.5 * x**2 - 0.5 * np.log(2 * np.pi)
    assert kl_nodes(logp, logq, x) == pytest.approx(np.log(0.5) + 0.5 * np.log(2 * np.pi) + 1 / 6, abs=2e-3)
