"""The memorised fraction (Bonnaire et al.'s 1/3 criterion): the exact 1-D set against the criterion applied
point by point, the exact 1-D fraction against closed forms (Gaussian laws, the diffused empirical measure) and
against sampling the reverse SDE, its limit 1 at the empirical score, and its place in ``measure``."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from scipy.stats import norm

from empirical.rf.features import draw_features, rf_score
from empirical.rf.flow import gradient_flow
from empirical.kl import kl_sde_law
from empirical.rf.loss import empirical_loss
from empirical.measure import MeasureConfig, Measurement, make_target, measure
from empirical.measure.memorisation import (is_memorised, memorised_fraction, memorised_intervals, memorised_mass,
                                    sampled_memorised_fraction, target_memorised_fraction, wilson_interval)
from empirical.scores import exact_score
from empirical.sde import ou
from empirical.targets import empirical, gaussian, two_mode


def _criterion(points: np.ndarray, train: np.ndarray, ratio: float = 1 / 3) -> np.ndarray:
    """The criterion by brute force: all distances, sorted (independent of the k-d tree and of the intervals)."""
    diff = points[:, None, :] - train[None, :, :]
    dist = np.sort(np.sqrt(np.sum(diff**2, axis=2)), axis=1)
    return dist[:, 0] < ratio * dist[:, 1]


@pytest.mark.parametrize("ratio", [1 / 3, 0.1, 0.7])
def test_intervals_are_exactly_the_criterion_in_1d(ratio):
    rng = np.random.default_rng(0)
    train = np.concatenate([rng.normal(0, 2, 9), [0.5, 0.5]])  # a repeated point: its interval is empty
    points = rng.uniform(-8, 8, 20_000)
    lo, hi = memorised_intervals(train, ratio)
    inside = np.any((points[:, None] > lo) & (points[:, None] < hi), axis=1)
    np.testing.assert_array_equal(inside, _criterion(points[:, None], train[:, None], ratio))
    assert np.all(np.diff(np.column_stack([lo, hi]).ravel()) >= 0)  # disjoint and sorted
    assert 0.02 < inside.mean() < 0.95  # both outcomes occur


def test_is_memorised_matches_brute_force_in_d():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(30, 5))
    points = np.concatenate([train[:10] + 0.05 * rng.normal(size=(10, 5)), rng.normal(size=(500, 5))])
    got = is_memorised(points, train)
    np.testing.assert_array_equal(got, _criterion(points, train))
    assert got[:10].all() and not got[10:].all()


def test_mass_of_a_piecewise_constant_law_splits_cells_at_interval_ends():
    from empirical.kl.fokker_planck import FPSolution

    edges = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 4.0])
    q = np.array([0.05, 0.2, 0.4, 0.2, 0.05])
    q = q / np.sum(q * np.diff(edges))
    law = FPSolution(edges, q, 0.0)
    train = np.array([-0.7, 1.1, 1.3])
    lo, hi = memorised_intervals(train)
    # the density is constant on each cell: integrate it by hand over each interval
    fine = np.linspace(-3, 4, 700_001)
    density = q[np.clip(np.searchsorted(edges, fine, side="right") - 1, 0, q.size - 1)]
    inside = np.any((fine[:, None] > lo) & (fine[:, None] < hi), axis=1)
    by_hand = float(np.sum(density * inside) * (fine[1] - fine[0]))
    assert memorised_mass(law, train) == pytest.approx(by_hand, abs=2e-5)


def test_gaussian_law_gives_a_sum_of_normal_cdf_differences():
    """p0 = N(0, 1) with T = 1 and the exact score of N(0.2, 1): the sampler's law is N(a, 1) with
    a = 0.2 (1 - e^{-2T}) (the closed form of empirical.kl.sde_law's example)."""
    p = gaussian(0.0, 1.0, sde=ou(1.0))
    score = exact_score(gaussian(0.2, 1.0, sde=ou(1.0)))
    a = 0.2 * (1 - np.exp(-2.0))
    train = np.array([-2.1, -0.4, 0.3, 1.7, 1.9])
    lo, hi = memorised_intervals(train)
    exact = float(np.sum(norm.cdf(hi - a) - norm.cdf(lo - a)))
    assert memorised_fraction(p, score, train) == pytest.approx(exact, abs=2e-5)


def test_empirical_score_gives_the_diffused_empirical_measure_and_tends_to_one():
    """The exact score of p̂_t drives the sampler to p̂_{t0} (up to TV(p̂_T, π) = 2.0e-3 here), whose fraction is a
    sum of normal-CDF differences; with separated points it tends to 1 as t0 -> 0. Measured differences 1.0e-3,
    3.4e-4, 1.6e-3, 1.0e-3 (the same when the sampler starts from p̂_T itself: the K2 grid's cells, 0.017 wide,
    against σ_{t0} = 0.045 at t0 = 1e-3)."""
    p = two_mode(3.0)
    x = p.sample(4, np.random.default_rng(3))
    e = empirical(x)
    lo, hi = memorised_intervals(x)
    got = []
    for t0 in (1e-1, 1e-2, 1e-3, 1e-4):
        with warnings.catch_warnings():  # p_{t0} of the two modes has mass where the spiky law is 0: K2 = inf
            warnings.simplefilter("ignore", RuntimeWarning)
            got.append(memorised_fraction(p, exact_score(e), x, t0=t0))
        means, variances = e.components(t0)
        sd = np.sqrt(variances)
        closed = float(np.sum(np.mean(norm.cdf((hi[:, None] - means) / sd) - norm.cdf((lo[:, None] - means) / sd),
                                      axis=1)))
        assert got[-1] == pytest.approx(closed, abs=3e-3), t0
    assert np.all(np.diff(got) > 0) and got[-1] > 0.99


def test_exact_1d_fraction_agrees_with_sampling_the_reverse_sde():
    p = two_mode(3.0)
    x = p.sample(6, np.random.default_rng(3))
    f = draw_features(32, seed=1)
    A = gradient_flow(empirical_loss(x, f), [1e2, 1e6])
    for a in A:
        s = rf_score(f, a)
        exact = memorised_fraction(p, s, x)
        r = sampled_memorised_fraction(p.sde, s, x, n_samples=8000, seed=5, n_steps=400)
        assert 0.1 < exact < 0.9
        assert abs(r.fraction - exact) < 4 * r.se, (exact, r.fraction, r.se)
        assert r.lo < exact < r.hi or abs(r.fraction - exact) < 4 * r.se


def test_sampled_fraction_in_d_sees_the_empirical_score_memorise():
    """In d = 3, the exact score of p̂_t (a Gaussian mixture around the training points) at small t0
    memorises nearly every draw; a zero score memorises almost none."""
    rng = np.random.default_rng(2)
    x = 3.0 * rng.normal(size=(5, 3))
    sde = ou(5.0)

    def empirical_score(t, y):
        r, s2 = float(sde.r(t)), float(sde.sigma2(t))
        diff = r * x[None, :, :] - y[:, None, :]
        logw = -np.sum(diff**2, axis=2) / (2 * s2)
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("nk,nkd->nd", w, diff) / s2

    hit = sampled_memorised_fraction(sde, empirical_score, x, n_samples=2000, seed=0, t0=1e-3, n_steps=400)
    miss = sampled_memorised_fraction(sde, lambda t, y: np.zeros_like(y), x, n_samples=2000, seed=0, t0=1e-3)
    assert hit.fraction > 0.98 and miss.fraction < 0.1
    assert hit.lo <= hit.fraction <= hit.hi


def test_target_fraction_against_draws_of_the_target():
    p = two_mode(3.0, (0.3, 0.7))
    x = p.sample(20, np.random.default_rng(4))
    exact = target_memorised_fraction(p, x, t0=0.2)
    draws = p.sample(200_000, np.random.default_rng(5), 0.2)
    hits = is_memorised(draws, x)
    assert abs(hits.mean() - exact) < 4 * np.sqrt(exact * (1 - exact) / draws.size)
    assert 0.1 < exact < 0.6


def test_wilson_interval_matches_published_values():
    # Newcombe (1998), Table I: 0/10 -> [0, 0.2775]; 1/29 -> [0.0061, 0.1718] at 95%
    np.testing.assert_allclose(wilson_interval(0, 10), [0.0, 0.2775], atol=5e-5)
    np.testing.assert_allclose(wilson_interval(1, 29), [0.0061, 0.1718], atol=5e-5)
    lo, hi = wilson_interval(50, 100, 0.9)
    assert lo < 0.5 < hi and hi - 0.5 == pytest.approx(0.5 - lo)


def test_measure_adds_the_fraction_from_the_k2_law_and_round_trips():
    c = MeasureConfig(n=8, m=16, taus=(10.0, 1e5), seed=3, kl=("K1", "K2"), m_ref_factor=0, memorisation=True)
    r = measure(c)
    out = json.loads(json.dumps(r.to_json()))
    assert len(out["memorised_fraction"]) == 2 and all(0 <= v <= 1 for v in out["memorised_fraction"])
    for a, value in zip(r.A, out["memorised_fraction"]):
        _, law = kl_sde_law(make_target(c), rf_score(r.features, a), c.t0)
        assert value == memorised_mass(law, r.x_train)
    assert out["quantities"]["memorised_fraction_target"] == target_memorised_fraction(make_target(c), r.x_train)
    back = Measurement.from_json(out)
    np.testing.assert_array_equal(back.memorised_fraction, r.memorised_fraction)
    assert back.config == c
    # without K2 the law is solved for the fraction alone: the same numbers
    alone = measure(MeasureConfig(n=8, m=16, taus=(10.0, 1e5), seed=3, kl=("K1",), m_ref_factor=0, memorisation=True))
    np.testing.assert_array_equal(alone.memorised_fraction, r.memorised_fraction)


def test_measure_in_d_samples_the_fraction_with_its_standard_error():
    c = MeasureConfig(n=6, m=8, taus=(10.0, 1e4), seed=1, d=3, kl=("K1",), m_ref_factor=0, memorisation=True,
                      memorisation_samples=300)
    out = measure(c).to_json()
    assert len(out["memorised_fraction"]) == len(out["memorised_fraction_se"]) == 2
    for p, se in zip(out["memorised_fraction"], out["memorised_fraction_se"]):
        assert 0 <= p <= 1 and se == pytest.approx(np.sqrt(p * (1 - p) / 300))
    assert measure(c).to_json()["memorised_fraction"] == out["memorised_fraction"]  # seeded
    assert 0 <= out["quantities"]["memorised_fraction_target"] <= 1


def test_opt_in_fields_leave_the_inputs_of_earlier_measurements_unchanged():
    plain = MeasureConfig(n=8, m=8, taus=(1.0,))
    assert not {"memorisation", "memorisation_samples", "noise_draws"} & set(plain.to_dict())
    assert MeasureConfig(n=8, m=8, taus=(1.0,), memorisation=True).to_dict()["memorisation"] is True
    out = measure(MeasureConfig(n=8, m=8, taus=(1.0,), kl=("K1",), m_ref_factor=0)).to_json()
    assert "memorised_fraction" not in out and "memorised_fraction_target" not in out["quantities"]


@pytest.mark.parametrize("call, word", [
    (lambda: memorised_intervals([1.0]), "x_train"),
    (lambda: memorised_intervals([1.0, np.nan]), "x_train"),
    (lambda: memorised_intervals([[1.0, 2.0], [0.0, 1.0]]), "x_train"),
    (lambda: memorised_intervals([1.0, 2.0], ratio=1.0), "ratio"),
    (lambda: memorised_intervals([1.0, 2.0], ratio=True), "ratio"),
    (lambda: is_memorised([[0.0, 0.0]], [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), "points"),
    (lambda: wilson_interval(3, 2), "successes"),
    (lambda: wilson_interval(1, 0), "trials"),
    (lambda: wilson_interval(1, 2, level=1.0), "level"),
    (lambda: sampled_memorised_fraction(ou(), lambda t, x: x, [0.0, 1.0], n_samples=0), "n_samples"),
    (lambda: sampled_memorised_fraction(ou(), lambda t, x: x, [0.0, 1.0], t0=9.0), "t0"),
    (lambda: MeasureConfig(n=1, memorisation=True), "n"),
    (lambda: MeasureConfig(memorisation="yes"), "memorisation"),
    (lambda: MeasureConfig(memorisation_samples=1), "memorisation_samples"),
])
def test_bad_input_raises_naming_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def _measure(*flags: str, n: str = "16", m: str = "16") -> list[str]:
    return ["measure", "--n", n, "--m", m, "--tau", "10", "--seed", "0", "--kl", "K1", *flags]


@pytest.mark.parametrize("argv, word", [
    (_measure("--noise-draws", "0"), "noise_draws"), (_measure("--noise-draws", "-2"), "noise_draws"),
    (_measure("--noise-draws", "1.5"), "--noise-draws"), (_measure("--noise-draws", "nan"), "--noise-draws"),
    (_measure("--noise-draws", "1e7"), "noise_draws"),
    (_measure("--noise-draws", "100000", n="1000", m="1000"), "noise_draws = 100000"),
    (_measure("--memorisation", n="1"), "n must"), (_measure("--memorisation-samples", "1"), "memorisation_samples"),
    (_measure("--memorisation-samples", "abc"), "--memorisation-samples"),
    (_measure("--memorisation", "--d", "8", "--memorisation-samples", "1000000", m="3000"), "memorisation_samples"),
])
def test_measure_flags_exit_2_with_one_line_before_computing(argv, word, capsys, monkeypatch):
    import empirical.measure.run
    from verification.cli import main

    def started(*args, **kwargs):
        raise AssertionError("a computation started")

    monkeypatch.setattr(empirical.measure.run, "seeds", started)
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and word in err and "Traceback" not in err, err
    assert err.startswith("usage:") or err.count("\n") == 1
