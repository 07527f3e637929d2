"""K1 of Lemma 2 in R^d (issue 9): the exact quadratic form through the d-dimensional population 'g2' loss.

Checked against an independent Monte-Carlo estimate of ½∫_{t0}^T g² E_{p_t}‖s - ∇log p_t‖² dt + KL(p_T‖π)
(64 Gauss-Legendre nodes in t, 100,000 draws of p_t per node); the 1-D path is checked bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from empirical.rf.features import RFScore, draw_features, rf_score
from empirical.rf.flow import gradient_flow
from empirical.kl import kl_score_bound
from empirical.rf.loss import population_loss
from empirical.scores import exact_score
from empirical.targets import random_direction, two_bumps_nd, two_mode, two_mode_nd

D, M, T0 = 3, 16, 1e-3


@pytest.fixture(scope="module")
def trained():
    target = two_mode_nd(2.0, D, (0.3, 0.7), direction=random_direction(D, 2))
    f = draw_features(M, d=D, seed=1)
    A = gradient_flow(population_loss(target, f, "std"), np.array([10.0]))[0]
    return target, f, A


def _monte_carlo_k1(target, score, t0, n_nodes=64, n=100_000, seed=0):
    """(estimate, standard error) of ½∫_{t0}^T g² E_{p_t}‖s - ∇log p_t‖² dt + KL(p_T‖π), Gauss-Legendre in t."""
    sde = target.sde
    u, w = np.polynomial.legendre.leggauss(n_nodes)
    half = 0.5 * (sde.T - t0)
    t_nodes, weights = t0 + half * (u + 1), half * w
    rng = np.random.default_rng(seed)
    means, variances = [], []
    for t in t_nodes:
        x = target.sample(n, rng, t)
        err = np.sum((score(t, x) - target.score(t, x)) ** 2, axis=1)
        means.append(err.mean())
        variances.append(err.var(ddof=1) / n)
    c = 0.5 * weights * sde.g2(t_nodes)
    return float(c @ np.array(means)) + target.kl_to_prior(), float(np.sqrt(np.sum(c**2 * np.array(variances))))


def test_k1_in_d_matches_monte_carlo(trained):
    target, f, A = trained
    k1 = kl_score_bound(target, RFScore(f, A), T0)
    mc, se = _monte_carlo_k1(target, lambda t, x: f.score(A, t, x), T0)
    assert abs(k1 - mc) < 5 * se, (k1, mc, se, (k1 - mc) / se)
    k1_zero = kl_score_bound(target, RFScore(f, np.zeros((D, M))), T0)
    assert k1 < k1_zero  # training lowers K1


def test_stack_of_models_in_d(trained):
    target, f, A = trained
    loss = population_loss(target, f, "g2", t0=T0)
    stack = np.stack([np.zeros((D, M)), A])
    values = kl_score_bound(target, RFScore(f, stack), T0, loss=loss)
    assert values.shape == (2,)
    assert abs(values[1] / kl_score_bound(target, RFScore(f, A), T0, loss=loss) - 1) < 1e-13  # batched matmul
    assert abs(values[0] - (0.5 * loss.horizon * loss.c + target.kl_to_prior())) < 1e-12 * values[0]


def test_quadrature_in_d_raises_naming_method(trained):
    target, f, A = trained
    with pytest.raises(ValueError, match="method"):
        kl_score_bound(target, RFScore(f, A), T0, method="quadrature")
    with pytest.raises(ValueError, match="method"):
        kl_score_bound(target, exact_score(target), T0)
    with pytest.raises(ValueError, match="samples="):
        kl_score_bound(two_bumps_nd(1.5, D), RFScore(f, A), 0.1)
    with pytest.raises(ValueError, match="loss"):
        kl_score_bound(target, RFScore(f, A), T0, loss=population_loss(target, f, "g2"))  # t0 = 0


def test_1d_k1_is_unchanged_bit_for_bit():
    p, f = two_mode(3.0, (0.4, 0.6)), draw_features(16, seed=1)
    loss = population_loss(p, f, "g2", t0=T0)
    A = loss.minimizer()
    expected = 0.5 * loss.horizon * loss.value(A) + p.kl_to_prior()  # the formula of the 1-D engine
    assert kl_score_bound(p, rf_score(f, A), T0) == float(expected)
    assert kl_score_bound(p, rf_score(f, A), T0, loss=loss) == float(expected)
    # The same model as a 1-D product target goes through the d-dimensional engine: equal to round-off.
    k1_product = kl_score_bound(two_mode_nd(3.0, 1, (0.4, 0.6)), RFScore(f, A), T0)
    assert abs(k1_product / float(expected) - 1) < 1e-10
