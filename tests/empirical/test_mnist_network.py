"""The MNIST network route (issue 11): the probability-flow ODE log-density against Gaussian closed forms
(exact trace and Hutchinson), bits/dim on a uniform-dequantised discretised Gaussian, training
determinism, DSM descent, shapes and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from empirical.mnist.likelihood import bits_per_dim, nll_bits_per_dim, ode_logp_z
from empirical.training.devices import resolve_device
from empirical.mnist.network import ScoreNet, dsm_loss, train_score_net
from empirical.sde import ou

T, T0 = 2.0, 1e-2  # a short horizon keeps p_T away from the prior, so its mismatch is tested too


class GaussianScore(torch.nn.Module):
    """Exact score of p0 = N(µ, Q diag(lam) Qᵀ) diffused by OU: -Σ_t⁻¹ (x - r µ), Σ_t = r² Σ + σ_t² I.

    Points are (N, ...) with D = prod(...) coordinates; float64 buffers make the ODE run in float64."""

    def __init__(self, mu: np.ndarray, lam: np.ndarray, Q: np.ndarray | None = None, horizon: float = T):
        super().__init__()
        self.sde = ou(horizon)
        self.register_buffer("mu", torch.as_tensor(mu, dtype=torch.float64))
        self.register_buffer("lam", torch.as_tensor(lam, dtype=torch.float64))
        self.register_buffer("Q", torch.eye(len(lam), dtype=torch.float64) if Q is None
                             else torch.as_tensor(Q, dtype=torch.float64))

    def lam_t(self, t: np.ndarray | torch.Tensor):
        """Eigenvalues of Σ_t."""
        return np.exp(-2 * t) * self.lam.numpy() - np.expm1(-2 * t) if np.ndim(t) == 0 else \
            torch.exp(-2 * t)[:, None] * self.lam - torch.expm1(-2 * t)[:, None]

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        y = (x.flatten(1) - torch.exp(-t)[:, None] * self.mu) @ self.Q
        return (-(y / self.lam_t(t)) @ self.Q.T).view_as(x)

    def flow_logq(self, z: np.ndarray, t0: float) -> np.ndarray:
        """Closed form log q(z): the exact flow is Φ(z) = r_T µ + Q diag(√(λ_T / λ_t0)) Qᵀ (z - r_t0 µ)
        (the covariances commute), so q = Φ⁻¹#N(0, I) and log q = log N(Φ(z); 0, I) + ½ Σ log(λ_T / λ_t0)."""
        mu, Q, ratio = self.mu.numpy(), self.Q.numpy(), self.lam_t(self.sde.T) / self.lam_t(t0)
        y = (z.reshape(len(z), -1) - np.exp(-t0) * mu) @ Q
        phi = np.exp(-self.sde.T) * mu + (y * np.sqrt(ratio)) @ Q.T
        return -0.5 * (phi**2).sum(1) - 0.5 * phi.shape[1] * np.log(2 * np.pi) + 0.5 * np.log(ratio).sum()


