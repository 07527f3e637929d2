"""The Mehler-series Gram of Gaussian ReLU features against the exact bivariate moments, pair by pair."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from empirical.rf.gaussian_relu import relu_product_moment
from empirical.rf.relu_gram import _coefficients, _second_moment, relu_gram


def _problem(d: int, m: int = 30, n_rows: int = 200, seed: int = 0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, d))
    norms = np.linalg.norm(W, axis=1)
    unit = W / norms[:, None]
    rho = np.clip(unit @ unit.T, -1, 1)
    np.fill_diagonal(rho, 1.0)
    mu = 2.0 * rng.standard_normal((n_rows, m))
    sigma = rng.uniform(0.1, 2.0, (n_rows, m)) * norms
    w = rng.uniform(0.0, 1.0, (2, n_rows))
    half = n_rows // 2
    return rho, mu, sigma, w, lambda: [(mu[:half], sigma[:half], w[:, :half]), (mu[half:], sigma[half:], w[:, half:])]


def _exact(rho, mu, sigma, w):
    m = rho.shape[0]
    iu, ju = np.triu_indices(m)
    moments = relu_product_moment(mu[:, iu], mu[:, ju], sigma[:, iu], sigma[:, ju], rho[iu, ju])
    out = np.zeros((w.shape[0], m, m))
    for k in range(w.shape[0]):
        out[k][iu, ju] = out[k][ju, iu] = w[k] @ moments
    return out


@pytest.mark.parametrize("d", [1, 2, 8, 64])
@pytest.mark.parametrize("rtol", [1e-3, 1e-8, 1e-12])
def test_error_is_below_the_bound_and_the_bound_below_rtol(d, rtol):
    rho, mu, sigma, w, rows = _problem(d)
    g = relu_gram(rows, rho, rtol=rtol)
    exact = _exact(rho, mu, sigma, w)
    err = np.linalg.norm(g.G - exact, axis=(1, 2))
    norm = np.linalg.norm(exact, axis=(1, 2))
    assert np.all(err <= g.error_bound + 1e-13 * norm), (err / norm, g.error_bound / norm)
    assert np.all(g.error_bound <= rtol * norm)
    assert np.array_equal(g.G, np.transpose(g.G, (0, 2, 1)))


def test_the_series_is_used_in_high_d_and_converges_geometrically():
    rho, mu, sigma, w, rows = _problem(64)
    loose, tight = relu_gram(rows, rho, rtol=1e-3), relu_gram(rows, rho, rtol=1e-12)
    assert 0 < loose.terms < tight.terms <= 48 and tight.exact_pairs < rho.size // 10
    exact = _exact(rho, mu, sigma, w)
    assert np.linalg.norm(loose.G - exact) > np.linalg.norm(tight.G - exact)


def test_coefficients_satisfy_parseval_and_the_hermite_projection():
    """Σ ã_l² -> E[relu²] (Parseval), and ã_l = E[relu(μ + σX) He_l(X)]/√l! by Gauss–Hermite quadrature."""
    mu, sigma = np.array([[-1.5, 0.0, 0.7, 3.0]]), np.array([[0.5, 1.0, 2.0, 0.3]])
    coefs = np.concatenate(list(_coefficients(mu, sigma, 200)))
    np.testing.assert_allclose((coefs**2).sum(axis=0), _second_moment(mu, sigma)[0], rtol=1e-3)
    for j in range(mu.shape[1]):
        c = -mu[0, j] / sigma[0, j]  # relu(μ + σx) is smooth on x > c, where quad integrates it
        for l in range(6):
            he = np.polynomial.hermite_e.HermiteE([0] * l + [1])
            ref, _ = integrate.quad(lambda x: (mu[0, j] + sigma[0, j] * x) * he(x) * np.exp(-x * x / 2), c, np.inf,
                                    epsabs=1e-13, epsrel=1e-12)
            assert coefs[l, j] == pytest.approx(ref / np.sqrt(2 * np.pi * math.factorial(l)), rel=1e-9, abs=1e-13)


def test_zero_sigma_features_are_constants():
    rho = np.array([[0.0, 0.0], [0.0, 1.0]])
    mu, sigma = np.array([[0.7, 0.2]]), np.array([[0.0, 1.0]])
    g = relu_gram(lambda: [(mu, sigma, np.ones((1, 1)))], rho, rtol=1e-12)
    np.testing.assert_allclose(g.G[0], _exact(rho, mu, sigma, np.ones((1, 1)))[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kwargs, match", [({"rtol": 0.0}, "rtol"), ({"rtol": 1.5}, "rtol"),
                                           ({"max_terms": 0}, "max_terms")])
def test_bad_arguments_name_the_parameter(kwargs, match):
    rho, _, _, _, rows = _problem(4, m=4, n_rows=4)
    with pytest.raises(ValueError, match=match):
        relu_gram(rows, rho, **kwargs)
    with pytest.raises(ValueError, match="rho"):
        relu_gram(rows, 2 * rho)
