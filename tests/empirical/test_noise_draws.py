"""The empirical loss with k fixed noise draws per point (fixed t nodes): an independent evaluation at small k,
unbiasedness at k = 1, the Monte-Carlo rate k^{-1/2} towards the exact (k = ∞) coefficients, its Gram spectra,
and ``measure --noise-draws``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from empirical.rf.features import draw_features
from empirical.rf.flow import gradient_flow
from empirical.rf.loss import empirical_loss
from empirical.measure import MeasureConfig, make_target, measure, seeds
from empirical.measure.measurement import _stream_seed
from empirical.rf.noise_draws import fixed_time, gram_spectra, gram_spectrum
from empirical.quadrature import time_grid
from empirical.sde import ou
from empirical.targets import two_mode
from verification.cli import main


def test_small_k_matches_an_independent_evaluation_of_the_documented_draws():
    """k = 2 draws per point and node, by explicit loops over (node, point, draw) with the documented draw order
    (per node, one standard-normal block of shape (n k, d), point-major) and the model written out by hand."""
    x = np.array([[-1.0, 0.3], [0.5, 2.0], [2.2, -0.7]])
    f = draw_features(5, d=2, seed=4)
    sde, k, seed = ou(5.0), 2, 11
    L = empirical_loss(x, f, sde, "var", n_t=3, t0=0.1, noise_draws=k, seed=seed)
    grid = time_grid(5.0, 3, 0.1)
    rng = np.random.default_rng(seed)
    m, n = 5, 3
    B1, B2, c = np.zeros((m, m)), np.zeros((m, 2)), 0.0
    for t, w in zip(grid.t, grid.w):
        r, s = np.exp(-t), np.sqrt(1 - np.exp(-2 * t))
        lam = s**2
        eps = rng.standard_normal((n * k, 2))
        for i in range(n):
            for j in range(k):
                e = eps[i * k + j]
                phi = np.maximum(f.W @ (r * x[i] + s * e) + f.U @ np.array([1.0, t / 5.0]), 0.0)
                B1 += w * lam * np.outer(phi, phi) / (n * k * m)
                B2 += w * lam * np.outer(phi, -e / s) / (n * k * np.sqrt(m))
                c += w * lam * np.sum(e**2) / s**2 / (n * k)
    np.testing.assert_allclose(L.B1, B1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(L.B2, B2, rtol=1e-12, atol=1e-15)
    assert L.c == pytest.approx(c, rel=1e-12)


def test_one_draw_is_unbiased_for_the_exact_coefficients():
    """E over the draws of B1_k, B2_k, c_k is the exact (k = ∞) coefficient, already at k = 1: 400 seeds."""
    x = two_mode(3.0).sample(4, np.random.default_rng(0))
    f = draw_features(6, seed=2)
    exact = empirical_loss(x, f, n_t=6, t0=0.05)
    draws = [empirical_loss(x, f, n_t=6, t0=0.05, noise_draws=1, seed=s) for s in range(400)]
    for name in ("B1", "B2"):
        values = np.stack([getattr(d, name) for d in draws])
        se = values.std(axis=0, ddof=1) / np.sqrt(len(draws))
        z = (values.mean(axis=0) - getattr(exact, name)) / np.where(se > 0, se, 1.0)
        assert np.abs(z).max() < 4.5, name  # 21 + 6 entries: the largest of ~27 normal deviates
    cs = np.array([d.c for d in draws])
    assert abs(cs.mean() - exact.c) < 4 * cs.std(ddof=1) / np.sqrt(cs.size)


def test_coefficients_converge_at_the_monte_carlo_rate():
    """‖B1_k - B1_∞‖_F (and B2) averaged over 6 seeds falls as k^{-1/2}: fitted slope in [-0.65, -0.35]."""
    x = two_mode(3.0).sample(8, np.random.default_rng(1))
    f = draw_features(16, seed=3)
    exact = empirical_loss(x, f, n_t=8)
    ks = np.array([2, 8, 32, 128, 512])
    for name in ("B1", "B2"):
        err = [np.mean([np.linalg.norm(getattr(empirical_loss(x, f, n_t=8, noise_draws=int(k), seed=s), name)
                                       - getattr(exact, name)) for s in range(6)]) for k in ks]
        slope = np.polyfit(np.log(ks), np.log(err), 1)[0]
        assert -0.65 < slope < -0.35, (name, slope, err)


def test_fixed_time_loss_is_the_loss_at_one_t():
    x = np.array([-1.0, 0.5, 2.0])
    f = draw_features(6, seed=0)
    one = empirical_loss(x, f, lam="std", grid=fixed_time(5.0, 0.7))
    r, s = np.exp(-0.7), np.sqrt(1 - np.exp(-1.4))
    # exact in the noise at one t: E over N(r x_i, s²) of φφᵀ/m times λ = s, by the trapezoid rule in the noise
    z = np.linspace(-12.0, 12.0, 240_001)
    wz = np.exp(-z**2 / 2) / np.sqrt(2 * np.pi) * (z[1] - z[0])
    B1 = np.zeros((6, 6))
    for xi in x:
        phi = np.maximum(np.outer(r * xi + s * z, f.W[:, 0]) + f.U @ np.array([1.0, 0.7 / 5.0]), 0.0)
        B1 += s * (phi.T * wz) @ phi / (3 * 6)
    np.testing.assert_allclose(one.B1, B1, rtol=1e-6, atol=1e-13)


def test_gram_spectra_rank_at_one_draw_and_convergence_in_k():
    x = two_mode(3.0).sample(5, np.random.default_rng(2))
    f = draw_features(24, seed=1)
    s = gram_spectra(x, f, ks=(1, 4, 16, 256, None), t=0.5, seed=3)
    rank = {k: int(np.sum(v > 1e-10 * v[0])) for k, v in s.items()}
    assert rank[1] <= 5 and rank[4] <= 20 and rank[None] > 20  # n k rank-one terms at one t
    err = [np.abs(s[k] - s[None]).max() for k in (1, 4, 16, 256)]
    assert err[-1] < err[0] and err[-1] < 0.1 * s[None][0]
    full = gram_spectrum(empirical_loss(x, f))
    assert full.shape == (24,) and np.all(np.diff(full) <= 0)


def test_measure_trains_on_the_finite_k_loss():
    c = MeasureConfig(n=8, m=12, taus=(10.0, 1e4), seed=5, kl=("K1",), m_ref_factor=0, noise_draws=3)
    r = measure(c)
    target = make_target(c)
    data_rng, _ = seeds(c.seed)
    x = target.sample(c.n, data_rng)
    loss = empirical_loss(x, r.features, target.sde, noise_draws=3, seed=_stream_seed(c.seed, 5))
    np.testing.assert_allclose(r.A, gradient_flow(loss, c.taus), rtol=1e-12, atol=1e-12)
    exact = measure(MeasureConfig(n=8, m=12, taus=(10.0, 1e4), seed=5, kl=("K1",), m_ref_factor=0))
    assert not np.allclose(r.K["K1"], exact.K["K1"])
    assert r.to_json()["inputs"]["noise_draws"] == 3


def test_cli_noise_draws(capsys):
    argv = ["measure", "--n", "8", "--m", "8", "--tau", "10,1000", "--seed", "0", "--kl", "K1", "--json"]
    assert main(argv + ["--noise-draws", "2"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    b = json.loads(capsys.readouterr().out)
    assert a["inputs"]["noise_draws"] == 2 and "noise_draws" not in b["inputs"] and a["K1"] != b["K1"]


@pytest.mark.parametrize("call, word", [
    (lambda: MeasureConfig(noise_draws=0), "noise_draws"),
    (lambda: MeasureConfig(noise_draws=True), "noise_draws"),
    (lambda: MeasureConfig(noise_draws=2.5), "noise_draws"),
    (lambda: MeasureConfig(noise_draws=10**7), "noise_draws"),
    (lambda: fixed_time(5.0, 0.0), "t must"),
    (lambda: fixed_time(5.0, 6.0), "t must"),
    (lambda: gram_spectra(np.zeros(3), draw_features(4), ks=(0,)), "ks"),
    (lambda: gram_spectra(np.zeros(3), draw_features(4), ks=()), "ks"),
    (lambda: gram_spectrum("B1"), "loss"),
    (lambda: empirical_loss(np.zeros(3), draw_features(4), grid=fixed_time(1.0, 0.5)), "grid"),
])
def test_bad_input_raises_naming_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()
