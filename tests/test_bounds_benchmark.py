"""Vectorised evaluation against a sympy subs/evalf baseline, as a per-point ratio in the same run."""

from __future__ import annotations

import numpy as np
import pytest

from bounds import symbols as S
from bounds import theorem1

N_VECTOR = 1_000_000
N_BASELINE = 20
RESULTS: dict[str, float] = {}


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


@pytest.mark.benchmark(group="bounds-evaluate")
@pytest.mark.parametrize("form", ["simplified", "full"])
def test_bench_vectorised(benchmark, form):
    bound = theorem1(form)
    pts = points(N_VECTOR, seed=1)
    values = benchmark(bound.evaluate, **pts)
    small = points(N_BASELINE, seed=2)
    assert np.allclose(bound.evaluate(**small), baseline(bound, small), rtol=1e-12)
    assert values.shape == (N_VECTOR,)
    if benchmark.stats is not None:
        RESULTS[f"vector-{form}"] = benchmark.stats.stats.median / N_VECTOR


@pytest.mark.benchmark(group="bounds-evaluate")
@pytest.mark.parametrize("form", ["simplified", "full"])
def test_bench_sympy_baseline(benchmark, form):
    bound = theorem1(form)
    pts = points(N_BASELINE, seed=2)
    benchmark.pedantic(baseline, args=(bound, pts), rounds=3, iterations=1)
    if benchmark.stats is not None:
        RESULTS[f"sympy-{form}"] = benchmark.stats.stats.median / N_BASELINE


@pytest.mark.parametrize("form", ["simplified", "full"])
def test_per_point_speedup(form, record_property):
    """Ratio of per-point times in this run (no wall-clock threshold): vectorised must win by 100×."""
    if f"vector-{form}" not in RESULTS or f"sympy-{form}" not in RESULTS:
        pytest.skip("benchmarks disabled or not run in this session")
    ratio = RESULTS[f"sympy-{form}"] / RESULTS[f"vector-{form}"]
    record_property(f"per_point_speedup_{form}", ratio)
    print(f"per-point speedup ({form}): {ratio:.3g}")
    assert ratio > 100
