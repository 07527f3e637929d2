"""The one DSM loss (empirical/dsm.py) against numpy and against its closed-form expectation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from empirical.dsm import dsm_per_sample


@pytest.mark.parametrize("shape, sigma_shape", [((7,), (7,)), ((5, 3), (5, 1)), ((4, 1, 28, 28), (4, 1, 1, 1))])
def test_per_sample_sums_match_numpy(shape, sigma_shape):
    rng = np.random.default_rng(0)
    s, z, sig = rng.standard_normal(shape), rng.standard_normal(shape), rng.uniform(0.1, 2.0, sigma_shape)
    expected = ((sig * s + z) ** 2).reshape(shape[0], -1).sum(axis=1)
    got = dsm_per_sample(*(torch.as_tensor(a) for a in (s, sig, z))).numpy()
    assert got.shape == (shape[0],) and np.allclose(got, expected, rtol=1e-13, atol=0)


def test_the_exact_score_of_gaussian_data_gives_the_closed_form_expectation():
    """x0 ~ N(0, a² I_d), x_t = r x0 + σ z, s = -x_t / v with v = r² a² + σ²: E|σ s + z|² = d (1 - σ²/v)."""
    d, a, r, sigma, n = 3, 1.7, 0.6, 0.8, 200_000
    gen = torch.Generator().manual_seed(0)
    x0 = a * torch.randn(n, d, generator=gen, dtype=torch.float64)
    z = torch.randn(n, d, generator=gen, dtype=torch.float64)
    v = r * r * a * a + sigma * sigma
    terms = dsm_per_sample(-(r * x0 + sigma * z) / v, torch.full((n, 1), sigma, dtype=torch.float64), z)
    se = float(terms.std()) / np.sqrt(n)
    assert abs(float(terms.mean()) - d * (1 - sigma * sigma / v)) < 5 * se
    # a wrong score (the data's, not the noised law's) is rejected by the same test
    wrong = dsm_per_sample(-(r * x0 + sigma * z) / (a * a), torch.full((n, 1), sigma, dtype=torch.float64), z)
    assert abs(float(wrong.mean()) - d * (1 - sigma * sigma / v)) > 5 * se
