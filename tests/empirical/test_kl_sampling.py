"""Sample-based KL (comparison only): EM sampler moments, binned KL, agreement with Fokker–Planck."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.quadrature import time_steps
from empirical.kl import sde_law
from empirical.kl.sampling import bin_masses, binned_kl, quantile_edges, reverse_sde_samples, sample_kl
from empirical.sde import ou
from empirical.targets import two_mode
from references import GAUSS, LINEAR, bump_perturbed, linear_a, linear_b, linear_score_laws



def test_binned_kl_by_hand() -> None:
    assert binned_kl(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(
        0.5 * np.log(2.0) + 0.5 * np.log(2.0 / 3.0), rel=1e-14)
    assert binned_kl(np.array([0.0, 1.0]), np.array([0.5, 0.5])) == pytest.approx(np.log(2.0))
    assert binned_kl(np.array([0.5, 0.5]), np.array([0.0, 1.0])) == np.inf


def test_quantile_edges_split_the_mass_equally() -> None:
    target = two_mode(3.0, weights=(0.3, 0.7))
    np.testing.assert_allclose(bin_masses(target, 0.0, quantile_edges(target, 0.0, 20)), 0.05, atol=1e-6)


def test_euler_maruyama_moments_match_the_moment_odes() -> None:
    (m, v), _ = linear_score_laws(GAUSS.sde, linear_a, linear_b, 0.0)
    x = reverse_sde_samples(GAUSS.sde, LINEAR, 100_000, time_steps(0.0, 2.0, 500), np.random.default_rng(7))
    se_m, se_v = np.sqrt(v / x.size), v * np.sqrt(2.0 / x.size)
    assert abs(x.mean() - m) < 4 * se_m + 2e-3 and abs(x.var() - v) < 4 * se_v + 2e-3  # + O(dt) EM bias


def _fp_binned(target, score, n_bins: int) -> float:
    law = sde_law(target, score)
    edges = quantile_edges(target, 0.0, n_bins)
    q = np.diff(np.concatenate([[0.0], law.cdf(edges), [1.0]]))
    return float(binned_kl(bin_masses(target, 0.0, edges), q))


def test_sample_estimate_brackets_fokker_planck_linear_score() -> None:
    est, (lo, hi) = sample_kl(GAUSS, LINEAR, n_samples=100_000, n_steps=400, n_bins=20, seed=1)
    assert lo <= _fp_binned(GAUSS, LINEAR, 20) <= hi and lo <= est <= hi


@pytest.mark.slow
def test_sample_estimate_brackets_fokker_planck_two_mode() -> None:
    target = two_mode(2.0, sde=ou(2.0))
    score = bump_perturbed(target, 1.0, 1.0)
    _, (lo, hi) = sample_kl(target, score, n_samples=200_000, n_steps=400, n_bins=40, seed=2)
    assert lo <= _fp_binned(target, score, 40) <= hi


def test_seeded_and_reproducible() -> None:
    kw = dict(n_samples=5_000, n_steps=50, n_bins=10, n_boot=50)
    assert sample_kl(GAUSS, LINEAR, seed=3, **kw) == sample_kl(GAUSS, LINEAR, seed=3, **kw)
    assert sample_kl(GAUSS, LINEAR, seed=3, **kw) != sample_kl(GAUSS, LINEAR, seed=4, **kw)


@pytest.mark.parametrize("kw, name", [({"level": 1.0}, "level"), ({"n_bins": 1}, "n_bins"),
                                      ({"n_boot": 0}, "n_boot"), ({"n_samples": 0}, "n")])
def test_bad_input_names_the_parameter(kw: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        sample_kl(GAUSS, LINEAR, **kw)
