"""The MNIST network route's driver (verification/designs/mnist_network.py) on a tiny design: its result's
structure, determinism, the subsets it shares with the random-feature route, resuming from the store,
the matched evaluation subsets and the reverse-SDE sampler."""

from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from empirical.mnist import split_pair
from empirical.mnist.likelihood import nll_bits_per_dim
from empirical.mnist.network import T0_FRACTION
from empirical.mnist.sampling import sample_reverse_sde
from empirical.sde import ou
from verification.designs import mnist
from verification.designs import mnist_network as mn
from verification.store.cache import ResultCache
from verification.store.runner import Runner

TINY = mn.NetworkDesign(epochs=2, eval_every=1, nll_points=4, channels=(4, 8, 8), loss_draws=2, samples=4,
                        sample_steps=10)
CURVES = ("train_loss", "test_loss", "train_nll", "test_nll", "train_nll_se", "test_nll_se", "gap")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ResultCache(tmp_path_factory.mktemp("mnist-network"))


def _coarse_likelihood():
    """The driver's likelihood at rtol = atol = 1e-3 (the default 1e-5 costs most of this file's time; the
    likelihood's accuracy against closed forms is tested in tests/empirical/test_mnist_network.py)."""
    return functools.partial(nll_bits_per_dim, rtol=1e-3, atol=1e-3)


@pytest.fixture(scope="module")
def result(store):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mn, "nll_bits_per_dim", _coarse_likelihood())
        return mn.network_experiment(Runner(store, show_progress=False), TINY)


def _finite(values) -> bool:
    return bool(np.all(np.isfinite(np.asarray(values, dtype=float))))


def test_result_structure_and_finite_numbers(result):
    assert result["pairs"] == [list(p) for p in mn.network_tasks(TINY)[1:3]]
    assert result["n_digits"] == 5000 and result["design"]["epochs"] == 2
    for name in ("near", "far"):
        (run,) = result[name]
        assert run["n_train"] + run["n_test"] == result["size"]
        assert run["n_loss_points"] == run["n_test"] and run["n_nll_points"] == 4
        fit = run["fit"]
        assert fit["epochs"] == [1, 2] and len(fit["epoch_loss"]) == 2
        for k in CURVES:
            assert len(fit[k]) == 2 and _finite(fit[k]), k
        assert all(lo < g < hi for g, (lo, hi) in zip(fit["gap"], fit["gap_ci"]))
        assert np.allclose(fit["gap"], np.subtract(fit["test_nll"], fit["train_nll"]))
        assert all(n > 0 for pair in fit["nfe"] for n in pair)
        pixels = np.asarray(run["sample_pixels"])
        assert pixels.shape == (4, 784) and pixels.min() >= 0 and pixels.max() <= 255
        assert np.asarray(run["train_pixels"]).shape == (4, 784)
    assert result["near"][0]["center_distance"] < result["far"][0]["center_distance"]


def test_summary_has_the_cli_fields(result):
    s = mn.network_summary(result)
    assert s["n_digits"] == 5000 and s["unit"] == "bits/dim (pixel space, network route)"
    for name, pair in (("nearest", result["pairs"][0]), ("farthest", result["pairs"][1])):
        out = s[name]
        assert out["clusters"] == pair and out["epochs"] == 2 and out["seeds"] == 1
        for k in ("center_distance", "n_train", "n_test", "train_loss", "test_loss", "train_nll", "test_nll", "gap"):
            assert _finite(out[k]), k
        fit = result["near" if name == "nearest" else "far"][0]["fit"]
        assert out["test_nll"] == fit["test_nll"][-1] and out["gap"] == pytest.approx(fit["gap"][-1])
        assert out["gap_ci"] == fit["gap_ci"][-1]


def test_summary_over_seeds_uses_a_t_interval(result):
    two = dict(result)
    for name in ("near", "far"):
        run = result[name][0]
        other = {**run, "fit": {**run["fit"], "gap": [g + 1.0 for g in run["fit"]["gap"]]}}
        two[name] = [run, other]
    out = mn.network_summary(two)["nearest"]
    g = result["near"][0]["fit"]["gap"][-1]
    assert out["seeds"] == 2 and out["gap_ci"][0] < g < g + 1 < out["gap_ci"][1]


def test_same_seed_gives_identical_numbers(result, monkeypatch):
    task = mn.network_tasks(TINY)[0][0]
    monkeypatch.setattr(mn, "nll_bits_per_dim", _coarse_likelihood())
    again = mn.run_network_pair(task)
    stored = result["near"][0]
    assert again["fit"] == stored["fit"]
    assert again["sample_pixels"] == stored["sample_pixels"]
    # Another seed trains another network; its likelihoods (most of the cost) are not needed to see that.
    unmeasured = SimpleNamespace(mean=0.0, se=0.0, bpd=np.array([0.0, 1.0]), nfe=1, seconds=0.0)
    monkeypatch.setattr(mn, "nll_bits_per_dim", lambda *args, **kwargs: unmeasured)
    other = mn.run_network_pair(mn.NetworkTask(**{**task.__dict__, "seed": 1}))
    assert other["fit"]["train_loss"] != stored["fit"]["train_loss"]


