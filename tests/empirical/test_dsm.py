"""The one DSM loss (empirical/training/dsm.py) against numpy and against its closed-form expectation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from empirical.training.dsm import dsm_per_sample


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


# ---- the one training loop (empirical.training.dsm.minimise) ------------------------------------------------------------

from empirical.training.dsm import Batches, TrainingDiverged, minimise  # noqa: E402


def _line_problem(n=11, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.as_tensor(rng.standard_normal((n, 2)))
    y = x @ torch.tensor([1.5, -0.5], dtype=torch.float64) + 0.1 * torch.as_tensor(rng.standard_normal(n))
    return x, y


@pytest.mark.parametrize("size, sample_mean", [(4, False), (4, True), (11, False), (3, True)])
def test_minimise_is_the_hand_written_minibatch_sgd(size, sample_mean):
    """Independent reference: numpy SGD on the same orders (drawn from a twin generator) and the same batches,
    with the per-epoch draw taken between the order and the first batch; parameters and epoch losses agree."""
    x, y = _line_problem()
    n, lr, epochs = len(x), 0.05, 6
    w = torch.nn.Linear(2, 1, bias=False, dtype=torch.float64)
    torch.nn.init.zeros_(w.weight)

    def loss(idx, shift, gen):  # a per-epoch draw (shift) and a per-batch draw (noise) from the generator
        noise = torch.rand(len(idx), generator=gen, dtype=torch.float64)
        return ((w(x[idx])[:, 0] - y[idx] - shift - 0.01 * noise) ** 2).mean()

    fit = minimise(w, Batches(n, size, loss, draw_epoch=lambda gen: float(torch.rand(1, generator=gen, dtype=torch.float64)),
                              sample_mean=sample_mean), optimizer="sgd", lr=lr, epochs=epochs,
                   generator=torch.Generator().manual_seed(7), device=torch.device("cpu"))
    twin, v, X, Y, expected = torch.Generator().manual_seed(7), np.zeros(2), x.numpy(), y.numpy(), []
    for _ in range(epochs):
        order = torch.randperm(n, generator=twin).numpy()
        shift = float(torch.rand(1, generator=twin, dtype=torch.float64))
        batch_losses, sizes = [], []
        for lo in range(0, n, size):
            idx = order[lo:lo + size]
            noise = torch.rand(len(idx), generator=twin, dtype=torch.float64).numpy()
            r = X[idx] @ v - Y[idx] - shift - 0.01 * noise
            batch_losses.append(np.mean(r ** 2)), sizes.append(len(idx))
            v = v - lr * 2 * X[idx].T @ r / len(idx)
        expected.append(np.dot(batch_losses, sizes) / n if sample_mean else np.mean(batch_losses))
    assert np.allclose(w.weight.detach().numpy()[0], v, rtol=1e-12, atol=1e-14)
    assert np.allclose(fit.losses, expected, rtol=1e-12, atol=0)


def test_minimise_full_batch_gradient_descent_reaches_least_squares():
    x, y = _line_problem(n=40)
    w = torch.nn.Linear(2, 1, bias=False, dtype=torch.float64)
    minimise(w, Batches(40, 40, lambda idx, _, __: ((w(x[idx])[:, 0] - y[idx]) ** 2).mean()), optimizer="sgd",
             lr=0.3, epochs=400, generator=torch.Generator().manual_seed(0), device=torch.device("cpu"))
    exact = np.linalg.lstsq(x.numpy(), y.numpy(), rcond=None)[0]
    assert np.allclose(w.weight.detach().numpy()[0], exact, rtol=0, atol=1e-10)


def test_minimise_calls_back_at_the_marks_in_eval_mode_and_stops_on_a_non_finite_loss():
    x, y = _line_problem()
    w = torch.nn.Linear(2, 1, bias=False, dtype=torch.float64)
    modes = []

    def callback(epoch, loss, seconds):
        modes.append(w.training)
        return epoch, loss

    def loss(idx, _, __):
        return ((w(x[idx])[:, 0] - y[idx]) ** 2).mean()
    fit = minimise(w, Batches(11, 4, loss), optimizer="adam", lr=0.01, epochs=5, generator=torch.Generator().manual_seed(0),
                   device=torch.device("cpu"), marks=(0, 2, 5), callback=callback,
                   first_loss=lambda: loss(torch.arange(11), None, None))
    assert [r[0] for r in fit.records] == [0, 2, 5] and fit.records[2][1] == fit.losses[4]
    assert modes == [False] * 3 and not w.training
    with pytest.raises(TrainingDiverged, match=r"lr = 1e\+06 \(sgd\): training diverged at epoch 1") as err:
        minimise(w, Batches(11, 11, lambda idx, _, __: loss(idx, _, __) * float("nan")), optimizer="sgd", lr=1e6,
                 epochs=3, generator=torch.Generator().manual_seed(0), device=torch.device("cpu"))
    assert err.value.epoch == 1 and err.value.records == []
