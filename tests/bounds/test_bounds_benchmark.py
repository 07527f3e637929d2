"""Vectorised evaluation against a sympy subs/evalf baseline, as a per-point ratio in the same run."""

from __future__ import annotations

import numpy as np
import pytest

from bounds import symbols as S
from bounds import theorem1
from references import benchmark_ratio

N_VECTOR = 1_000_000
N_BASELINE = 20


def points(count: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "n": 10 ** rng.uniform(0, 9, count),
        "m": 10 ** rng.uniform(0, 9, count),
        "tau": 10 ** rng.uniform(0, 4, count),
    }


def baseline(bound, pts: dict[str, np.ndarray]) -> list[float]:
    """What the sympy expression alone offers: substitute every value and evalf, point by point."""
    defaults = bound.defaults
    out = []
    for i in range(len(pts["n"])):
        subs = {**defaults, S.n: pts["n"][i], S.m: pts["m"][i], S.tau: pts["tau"][i]}
        out.append(float(bound.expr.subs(subs).evalf()))
    return out


@pytest.mark.perf
@pytest.mark.benchmark(group="bounds-evaluate")
@pytest.mark.parametrize("form", ["simplified", "full"])
def test_vectorised_evaluation_beats_sympy_per_point_by_100x(benchmark, form):
    """Per-point time of sympy subs/evalf over that of the lambdified, vectorised evaluation, both timed
    in this test (no wall-clock threshold, no dependence on test order)."""
    bound = theorem1(form)
    pts, small = points(N_VECTOR, seed=1), points(N_BASELINE, seed=2)
    assert np.allclose(bound.evaluate(**small), baseline(bound, small), rtol=1e-12)
    ratio = benchmark_ratio(benchmark, lambda: bound.evaluate(**pts), lambda: baseline(bound, small),
                            baseline_repeats=2)
    speedup = (1.0 / N_BASELINE) / (ratio / N_VECTOR)
    benchmark.extra_info.update(per_point_speedup=speedup)
    print(f"per-point speedup ({form}): {speedup:.3g}")
    assert speedup > 100