def test_subsets_are_those_of_the_random_feature_route(result):
    """The RF driver, run with a runner that only records its tasks, asks for the same pairs, size and
    seeds; the network's indices are ``split_pair`` of those, as the RF route's ``run_pair`` draws them."""

    class Recorder:
        def run_tasks(self, fn, items, keys, name, desc):
            self.items = list(items)
            return [{"center_distance": float(i)} for i in range(len(items))]

    rf = Recorder()
    design = mnist.Design(K=TINY.K, d=32, m=8, taus=(1.0,), seeds=TINY.seeds, n_pairs=0, min_size=TINY.min_size,
                          samples=0)
    rf_result = mnist.experiment(rf, design)
    assert rf_result["pairs"] == result["pairs"] and rf_result["size"] == result["size"]
    assert [(t.pair, t.size, t.seed) for t in rf.items] == \
        [(t.pair, t.size, t.seed) for t in mn.network_tasks(TINY)[0]]
    c = mnist.clustering(TINY.K)
    for task, run in zip(rf.items, result["near"] + result["far"]):
        split = split_pair(c, task.pair, task.size, task.seed)
        assert run["train_idx"] == split.train_idx.tolist() and run["test_idx"] == split.test_idx.tolist()


def test_second_call_resumes_from_the_store(result, store, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("train_score_net called although every task is in the store")

    monkeypatch.setattr(mn, "train_score_net", refuse)
    again = mn.network_experiment(Runner(store, show_progress=False), TINY)
    assert again["near"] == result["near"] and again["far"] == result["far"]
    with pytest.raises(AssertionError, match="in the store"):  # the patch is live: a new task trains
        mn.network_experiment(Runner(store, show_progress=False), mn.NetworkDesign(**{**TINY.__dict__, "seeds": (5,)}))


def test_matched_subsets_have_equal_cluster_counts():
    c = mnist.clustering(TINY.K)
    pair = mn.network_tasks(TINY)[1]
    split = split_pair(c, pair, 241, seed=3)
    for n in (5, 17, 48, 1000):
        train, test = mn.matched_subsets(c.labels, split.train_idx, split.test_idx, n, seed=3)
        assert len(train) == len(test) == min(n, len(split.test_idx))
        assert set(train) <= set(split.train_idx.tolist()) and set(test) <= set(split.test_idx.tolist())
        assert np.array_equal(np.bincount(c.labels[train], minlength=c.K), np.bincount(c.labels[test], minlength=c.K))


class _GaussianScore(torch.nn.Module):
    """The exact OU score of data N(0, s² I): -x / (s² e^{-2t} + 1 - e^{-2t})."""

    def __init__(self, s: float) -> None:
        super().__init__()
        self.s2, self.sde = s * s, ou(5.0)

    def forward(self, x, t):
        a2 = torch.exp(-2 * t)[:, None, None, None]
        return -x / (self.s2 * a2 + 1 - a2)


@pytest.mark.parametrize("s", [0.3, 2.0])
def test_sampler_recovers_a_gaussian_data_law(s):
    """x_{t0} ~ N(0, v I), v = s² a² + 1 - a², a = e^{-t0}, exactly for the exact score; the final
    denoising step returns E[x_0 | x_{t0}] = a s² x_{t0} / v, of std a s² / √v."""
    x = sample_reverse_sde(_GaussianScore(s), 200, seed=0, steps=300)
    a = math.exp(-T0_FRACTION * 5.0)
    expected = a * s * s / math.sqrt(s * s * a * a + 1 - a * a)
    assert x.shape == (200, 1, 28, 28) and (s > 1 or expected < 0.96 * s)  # at s = 0.3 the step is visible
    assert abs(x.mean()) < 0.02 * s and x.std() == pytest.approx(expected, rel=0.01)
    assert np.array_equal(x, sample_reverse_sde(_GaussianScore(s), 200, seed=0, steps=300))


def test_welch_interval_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, 30), rng.normal(0, 2, 50)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert mn.welch_interval(a, b) == pytest.approx((ci.low, ci.high))
    assert all(math.isnan(v) for v in mn.welch_interval(a[:1], b))


@pytest.mark.slow
def test_default_design_one_pair_trains(tmp_path):
    """The default network on the near pair for 200 epochs: the DSM loss falls and the NLL is finite."""
    task = mn.network_tasks(mn.NetworkDesign())[0][0]
    run = mn.run_network_pair(mn.NetworkTask(**{**task.__dict__, "epochs": 200, "eval_every": 100}))
    fit = run["fit"]
    assert fit["epoch_loss"][-1] < 0.2 * fit["epoch_loss"][0]
    assert _finite(fit["train_nll"] + fit["test_nll"]) and fit["test_loss"][-1] < fit["test_loss"][0]
