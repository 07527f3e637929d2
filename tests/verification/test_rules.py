"""The rules of verification.rules on constructed data: each can pass and fail, its simulated size and power are
what an independent computation says, and the gate withholds a verdict an unsound rule would give."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import kendalltau, t as student

from verification.rules import (Combined, Curves, Densities, Detection, Equivalence, Exact, ExactRise,
                                Growth, GrowthData, Inequality, OneMode, Parts, Profile, Rate, Runs,
                                Separation, Sign, Tolerance, Trend, Values, WindowRise, gate, judge, judge_combined,
                                rng_for, seed_bootstrap)
from verification.rules.core import t_bounds
from verification.rules.modes import count_modes
from verification.rules.trend import kendall_rows
from verification.statistics.stats import t_interval

REPS = 2000


def j(rule, data, reps=REPS, name="test"):
    return judge(rule, data, reps, rng_for(name))


# ---- the gate ------------------------------------------------------------------------------------------------

def test_gate_keeps_only_decisive_verdicts_with_size_and_power():
    assert gate("holds-with-slack", 0.049, 0.1) == ("holds-with-slack", None)  # slack needs no power
    assert gate("violated", 0.051, 1.0)[0] == "inconclusive"
    assert gate("consistent", 0.01, 0.79)[0] == "inconclusive"
    assert gate("mechanism-not-observed", 0.01, 0.2, accepting=("mechanism-not-observed",))[0] == "inconclusive"
    assert gate("mechanism-not-observed", 0.01, 0.2) == ("mechanism-not-observed", None)
    assert gate("inconclusive", 1.0, 0.0) == ("inconclusive", None)


def test_an_unsound_rule_is_withheld_by_its_own_simulated_size():
    """A sign test on a 50% interval errs about a quarter of the time at the null: the simulation sees it and the
    verdict the rule would give is withheld."""
    data = Values([0.30, 0.22, 0.41, 0.18, 0.26])
    sound, unsound = j(Sign(effect=0.5), data), j(Sign(effect=0.5, ci=0.5), data)
    assert sound.verdict == "consistent" and sound.size <= 0.05
    assert unsound.raw == "consistent" and unsound.verdict == "inconclusive"
    assert 0.2 < unsound.size < 0.3 and "size" in unsound.reason


# ---- the noise generator and the vectorised statistics ------------------------------------------------------

def test_seed_bootstrap_keeps_the_spread_and_is_symmetric():
    v = np.array([0.37, 0.24, 0.17, 0.28, 0.20])
    d = seed_bootstrap(v, np.random.default_rng(0), 200_000)
    assert d.std() == pytest.approx(v.std(ddof=1), rel=0.01)
    assert abs(d.mean()) < 0.002 and abs(np.mean(d**3)) < 1e-4  # symmetric: no third moment
    assert np.all(seed_bootstrap([1.0], np.random.default_rng(0), 5) == 0)
    assert np.all(seed_bootstrap([2.0, 2.0], np.random.default_rng(0), 5) == 0)


@given(st.lists(st.floats(-10, 10), min_size=2, max_size=8).filter(lambda v: np.ptp(v) > 1e-6))
@settings(max_examples=30)
def test_vectorised_t_bounds_are_the_textbook_interval(values):
    mean, lo, hi = (float(a[0]) for a in t_bounds(np.array(values)[None, :]))
    ref = t_interval(values)
    assert (mean, lo, hi) == pytest.approx(ref, rel=1e-12, abs=1e-12)


@given(st.lists(st.floats(0, 1), min_size=3, max_size=9, unique=True))
@settings(max_examples=40)
def test_exact_kendall_matches_scipy(values):
    tau, p = kendall_rows(np.array(values)[None, :])
    ref = kendalltau(np.arange(len(values)), values, method="exact")
    assert tau[0] == pytest.approx(ref.statistic) and p[0] == pytest.approx(ref.pvalue)


@pytest.mark.parametrize("k", [3, 5])
def test_simulated_size_of_an_interval_rule_is_its_nominal_level_under_gaussian_noise(k):
    """An independent check of the simulation: with Gaussian per-seed values the t interval is exact, so each
    decisive verdict's false-alarm rate at the boundary is 2.5%; the smoothed wild bootstrap must not move it
    by more than its Monte-Carlo error allows."""
    values = np.random.default_rng(k).standard_normal(k) * 0.1 - 0.4
    out = judge(Rate(-0.4), Values(values), 8000, rng_for(f"size{k}"))
    for verdict, rate in out.nulls[0]["rate_by_verdict"].items():
        assert 0.015 < rate < 0.036, (verdict, rate)


# ---- the interval rules pass and fail ------------------------------------------------------------------------

def test_rate_gives_each_verdict_and_its_power_at_the_stated_alternative():
    tight = [0.0, 0.02, -0.02, 0.01, -0.01]
    assert j(Rate(-0.4), Values([v - 1.0 for v in tight])).verdict == "holds-with-slack"
    assert j(Rate(-0.4), Values([v - 0.4 for v in tight])).verdict == "consistent"
    assert j(Rate(-0.4), Values([v - 0.1 for v in tight])).verdict == "violated"
    noisy = j(Rate(-0.4), Values([-0.9, 0.1, -0.5, -0.2, -0.4]))  # spread 0.4: a slower rate cannot be seen
    assert noisy.raw == "consistent" and noisy.verdict == "inconclusive" and noisy.power < 0.8
    # power against p + 0.2 with spread s and 5 seeds: P(t interval above p) from the noncentral t
    s, k = float(np.std([-0.9, 0.1, -0.5, -0.2, -0.4], ddof=1)), 5
    from scipy.stats import nct
    expected = 1 - nct.cdf(student.ppf(0.975, k - 1), k - 1, 0.2 / (s / math.sqrt(k)))
    assert noisy.power == pytest.approx(expected, abs=0.05)


def test_sign_detects_both_directions_and_needs_power():
    assert j(Sign(effect=0.3), Values([0.2, 0.25, 0.3, 0.22])).verdict == "consistent"
    assert j(Sign(effect=0.3), Values([-0.2, -0.25, -0.3, -0.22])).verdict == "violated"
    assert j(Sign(effect=0.3, direction=-1), Values([-0.2, -0.25, -0.3, -0.22])).verdict == "consistent"
    assert j(Sign(effect=0.3), Values([0.1, -0.1, 0.05])).verdict == "inconclusive"


def test_separation_tells_the_claim_from_the_rival():
    rule = Separation(claim=0.4, rival=1.0)
    assert j(rule, Values([0.38, 0.42, 0.41, 0.39, 0.40])).verdict == "consistent"
    assert j(rule, Values([1.02, 0.98, 1.01, 0.99, 1.0])).verdict == "mechanism-not-observed"
    assert j(rule, Values([-0.5, 1.5, 0.2, 1.2, 0.6])).verdict == "inconclusive"


def test_detection_sees_an_effect_or_excludes_one_as_large_as_stated():
    rule = Detection(effect=math.log(2))
    assert j(rule, Values([0.6, 0.7, 0.8, 0.65])).verdict == "consistent"
    assert j(rule, Values([0.01, -0.02, 0.0, 0.015])).verdict == "mechanism-not-observed"
    assert j(rule, Values([0.5, -0.4, 0.3, -0.2])).verdict == "inconclusive"


def test_tolerance_and_its_control():
    ok = Values([0.03, 0.02, 0.04, 0.03], {"control": [0.3, 0.25, 0.35, 0.28]})
    assert j(Tolerance(0.1), ok).verdict == "holds"
    bad = Values([0.3, 0.2, 0.25, 0.28], {"control": [0.3, 0.25, 0.35, 0.28]})
    assert j(Tolerance(0.1), bad).verdict == "violated"
    blind = Values([0.03, 0.02, 0.04, 0.03], {"control": [0.05, 0.02, 0.08, 0.03]})  # the control is within too
    assert j(Tolerance(0.1), blind).verdict == "inconclusive"


def test_equivalence_inside_outside_and_straddling():
    rule = Equivalence(margin=0.2)
    assert j(rule, Values([0.01, -0.02, 0.03, 0.0, -0.01])).verdict == "consistent"
    assert j(rule, Values([0.6, 0.55, 0.65, 0.62, 0.58])).verdict == "mechanism-not-observed"
    assert j(rule, Values([0.1, 0.3, 0.2, 0.25, 0.15])).verdict == "inconclusive"


# ---- trends ----------------------------------------------------------------------------------------------------

def _profile(x, slope, noise, seeds=5, seed=0):
    rng = np.random.default_rng(seed)
    x = np.asarray(x, float)
    return Profile(tuple(x), tuple(tuple(x**slope * np.exp(noise * rng.standard_normal(x.size))) for _ in range(seeds)))


def test_trend_sees_the_claimed_and_the_contrary_direction():
    x = (8, 16, 32, 64, 128, 256, 512, 1024)
    rule = Trend(increasing=False, effect=0.2, variable="m", against="mechanism-not-observed")
    assert j(rule, _profile(x, -0.5, 0.1)).verdict == "consistent"
    assert j(rule, _profile(x, 0.5, 0.1)).verdict == "mechanism-not-observed"
    assert j(rule, _profile(x, 0.0, 0.5)).verdict == "inconclusive"


def test_trend_power_falls_with_the_scatter():
    x = (8, 16, 32, 64, 128, 256, 512, 1024)
    rule = Trend(increasing=False, effect=0.2)
    quiet, loud = j(rule, _profile(x, -0.5, 0.05)), j(rule, _profile(x, -0.5, 2.0, seed=3))
    assert quiet.power > 0.95 and loud.power < 0.5
    assert quiet.size <= 0.05 and loud.size <= 0.05


def test_trend_with_one_seed_uses_the_residuals_of_its_line():
    x = (2, 4, 8, 16, 32)
    one = Profile(x, ((0.8, 0.35, 0.37, 0.33, 0.38),))
    out = j(Trend(increasing=False), one)
    assert out.raw == "inconclusive" and out.nulls[0]["rate"] <= 0.05


# ---- early stopping ------------------------------------------------------------------------------------------

TAU = tuple(np.logspace(0, 10, 41))


def _curve(rise):
    t = np.asarray(TAU)
    v = 1 + (np.log10(t) - 5) ** 2 / 25
    v[t > 1e5] = 1 + rise * (np.log10(t[t > 1e5]) - 5) / 5
    return TAU, tuple(v)


def test_exact_rise_votes_over_seeds():
    up, flat = _curve(0.01), _curve(0.0)
    assert j(ExactRise(), Curves((up,) * 4, 1e-12)).verdict == "consistent"
    assert j(ExactRise(), Curves((flat,) * 4, 1e-12)).verdict == "mechanism-not-observed"
    assert j(ExactRise(), Curves((up, up, up, flat), 1e-12)).verdict == "inconclusive"
    tiny = _curve(1.5e-3)  # a rise below twice the K2 accuracy is not a rise of K2
    assert j(ExactRise(), Curves((tiny,) * 3, 1e-3)).verdict == "mechanism-not-observed"
    out = j(ExactRise(), Curves((up,) * 4, 1e-3))
    assert out.size == 0.0 and out.power == 1.0


E = np.arange(0, 2001, 10.0)


def _runs(kind, rng, seeds=3, sigma=0.3, rise=2.0):
    """Synthetic runs of 201 checkpoints: log K2 = trend + noise (the issue's nulls and its 2x rise)."""
    out = []
    for _ in range(seeds):
        if kind == "ar1":
            z = np.zeros(E.size)
            for i in range(1, E.size):
                z[i] = 0.7 * z[i - 1] + math.sqrt(1 - 0.49) * rng.standard_normal()
            noise = sigma * z
        else:
            noise = sigma * rng.standard_normal(E.size)
        if kind == "plateau":
            trend = np.log(0.1 + 2.0 * np.exp(-E / 300))
        elif kind == "rise":
            trend = np.log(0.1) + np.log(rise) * np.clip((E - 900) / 800, 0, 1)
        else:
            trend = np.full(E.size, np.log(0.1))
        out.append((tuple(E), tuple(np.exp(trend + noise))))
    return Runs(tuple(out), 2000)


def _old_argmin_rule(runs):
    """The per-seed rule the window rule replaces (the full report's Fig. 3 rule before): the argmin, then the
    mean after it against 2x the median neighbour change; the fraction of seeds it passes."""
    passes = []
    for _, v in runs.runs:
        v = np.asarray(v)
        i = int(np.argmin(v))
        noise = float(np.median(np.abs(np.diff(v))))
        passes.append(0 < i < v.size - 1 and np.mean(v[i + 1:]) - v[i] > 2 * noise)
    return float(np.mean(passes))


def test_the_window_rise_rule_has_size_at_most_5pct_on_three_nulls_and_power_at_a_2x_rise():
    """Size on flat i.i.d., AR(1) rho = 0.7 and decay-to-plateau runs and power at a real 2x rise, 3 seeds of 201
    checkpoints each, lognormal noise sd 0.3, 600 replicates each; the argmin rule it replaces beside."""
    rule, reps = WindowRise(), 600
    rng = np.random.default_rng(2024)
    rates, old = {}, {}
    for kind in ("flat", "ar1", "plateau", "rise"):
        verdicts, argmin = [], []
        for _ in range(reps):
            runs = _runs(kind, rng)
            verdicts.append(rule.decide(rule.measure(runs)))
            argmin.append(_old_argmin_rule(runs))
        rates[kind] = float(np.mean(np.array(verdicts) == "consistent"))
        old[kind] = float(np.mean(argmin))
    message = (f"window rule P(consistent): flat {rates['flat']:.3f}, AR(1) {rates['ar1']:.3f}, plateau "
               f"{rates['plateau']:.3f}, 2x rise {rates['rise']:.3f}; argmin rule, per seed: flat {old['flat']:.3f}, "
               f"AR(1) {old['ar1']:.3f}, plateau {old['plateau']:.3f}, 2x rise {old['rise']:.3f}")
    print(message)
    assert max(rates["flat"], rates["ar1"], rates["plateau"]) <= 0.05, message
    assert rates["rise"] >= 0.8, message
    assert min(old["flat"], old["ar1"]) > 0.5, message  # the argmin rule passes most noisy seeds


def test_window_rise_simulates_its_nulls_from_the_runs_own_residuals():
    rng = np.random.default_rng(7)
    noisy_flat = _runs("ar1", rng, seeds=4)
    out = j(WindowRise(), noisy_flat, reps=400)
    assert out.verdict != "consistent" and out.size <= 0.05
    rising = _runs("rise", rng, seeds=4, rise=3.0)
    assert j(WindowRise(), rising, reps=400).verdict == "consistent"


# ---- modes, growth, fitted bounds ----------------------------------------------------------------------------

X = np.linspace(-20, 20, 801)
P0 = tuple(0.5 * (np.exp(-(X - 15) ** 2 / 2) + np.exp(-(X + 15) ** 2 / 2)) / math.sqrt(2 * math.pi))


def test_mode_count_and_the_one_mode_rule():
    bump = tuple(np.exp(-X**2 / 60) / math.sqrt(60 * math.pi))
    assert count_modes(np.array([bump, P0])).tolist() == [1, 2]
    shoulder = np.exp(-X**2 / 60) + 0.02 * np.exp(-(X - 10) ** 2 / 2)  # a 2% shoulder is not a mode
    assert count_modes(shoulder).tolist() == [1]
    one = j(OneMode(), Densities(((tuple(X), bump),) * 3, P0), reps=200)
    two = j(OneMode(), Densities(((tuple(X), P0),) * 3, P0), reps=200)
    assert one.verdict == "consistent" and two.verdict == "mechanism-not-observed"
    assert one.size == 0.0 and one.power == 1.0


def test_growth_tells_polynomial_from_exponential():
    d = np.tile([2.0, 4, 8, 16, 32, 64, 128], 4)
    g = tuple(np.repeat(range(4), 7))
    rng = np.random.default_rng(1)
    poly = GrowthData(tuple(d), tuple(d**1.3 * np.exp(0.05 * rng.standard_normal(d.size))), g)
    expo = GrowthData(tuple(d), tuple(np.exp(0.05 * d + 0.05 * rng.standard_normal(d.size))), g)
    assert j(Growth(), poly, reps=500).verdict == "consistent"
    assert j(Growth(), expo, reps=500).verdict == "violated"


def test_exact_rule_holds_or_is_violated_with_size_zero():
    assert j(Exact("x"), Inequality(True)).verdict == "holds"
    bad = j(Exact("x"), Inequality(False, {"max_ratio": 1.3}))
    assert bad.verdict == "violated" and bad.size == 0.0 and bad.power is None


# ---- combinations ----------------------------------------------------------------------------------------------

def test_unanimous_needs_every_part_and_bounds_size_by_the_least():
    rule = Combined(Rate(-0.4), "unanimous")
    slow = Values([-0.1, -0.12, -0.08, -0.11])
    fast = Values([-1.0, -1.1, -0.9, -1.05])
    assert judge_combined(rule, Parts((("c1", slow), ("c2", slow))), REPS, rng_for("u")).verdict == "violated"
    mixed = judge_combined(rule, Parts((("c1", slow), ("c2", fast))), REPS, rng_for("u"))
    assert mixed.verdict == "inconclusive" and "disagree" in mixed.reason
    assert mixed.size == min(p["size"] for p in mixed.statistic["parts"])


def test_conjunction_uses_the_bonferroni_level_and_any_contrary_part_decides():
    rule = Combined(Sign(effect=0.3), "conjunction")
    up, down = Values([0.2, 0.25, 0.3, 0.22]), Values([-0.2, -0.25, -0.3, -0.22])
    both = judge_combined(rule, Parts((("a", up), ("b", up))), REPS, rng_for("c"))
    assert both.verdict == "consistent" and "ci97.5" in both.statistic["parts"][0]
    assert both.size == pytest.approx(sum(p["size"] for p in both.statistic["parts"]))
    assert judge_combined(rule, Parts((("a", up), ("b", down))), REPS, rng_for("c")).verdict == "violated"