def _rotated(D: int, seed: int) -> GaussianScore:
    """A Gaussian with a dense covariance (non-diagonal Jacobian, so Hutchinson is not exact)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    return GaussianScore(rng.normal(0, 1, D), np.geomspace(0.05, 3.0, D), Q)


def test_ode_logp_exact_trace_matches_gaussian_closed_form():
    model = _rotated(4, 0)
    z = np.random.default_rng(1).normal(0, 1.5, (6, 4))
    got = ode_logp_z(model, z, n_probes=None, t0=T0, rtol=1e-8, atol=1e-8)
    # measured max error 1.2e-6 nats at rtol = atol = 1e-8; 6e-4 at the paper's 1e-5
    np.testing.assert_allclose(got, model.flow_logq(z, T0), atol=1e-5)
    paper_tol = ode_logp_z(model, z, n_probes=None, t0=T0)
    np.testing.assert_allclose(paper_tol, model.flow_logq(z, T0), atol=2e-3)


def test_hutchinson_error_is_unbiased_with_the_predicted_spread():
    """With a probe ε fixed along the path the error is exactly εᵀMε - tr M, M = ½∫ g² Σ_t⁻¹ dt =
    Q diag(½ log(λ_T/λ_t0) + (T - t0)) Qᵀ; averaged over K Rademacher probes its variance is
    2 Σ_{i≠j} M_ij² / K. Mean over 40 points within 4 standard errors; spread within a factor 1.6."""
    model, K, n = _rotated(4, 2), 4, 40
    z = np.random.default_rng(3).normal(0, 1, (n, 4))
    err = ode_logp_z(model, z, n_probes=K, seed=7, t0=T0, rtol=1e-7, atol=1e-7) - model.flow_logq(z, T0)
    Q = model.Q.numpy()
    M = Q @ np.diag(0.5 * np.log(model.lam_t(T) / model.lam_t(T0)) + (T - T0)) @ Q.T
    sd = np.sqrt(2 * (np.sum(M**2) - np.sum(np.diag(M) ** 2)) / K)
    assert abs(err.mean()) < 4 * sd / np.sqrt(n)
    assert 1 / 1.6 < err.std(ddof=1) / sd < 1.6


def test_isotropic_gaussian_through_score_net_interface_and_batching():
    """28×28 images, diagonal Jacobian: Rademacher Hutchinson is exact; chunks share steps only."""
    model = GaussianScore(np.zeros(784), np.full(784, 0.3))
    z = np.random.default_rng(4).normal(0, 0.6, (5, 1, 28, 28))
    one = ode_logp_z(model, z, t0=T0, batch_size=5)
    np.testing.assert_allclose(one, model.flow_logq(z, T0), atol=5e-3)  # measured 1.4e-3 nats (RK45 at 1e-5)
    np.testing.assert_allclose(ode_logp_z(model, z, t0=T0, batch_size=2), one, atol=5e-3)


@pytest.mark.parametrize("shift, scale", [(0.0, 1.0), (-10.0, 2.0)])
def test_bits_per_dim_of_a_dequantised_discretised_gaussian(shift, scale):
    """Pixels floor(Y), Y ~ N(128, 20²); the model density in z-space is N(0, c I), c = λ_t0 / λ_T
    (the flow of an isotropic Gaussian score), so the dequantised grey level y = x + U has density
    N(mean, std² c). With E(y - 128)² = 20² + 1/6 (Sheppard: the floor and U each add 1/12):
    E bpd = ½ log2(2π std² c) + (20² + 1/6 + (128 - mean)²) / (2 std² c ln 2). A wrong Jacobian would be
    off by log2(scale) = 1 bit, a wrong +8 by 8."""
    m, s, n = 128.0, 20.0, 64
    x = np.floor(np.random.default_rng(5).normal(m, s, (n, 28, 28))).astype(np.uint8)
    model = GaussianScore(np.zeros(784), np.full(784, 0.5))
    c = float(model.lam_t(T0)[0] / model.lam_t(T)[0])
    mean, std = m + shift, s * scale
    res = nll_bits_per_dim(model, x, mean, std, seed=6, t0=T0)
    expected = 0.5 * np.log2(2 * np.pi * std**2 * c) + (s**2 + 1 / 6 + shift**2) / (2 * std**2 * c * np.log(2))
    # per-pixel sd of the quadratic term is about 1/(√2 ln 2 · scale² · c); over n·784 pixels:
    se = 1 / (np.sqrt(2) * np.log(2) * scale**2 * c) / np.sqrt(n * 784)
    assert abs(res.mean - expected) < 4 * se  # measured -0.5 and +0.6 se
    assert res.ci[0] < res.mean < res.ci[1] and res.bpd.shape == (n,)
    assert 0.5 < res.se / se < 2


def test_bits_per_dim_helper():
    assert bits_per_dim(0.0, 784) == 8.0  # uniform on the cube
    # a density 2^D on [0, 1/2)^D costs one bit less per pixel
    np.testing.assert_allclose(bits_per_dim(np.array([784 * np.log(2.0)]), 784), [7.0])
    with pytest.raises(ValueError, match="D"):
        bits_per_dim(0.0, 0)


def _tiny(n: int, seed: int = 0) -> np.ndarray:
    """Blobs: one bright square at a random position per image, plus noise, roughly unit variance."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 1, 28, 28)) - 0.3
    for img, (i, j) in zip(x, rng.integers(4, 18, (n, 2))):
        img[0, i:i + 6, j:j + 6] += 2.0
    return x.astype(np.float32)


def test_training_is_deterministic_under_a_seed():
    x = _tiny(32)
    a = train_score_net(x, epochs=2, seed=3).losses
    b = train_score_net(x, epochs=2, seed=3).losses
    c = train_score_net(x, epochs=2, seed=4).losses
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2,) and not np.array_equal(a, c)


