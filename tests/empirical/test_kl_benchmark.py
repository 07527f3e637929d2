"""Cost of K2 and K3 on a random-ReLU score with m = 1024 features, in units of one score
evaluation on the same grid (a ratio measured in the same run, never a wall-clock time)."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.kl import kl_ode, kl_sde, sde_law
from empirical.targets import two_mode
from references import benchmark_ratio, fitted_relu

TARGET = two_mode(3.0)


@pytest.fixture(scope="module")
def relu1024():
    return fitted_relu(TARGET, 1024, seed=0, ridge=1e-3)


def _cost_ratio(benchmark, run, one_eval, n_evals: int) -> float:
    """Time of ``run`` in units of one score evaluation (the baseline: 20 evaluations, timed in this test)."""
    ratio = 20 * benchmark_ratio(benchmark, run, lambda: [one_eval() for _ in range(20)], rounds=2)
    benchmark.extra_info.update(cost_in_score_evals=ratio, score_evals=n_evals)
    return ratio


@pytest.mark.perf
@pytest.mark.benchmark(group="kl-relu1024")
def test_k2_cost_is_its_score_evaluations(benchmark, relu1024) -> None:
    faces = sde_law(TARGET, relu1024, n_steps=1).edges[1:-1]  # K2's grid: 1200 window cells + ~350 outer
    ratio = _cost_ratio(benchmark, lambda: kl_sde(TARGET, relu1024), lambda: relu1024(1.0, faces), 2 * 128)
    # TR-BDF2 evaluates the score twice per step (128 steps); banded solves must not dominate
    assert ratio < 2.0 * 256


@pytest.mark.perf
@pytest.mark.benchmark(group="kl-relu1024")
def test_k3_cost_is_its_score_evaluations(benchmark, relu1024) -> None:
    x = np.linspace(-13.0, 13.0, 1201)
    ratio = _cost_ratio(benchmark, lambda: kl_ode(TARGET, relu1024), lambda: relu1024(1.0, x), 4 * 64)
    # RK4, cell form: four score evaluations per step (64 steps), no derivative
    assert ratio < 2.0 * 256


@pytest.mark.perf
@pytest.mark.benchmark(group="kl-swish-ve")
def test_k2_of_a_swish_checkpoint_under_ve_is_its_score_evaluations(benchmark) -> None:
    """Issue 10's per-checkpoint K2 (the authors' width-16 network, VE): cost in score evaluations."""
    from empirical.training.nets import build_net
    from empirical.sde import ve

    target = two_mode(3.0, sde=ve())
    net = build_net("swish", 16, ve(), 0)
    faces = sde_law(target, net.score, n_steps=1).edges[1:-1]
    ratio = _cost_ratio(benchmark, lambda: kl_sde(target, net.score), lambda: net.score(0.5, faces), 2 * 128)
    assert ratio < 2.0 * 256
