"""Rates and shapes (docs/theory.md §8.2) on synthetic curves whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from references import benchmark_ratio
from verification.statistics.stats import fit_power_law, fit_power_law_seeds, interior_minimum, is_monotone, smooth_argmin

N_GRID = np.array([100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0])


@given(st.floats(-3.0, 3.0), st.floats(-5.0, 5.0))
def test_exact_power_law_recovers_slope_and_intercept(slope, intercept):
    x = np.geomspace(1.0, 1e4, 9)
    fit = fit_power_law(x, np.exp(intercept) * x**slope, n_boot=200)
    assert fit.slope == pytest.approx(slope, abs=1e-10)
    assert fit.intercept == pytest.approx(intercept, abs=1e-9)
    # Every bootstrap resample of an exact law has the same slope.
    assert fit.ci_low == pytest.approx(slope, abs=1e-9) and fit.ci_high == pytest.approx(slope, abs=1e-9)
    np.testing.assert_allclose(fit.predict(x), np.exp(intercept) * x**slope, rtol=1e-9)


def test_point_estimate_matches_scipy_linregress():
    rng = np.random.default_rng(1)
    x = np.repeat(N_GRID, 3)
    y = 2.0 * x**-0.4 * np.exp(rng.normal(0, 0.2, x.size))
    ref = sps.linregress(np.log(x), np.log(y))
    fit = fit_power_law(x, y, groups=np.tile([0, 1, 2], N_GRID.size))
    assert fit.slope == pytest.approx(ref.slope, abs=1e-12)
    assert fit.intercept == pytest.approx(ref.intercept, abs=1e-12)
    assert fit.ci_low < fit.slope < fit.ci_high
    assert (fit.n_points, fit.n_groups) == (18, 3)


def _explicit_bootstrap(x, y, seeds, n_boot, seed):
    """Reference: resample seeds by hand with the same multinomial counts and refit with polyfit."""
    labels = np.unique(seeds)
    counts = np.random.default_rng(seed).multinomial(labels.size, np.full(labels.size, 1 / labels.size), size=n_boot)
    slopes = []
    for row in counts:
        idx = np.concatenate([np.flatnonzero(seeds == g).repeat(c) for g, c in zip(labels, row)])
        slopes.append(np.polyfit(np.log(x[idx]), np.log(y[idx]), 1)[0])
    return np.quantile(slopes, [0.025, 0.975])


def _seeded_design(n_seeds: int = 4):
    rng = np.random.default_rng(2)
    seeds = np.repeat(np.arange(n_seeds), N_GRID.size)
    x = np.tile(N_GRID, n_seeds)
    return x, x**-0.5 * np.exp(rng.normal(0, 0.3, x.size)), seeds


def test_group_bootstrap_equals_explicit_resampling():
    x, y, seeds = _seeded_design()
    fit = fit_power_law(x, y, groups=seeds, n_boot=300, seed=7)
    low, high = _explicit_bootstrap(x, y, seeds, 300, 7)
    assert fit.ci_low == pytest.approx(low, abs=1e-10) and fit.ci_high == pytest.approx(high, abs=1e-10)


@pytest.mark.perf
@pytest.mark.benchmark(group="stats")
def test_benchmark_vectorised_bootstrap_against_explicit_loop(benchmark):
    # Baseline in the same run, interleaved: the per-resample polyfit loop (2000 resamples).
    x, y, seeds = _seeded_design()
    ratio = benchmark_ratio(benchmark, lambda: fit_power_law(x, y, groups=seeds, n_boot=2000, seed=0),
                            lambda: _explicit_bootstrap(x, y, seeds, 2000, 0), rounds=3)
    print(f"vectorised bootstrap / explicit loop: {ratio:.3g}")
    assert ratio < 0.1


def _coverage(seed_effect: float, noise: float, grid: np.ndarray, use_groups: bool, n_rep: int = 200) -> float:
    """Fraction of 200 seeded replicates (8 seeds each) whose 95% CI covers the true slope -0.4.

    Binomial sd of the rate is ~0.015 at 200 replicates.
    """
    rng = np.random.default_rng(123)
    n_seeds = 8
    seeds = np.repeat(np.arange(n_seeds), grid.size)
    x = np.tile(grid, n_seeds)
    hits = 0
    for rep in range(n_rep):
        # Each seed gets its own slope perturbation, so the points of one seed are correlated.
        per_seed = rng.normal(0, seed_effect, n_seeds)[seeds]
        y = x**-0.4 * np.exp(per_seed * np.log(x / grid[0]) + rng.normal(0, noise, x.size))
        fit = fit_power_law(x, y, groups=seeds if use_groups else None, n_boot=400, seed=rep)
        hits += fit.ci_low <= -0.4 <= fit.ci_high
    return hits / n_rep


def _coverage_at(n_seeds: int, method: str, n_rep: int = 300) -> float:
    """Coverage of the true slope -0.4 by the 95% interval at ``n_seeds`` seeds, each with its own slope."""
    rng = np.random.default_rng(99)
    seeds = np.repeat(np.arange(n_seeds), N_GRID.size)
    x = np.tile(N_GRID, n_seeds)
    hits = 0
    for rep in range(n_rep):
        per_seed = rng.normal(0, 0.1, n_seeds)[seeds]
        y = x**-0.4 * np.exp(per_seed * np.log(x / N_GRID[0]) + rng.normal(0, 0.02, x.size))
        fit = (fit_power_law_seeds(x, y, seeds) if method == "t"
               else fit_power_law(x, y, groups=seeds, n_boot=400, seed=rep))
        hits += fit.ci_low <= -0.4 <= fit.ci_high
    return hits / n_rep


def test_t_interval_over_seeds_keeps_its_coverage_where_the_bootstrap_does_not():
    # 3 and 5 seeds (the quick and full reports): the t interval on per-seed slopes covers at its nominal
    # rate (sd of the rate at 300 replicates ~0.013); the percentile bootstrap over seeds cannot (5 seeds
    # give 126 distinct resamples, 3 seeds 10). Measured: t 0.940 (3 seeds) and 0.953 (5), bootstrap 0.713 and 0.833.
    for n_seeds in (3, 5):
        assert _coverage_at(n_seeds, "t") >= 0.91
        assert _coverage_at(n_seeds, "bootstrap") < 0.88


def test_per_seed_fit_matches_the_mean_of_polyfit_slopes_and_rejects_thin_seeds():
    x, y, seeds = _seeded_design(5)
    fit = fit_power_law_seeds(x, y, seeds)
    slopes = [np.polyfit(np.log(x[seeds == g]), np.log(y[seeds == g]), 1)[0] for g in range(5)]
    half = sps.t.ppf(0.975, 4) * np.std(slopes, ddof=1) / np.sqrt(5)
    assert fit.slope == pytest.approx(np.mean(slopes), abs=1e-12)
    assert (fit.ci_low, fit.ci_high) == pytest.approx((np.mean(slopes) - half, np.mean(slopes) + half), abs=1e-12)
    assert fit.method == "t" and fit.n_groups == 5
    with pytest.raises(ValueError, match="2 distinct x"):
        fit_power_law_seeds([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0, 0, 1])
    with pytest.raises(ValueError, match="at least 2 distinct labels"):
        fit_power_law_seeds([1.0, 2.0], [1.0, 2.0], [0, 0])


def test_bootstrap_ci_covers_truth_at_roughly_nominal_rate():
    # iid noise: both bootstraps are valid. Measured 0.885 (groups) and 0.935 (points): the
    # percentile bootstrap over only 8 groups under-covers somewhat (variance factor 7/8).
    assert 0.84 <= _coverage(0.0, 0.1, N_GRID, use_groups=True) <= 0.99
    assert 0.88 <= _coverage(0.0, 0.1, N_GRID, use_groups=False) <= 0.99


def test_group_bootstrap_needed_when_points_of_a_seed_are_correlated():
    # 12 points per seed sharing one slope deviation: the pointwise bootstrap treats them as
    # independent and its CI is too narrow (measured 0.695 against 0.865 for the group bootstrap).
    grid = np.geomspace(100.0, 3200.0, 12)
    grouped = _coverage(0.1, 0.02, grid, use_groups=True)
    pointwise = _coverage(0.1, 0.02, grid, use_groups=False)
    assert grouped >= 0.82
    assert pointwise < grouped - 0.1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(x=[1.0, 2.0], y=[1.0, -1.0]), r"y\[1\] = -1.0"),
        (dict(x=[1.0, np.nan], y=[1.0, 1.0]), r"x\[1\] = nan"),
        (dict(x=[2.0, 2.0, 2.0], y=[1.0, 2.0, 3.0]), "at least 2 distinct"),
        (dict(x=[1.0, 2.0], y=[1.0]), "equal length"),
        (dict(x=[1.0, 2.0], y=[1.0, 2.0], ci=1.5), r"ci must lie in \(0, 1\)"),
        (dict(x=[1.0, 2.0], y=[1.0, 2.0], n_boot=10), "n_boot"),
        (dict(x=[1.0, 2.0], y=[1.0, 2.0], groups=[0, 0]), "at least 2 distinct labels"),
        (dict(x=[1.0, 2.0, 1.0, 2.0], y=[1.0, 2.0, 1.0, 2.0], groups=[0, 1]), "one label per point"),
        # Every seed sits at a single x: no resample of seeds determines a slope reliably.
        (dict(x=[1.0, 2.0], y=[1.0, 2.0], groups=[0, 1]), "bootstrap resamples span 2 distinct x"),
    ],
)
def test_fit_power_law_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_power_law(**kwargs)


def test_interior_minimum_of_u_shaped_curve():
    tau = np.geomspace(1, 1e4, 41)
    values = 1 / tau + tau / 1e4  # minimum at tau = 100, both ends ~1
    res = interior_minimum(tau, values)
    assert res.has_minimum and res.index == 20 and res.argmin == pytest.approx(100.0)


@pytest.mark.parametrize(
    "values",
    [
        np.linspace(2.0, 1.0, 9),  # decreasing: minimum at the last tau
        np.linspace(1.0, 2.0, 9),  # increasing: minimum at the first tau
        np.array([1.02, 1.01, 1.0, 1.01, 1.03, 1.04, 1.05, 1.06, 1.07]),  # dip shallower than 5% at the left end
    ],
)
def test_no_interior_minimum(values):
    assert not interior_minimum(np.arange(1.0, 10.0), values).has_minimum


def test_margin_is_relative_to_the_minimum():
    values = np.array([1.02, 1.0, 1.03])
    assert interior_minimum([1.0, 2.0, 3.0], values, rel_margin=0.01).has_minimum
    assert not interior_minimum([1.0, 2.0, 3.0], values, rel_margin=0.05).has_minimum


@settings(max_examples=20)
@given(st.floats(np.log(2.0), np.log(500.0)), st.floats(0.1, 10.0), st.integers(0, 2**31))
def test_smooth_argmin_exact_for_parabola_in_log_tau(log_star, curvature, seed):
    # Random, uneven grid: the three-point parabola in log tau is exact for a quadratic.
    tau = np.sort(np.random.default_rng(seed).uniform(0.0, np.log(1000.0), 12))
    tau = np.exp(np.concatenate([[0.0], tau[(tau > 1e-3) & (tau < np.log(1000.0) - 1e-3)], [np.log(1000.0)]]))
    tau = np.unique(tau)
    values = curvature * (np.log(tau) - log_star) ** 2 + 3.0
    est = smooth_argmin(tau, values)
    i = int(np.argmin(values))
    if 0 < i < tau.size - 1:
        assert np.log(est) == pytest.approx(log_star, abs=1e-8)


def test_smooth_argmin_at_grid_end_returns_end():
    tau = np.array([1.0, 2.0, 4.0, 8.0])
    assert smooth_argmin(tau, [4.0, 3.0, 2.0, 1.0]) == 8.0
    assert smooth_argmin(tau, [1.0, 2.0, 3.0, 4.0]) == 1.0


def test_smooth_argmin_beats_grid_on_non_quadratic_curve():
    # 1/tau + tau/c has its minimum at sqrt(c); on a coarse grid the refinement is closer.
    tau = np.geomspace(1, 1e4, 9)
    values = 1 / tau + tau / 2000.0
    truth = np.sqrt(2000.0)
    grid = tau[np.argmin(values)]
    assert abs(np.log(smooth_argmin(tau, values) / truth)) < abs(np.log(grid / truth))


@pytest.mark.parametrize(
    "tau, values, match",
    [
        ([1.0, 2.0], [1.0, 2.0], "length >= 3"),
        ([1.0, 3.0, 2.0], [1.0, 2.0, 3.0], "strictly increasing"),
        ([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], "positive"),
        ([1.0, 2.0, 3.0], [1.0, np.inf, 3.0], "finite"),
    ],
)
def test_curve_validation(tau, values, match):
    with pytest.raises(ValueError, match=match):
        interior_minimum(tau, values)
    with pytest.raises(ValueError, match=match):
        smooth_argmin(tau, values)


def test_is_monotone():
    assert is_monotone([3.0, 2.0, 2.0, 1.0], increasing=False)
    assert not is_monotone([3.0, 2.0, 2.1, 1.0], increasing=False)
    assert is_monotone([3.0, 2.0, 2.1, 1.0], increasing=False, rel_tol=0.06)
    assert is_monotone([1.0, 2.0, 5.0], increasing=True)
    assert not is_monotone([1.0, 2.0, 5.0], increasing=False)
    with pytest.raises(ValueError, match="rel_tol"):
        is_monotone([1.0, 2.0], increasing=True, rel_tol=-1.0)
    with pytest.raises(ValueError, match="length >= 2"):
        is_monotone([1.0], increasing=True)
