"""Cost of the Monte Carlo ODE-NLL (Remark 3) on a random-feature score in d = 16 with m = 1024, in units
of one fused score-and-divergence evaluation of the same points (a ratio measured in the same run, never a
wall-clock time)."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from empirical.rf.features import draw_features, rf_score
from empirical.kl.ode_mc import CHUNK_ELEMENTS, FusedRFScore, ode_logq
from empirical.targets import two_mode_nd
from references import benchmark_ratio

D, M, N_STEPS = 16, 1024, 64


@pytest.fixture(scope="module")
def rf16():
    return rf_score(draw_features(M, d=D, seed=0), np.random.default_rng(1).standard_normal((D, M)))


def _cost_in_evaluations(benchmark, rf16, n: int) -> float:
    target = two_mode_nd(2.0, D)
    x = target.sample(n, np.random.default_rng(0))
    fused, chunk = FusedRFScore(rf16), CHUNK_ELEMENTS // M

    def twenty_evals() -> None:  # each the FLOPs of one of the flow's 4 n_steps stages, in the same chunks
        with threadpool_limits(limits=1, user_api="blas"):  # as ode_logq
            for _ in range(20):
                for i in range(0, n, chunk):
                    fused.score_and_dx(1.0, x[i:i + chunk])

    ratio = 20 * benchmark_ratio(benchmark, lambda: ode_logq(target.sde, rf16, x, n_steps=N_STEPS),
                                 twenty_evals, rounds=2)
    benchmark.extra_info.update(cost_in_score_evals=ratio, score_evals=4 * N_STEPS, n_points=n)
    return ratio


@pytest.mark.perf
@pytest.mark.benchmark(group="ode-nll-d16-m1024")
def test_ode_nll_cost_is_its_score_evaluations(benchmark, rf16) -> None:
    # RK4: four fused evaluations per step (64 steps); the stages' vector work in d = 16 must not dominate
    assert _cost_in_evaluations(benchmark, rf16, 500) < 2.0 * 4 * N_STEPS


@pytest.mark.perf
@pytest.mark.slow
@pytest.mark.benchmark(group="ode-nll-d16-m1024")
def test_ode_nll_of_ten_thousand_points_cost(benchmark, rf16) -> None:
    assert _cost_in_evaluations(benchmark, rf16, 10_000) < 2.0 * 4 * N_STEPS
