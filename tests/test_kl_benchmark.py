"""Cost of K2 and K3 on a random-ReLU score with m = 1024 features, in units of one score
evaluation on the same grid (a ratio measured in the same run, never a wall-clock time)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from empirical.kl import kl_ode, kl_sde
from empirical.targets import two_mode
from kl_models import fitted_relu

TARGET = two_mode(3.0)


@pytest.fixture(scope="module")
def relu1024():
    return fitted_relu(TARGET, 1024, seed=0, ridge=1e-3)


def _min_time(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _cost_ratio(benchmark, run, one_eval, n_evals: int) -> float:
    benchmark.pedantic(run, rounds=2, iterations=1)
    total = benchmark.stats.stats.min if not benchmark.disabled else _min_time(run, 1)
    ratio = total / (_min_time(lambda: [one_eval() for _ in range(20)], 3) / 20)
    benchmark.extra_info.update(cost_in_score_evals=ratio, score_evals=n_evals)
    return ratio


@pytest.mark.benchmark(group="kl-relu1024")
def test_k2_cost_is_its_score_evaluations(benchmark, relu1024) -> None:
    faces = np.linspace(-13.0, 13.0, 1201)[1:-1]  # K2's default grid: 1200 cells
    ratio = _cost_ratio(benchmark, lambda: kl_sde(TARGET, relu1024), lambda: relu1024(1.0, faces), 2 * 128)
    # TR-BDF2 evaluates the score twice per step (128 steps); banded solves must not dominate
    assert ratio < 2.0 * 256


@pytest.mark.benchmark(group="kl-relu1024")
def test_k3_cost_is_its_score_evaluations(benchmark, relu1024) -> None:
    x = np.linspace(-13.0, 13.0, 1201)
    ratio = _cost_ratio(benchmark, lambda: kl_ode(TARGET, relu1024), lambda: relu1024(1.0, x), 4 * 64)
    # RK4, cell form: four score evaluations per step (64 steps), no derivative
    assert ratio < 2.0 * 256