def test_dsm_loss_decreases_and_the_callback_records():
    x, held_out = _tiny(64), _tiny(32, seed=1)
    fit = train_score_net(x, epochs=6, seed=0, eval_every=3,
                          callback=lambda epoch, model: dsm_loss(model, held_out, seed=9, n_draws=2))
    before = dsm_loss(ScoreNet(seed=0), held_out, seed=9, n_draws=2)  # the same initial weights
    assert fit.losses[-1] < 0.5 * fit.losses[0]
    assert [e for e, _ in fit.evaluations] == [3, 6]
    assert fit.evaluations[-1][1] < 0.5 * before
    assert fit.seconds_per_epoch > 0 and not fit.model.training


def test_output_shape_and_scaling_by_sigma():
    net = ScoreNet(seed=1).eval()
    x = torch.randn(3, 1, 28, 28)
    t = torch.tensor([0.01, 1.0, 4.0])
    out = net(x, t)
    assert out.shape == (3, 1, 28, 28) and out.dtype == torch.float32
    # the same net with σ_t removed: outputs differ exactly by the factor 1/σ_t
    raw = out * net.sigma(t)[:, None, None, None]
    assert torch.isfinite(raw).all() and raw.abs().max() < 100


@pytest.mark.parametrize("device", ["tpu", "meta", 3.5])
def test_bad_device_names_device(device):
    with pytest.raises(ValueError, match="device"):
        train_score_net(_tiny(4), epochs=1, seed=0, device=device)
    with pytest.raises(ValueError, match="device"):
        nll_bits_per_dim(ScoreNet(), np.zeros((1, 28, 28), np.uint8), 0.0, 1.0, seed=0, device=device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_names_device():
    with pytest.raises(ValueError, match="device"):
        resolve_device("cuda")


@pytest.mark.parametrize("kwargs, name", [
    (dict(x_train=np.zeros((2, 28, 28))), "x_train"), (dict(epochs=0), "epochs"),
    (dict(batch_size=0), "batch_size"), (dict(lr=-1.0), "lr"), (dict(eval_every=0), "eval_every")])
def test_bad_training_input(kwargs, name):
    args = dict(x_train=_tiny(2), epochs=1, seed=0) | kwargs
    with pytest.raises(ValueError, match=name):
        train_score_net(args.pop("x_train"), **args)


@pytest.mark.parametrize("pixels, std, kwargs, name", [
    (np.full((1, 28, 28), 256), 1.0, {}, "x_pixels_uint8"), (np.full((1, 28, 28), 0.5), 1.0, {}, "x_pixels_uint8"),
    (np.zeros((1, 28, 28)), 0.0, {}, "zscore_std"), (np.zeros((1, 28, 28)), 1.0, dict(n_probes=0), "n_probes"),
    (np.zeros((1, 28, 28)), 1.0, dict(rtol=0.0), "rtol"), (np.zeros((1, 28, 28)), 1.0, dict(level=1.0), "level")])
def test_bad_nll_input(pixels, std, kwargs, name):
    with pytest.raises(ValueError, match=name):
        nll_bits_per_dim(ScoreNet(), pixels, 0.0, std, seed=0, **kwargs)


def test_nll_is_reproducible_under_a_seed():
    model = GaussianScore(np.zeros(784), np.full(784, 0.5))
    x = np.random.default_rng(8).integers(0, 256, (3, 784))
    a = nll_bits_per_dim(model, x, 127.5, 74.0, seed=1, t0=T0, n_probes=2)
    b = nll_bits_per_dim(model, x, 127.5, 74.0, seed=1, t0=T0, n_probes=2)
    np.testing.assert_array_equal(a.bpd, b.bpd)
    assert a.n_probes == 2 and a.nfe > 0


@pytest.mark.slow
def test_real_digits_route_end_to_end():
    """200 real digits of one class, 30 epochs: training loss falls, held-out NLL finite and below the
    model that ignores the data (q = N(0, I) in z-space)."""
    from empirical.mnist.data import load_digits5k
    from empirical.mnist.protocol import zscore

    d = load_digits5k()
    z, mean, std = zscore(d.images.astype(float))
    idx = np.flatnonzero(d.labels == 1)[:232]
    fit = train_score_net(z[idx[:200]].reshape(-1, 1, 28, 28), epochs=30, seed=0)
    assert fit.losses[-1] < 0.2 * fit.losses[0]
    res = nll_bits_per_dim(fit.model, d.images[idx[200:]], mean, std, seed=0)
    prior = nll_bits_per_dim(GaussianScore(np.zeros(784), np.ones(784), horizon=5.0), d.images[idx[200:]],
                             mean, std, seed=0)
    assert np.isfinite(res.bpd).all() and res.ci[1] < prior.ci[0]
