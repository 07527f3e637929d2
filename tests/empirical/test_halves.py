"""``diffgen halves``: the contract of the issue (JSON keys, the .npz), the score distance D(τ) against independent
evaluations from the saved model alone (quadrature in 1-D, Monte Carlo in d), D = 0 and KL = 0 for identical
halves, the KL between samplers against a closed form, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from empirical.rf.features import draw_features, rf_score
from empirical.measure.halves import HalvesConfig, halves, sampler_laws, score_distance, split_halves, train_halves
from empirical.kl import kl_cells, kl_score_bound
from empirical.rf.loss import population_loss
from empirical.measure import MeasureConfig, make_target, measure, seeds
from empirical.scores import exact_score
from empirical.sde import ou
from empirical.targets import gaussian, two_mode
from verification.cli import main


def _scores(model: dict, t: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s_1, s_2 of every saved τ at (t, x): shape (len(tau), N, d), from W, U, A1, A2, T alone."""
    T, W, U = float(model["T"]), model["W"], model["U"]
    m = W.shape[0]
    x = x.reshape(len(x), -1)
    phi = np.maximum(x @ W.T + np.array([1.0, t / T]) @ U.T, 0.0)
    return np.einsum("nm,kdm->knd", phi, model["A1"]) / m, np.einsum("nm,kdm->knd", phi, model["A2"]) / m


def _run(capsys, argv: list[str]) -> dict:
    assert main(["halves", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_1d_contract_and_score_distance_against_quadrature(tmp_path, capsys):
    path = tmp_path / "halves.npz"
    out = _run(capsys, ["--target", "gm", "--mu", "2.5", "--weights", "0.3,0.7", "--n", "41", "--m", "24",
                        "--tau", "10,1000,100000", "--seed", "3", "--save-model", str(path)])
    assert {"tau", "score_distance", "kl_between", "K1_half1", "K1_half2", "kl_between_floored_mass"} <= set(out)
    assert all(len(out[k]) == 3 for k in ("score_distance", "kl_between", "K1_half1", "K1_half2"))
    model = np.load(path)
    assert model["W"].shape == (24, 1) and model["U"].shape == (24, 2)
    assert model["A1"].shape == model["A2"].shape == (3, 1, 24)
    assert model["x1"].shape == model["x2"].shape == (20, 1)
    np.testing.assert_array_equal(model["tau"], [10.0, 1000.0, 1e5])
    assert float(model["T"]) == 5.0
    # the halves are the first and the next 20 of the sample measure draws with this seed
    c = MeasureConfig(mu=2.5, weights=(0.3, 0.7), n=41, m=24, seed=3)
    x = make_target(c).sample(41, seeds(3)[0])
    np.testing.assert_array_equal(model["x1"][:, 0], x[:20])
    np.testing.assert_array_equal(model["x2"][:, 0], x[20:40])
    # D by an independent quadrature: Gauss–Legendre in u (t = T u², the t^{-1/2} of p_t's spread absorbed),
    # the trapezoid rule in x over ±12 of p_t, the target's exact density
    target = two_mode(2.5, (0.3, 0.7))
    u, wu = np.polynomial.legendre.leggauss(48)
    u, wu = (u + 1) / 2, wu / 2
    D = np.zeros(3)
    for ui, wi in zip(u, wu):
        t = 5.0 * ui**2
        xs = np.linspace(-2.5 - 12, 2.5 + 12, 6001)
        s1, s2 = _scores(model, t, xs)
        inner = np.trapezoid(target.pdf(t, xs) * np.sum((s1 - s2) ** 2, axis=2), xs, axis=1)
        D += wi * 10.0 * ui * 0.5 * 2.0 * inner  # dt = 2 T u du, g² = 2
    np.testing.assert_allclose(out["score_distance"], D, rtol=2e-6)  # measured 2.5e-7
    assert all(v > 0 for v in out["score_distance"])


def test_score_distance_in_d_against_monte_carlo_from_the_saved_model(tmp_path, capsys):
    path = tmp_path / "halves.npz"
    out = _run(capsys, ["--d", "3", "--n", "30", "--m", "20", "--tau", "30,3000,300000", "--seed", "7",
                        "--mu", "2.0", "--save-model", str(path)])
    assert "kl_between" not in out and len(out["K1_half1"]) == 3
    model = np.load(path)
    assert model["W"].shape == (20, 3) and model["A1"].shape == (3, 3, 20) and model["x2"].shape == (15, 3)
    target = make_target(MeasureConfig(d=3, mu=2.0))
    rng = np.random.default_rng(0)
    n = 30_000
    t = rng.uniform(0.0, 5.0, n)
    x = np.stack([target.sample(1, rng, ti)[0] for ti in t])
    m = 20
    phi = np.maximum(x @ model["W"].T + np.stack([np.ones(n), t / 5.0], axis=1) @ model["U"].T, 0.0)
    for k, value in enumerate(out["score_distance"]):
        diff = phi @ (model["A1"][k] - model["A2"][k]).T / m
        samples = 0.5 * 5.0 * 2.0 * np.sum(diff**2, axis=1)
        mean, se = samples.mean(), samples.std(ddof=1) / np.sqrt(n)
        assert abs(value - mean) < 4 * se, (value, mean, se)


def test_identical_halves_have_zero_distance_and_zero_kl():
    target = two_mode(3.0)
    x = target.sample(12, np.random.default_rng(0))
    f = draw_features(16, seed=0)
    A1, A2 = train_halves(x, x.copy(), f, target.sde, np.array([10.0, 1e5]))
    pop = population_loss(target, f, "g2")
    assert np.all(score_distance(pop, A1, A2) == 0.0)
    q1, q2 = sampler_laws(target, [rf_score(f, A1[1]), rf_score(f, A2[1])], n_cells=400, n_steps=40)
    assert kl_cells(q1.q, q2.q, q1.h) == 0.0


def test_kl_between_samplers_matches_a_closed_form_and_is_nonnegative():
    """Exact scores of N(a, 1) and N(b, 1) under OU (T = 1) from π = N(0, 1): the laws are N(a (1 - e^{-2T}), 1) and
    N(b (1 - e^{-2T}), 1), whose KL is ((a - b)(1 - e^{-2T}))²/2."""
    p = gaussian(0.0, 1.0, sde=ou(1.0))
    sa, sb = (exact_score(gaussian(v, 1.0, sde=ou(1.0))) for v in (0.3, -0.2))
    q1, q2 = sampler_laws(p, [sa, sb])
    assert np.array_equal(q1.edges, q2.edges)
    closed = (0.5 * (1 - np.exp(-2.0))) ** 2 / 2
    assert kl_cells(q1.q, q2.q, q1.h) == pytest.approx(closed, rel=1e-3)
    assert kl_cells(q2.q, q1.q, q1.h) == pytest.approx(closed, rel=1e-3)


def test_python_entry_point_agrees_with_measure_and_k1():
    c = HalvesConfig(n=20, m=16, taus=(10.0, 1e4), seed=2)
    r = halves(c)
    assert np.all(r.kl_between >= 0) and np.all(r.kl_between_reverse >= 0)
    # each half's K1 is K1 of its model; K2 of each half is the engine's K2 of that model (same grid here)
    target = make_target(c.measure_config())
    for A, K1 in ((r.A1, r.K1_half1), (r.A2, r.K1_half2)):
        np.testing.assert_allclose(K1, kl_score_bound(target, rf_score(r.features, A)), rtol=1e-12)
    # the first half's model is measure's model on the first n // 2 points (same features)
    m1 = measure(MeasureConfig(n=10, m=16, taus=(10.0, 1e4), seed=2, kl=("K1", "K2"), m_ref_factor=0))
    assert np.array_equal(m1.features.W, r.features.W)
    x1, _ = split_halves(target.sample(20, seeds(2)[0]))
    np.testing.assert_array_equal(r.x1, x1)
    np.testing.assert_allclose(r.K2_half1, [measure_k2(target, r.features, a) for a in r.A1], rtol=1e-10)


def measure_k2(target, features, A) -> float:
    from empirical.kl import kl_sde

    return kl_sde(target, rf_score(features, A))


def test_table_output(capsys):
    assert main(["halves", "--n", "8", "--m", "8", "--tau", "10", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert "score_distance" in out and "kl_between" in out


BASE = ["halves", "--n", "16", "--m", "16", "--tau", "10", "--seed", "0"]


def _with(*pairs: str) -> list[str]:
    argv = list(BASE)
    for flag, value in zip(pairs[::2], pairs[1::2]):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    return argv


@pytest.mark.parametrize("argv, word", [
    (_with("--n", "1"), "n must"), (_with("--n", "0"), "n must"), (_with("--n", "1.5"), "--n"),
    (_with("--m", "0"), "m must"), (_with("--m", "20000"), "m = 20000"), (_with("--tau", "0"), "tau"),
    (_with("--tau", "abc"), "--tau"), (_with("--seed", "-1"), "seed"), (_with("--d", "0"), "d must"),
    (_with("--d", "3", "--target", "bump"), "bump"), (_with("--mu", "-1"), "mu"), (_with("--weights", "0.5,0.6"), "weights"),
    (_with("--T", "0.01"), "T"), (_with("--t0", "5"), "t0"), (_with("--lambda", "g2"), "t0"),
    (_with("--max-memory", "0"), "max_memory"), (_with("--save-model", "/nonexistent-dir/x.npz"), "--save-model"),
    (_with("--save-model", "model"), "--save-model"),
])
def test_bad_input_exits_2_with_one_line_before_computing(argv, word, capsys, monkeypatch):
    import empirical.measure.halves

    def started(*args, **kwargs):
        raise AssertionError("a computation started")

    monkeypatch.setattr(empirical.measure.halves, "seeds", started)
    rc = None
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse usage errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and word in err and "Traceback" not in err


@pytest.mark.parametrize("call, word", [
    (lambda: HalvesConfig(n=1), "n must"),
    (lambda: HalvesConfig(n=True), "n must"),
    (lambda: HalvesConfig(d=2, target="bump"), "bump"),
    (lambda: halves("config"), "config"),
    (lambda: halves(HalvesConfig(n=8, m=8), max_memory=-1), "max_memory"),
    (lambda: split_halves(np.zeros(1)), "n >= 2"),
    (lambda: score_distance(population_loss(two_mode(3.0), draw_features(4), "std", n_t=4), np.zeros((1, 4)),
                            np.zeros((1, 4))), "g2"),
    (lambda: score_distance(population_loss(two_mode(3.0), draw_features(4), "g2", n_t=4), np.zeros((1, 4)),
                            np.zeros((1, 3))), "same shape"),
    (lambda: sampler_laws(two_mode(3.0), [two_mode(3.0).score], reach=3.0), "reach"),
])
def test_api_bad_input_raises_naming_the_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_kl_between_floors_an_underflowed_law_and_reports_the_mass_there():
    from empirical.measure.halves import _kl_floored

    p, q, h = np.array([0.25, 0.25, 0.0]), np.array([0.5, 0.0, -1e-90]), np.array([2.0, 2.0, 2.0])
    kl, mass = _kl_floored(p, q, h)
    tiny = np.finfo(float).tiny
    assert kl == pytest.approx(0.5 * np.log(0.5) + 0.5 * np.log(0.25 / tiny), rel=1e-14)
    assert mass == 0.5
    assert _kl_floored(p, p, h) == (0.0, 0.0)


def test_cloud_halves_score_distance_against_monte_carlo_over_the_held_out_points():
    """D weighted by held-out points (real data): Monte Carlo over t ~ U(t0, T) and the noised held-out points,
    from the features and the two flows recomputed here, against the exact value; identical halves give 0."""
    from empirical.measure.point_cloud import cloud_halves

    rng = np.random.default_rng(3)
    y, y_test = rng.standard_normal((24, 2)), rng.standard_normal((9, 2))
    T, t0, m, taus = 5.0, 1e-3, 12, np.array([30.0, 3e4])
    out = cloud_halves(y, y_test, m, taus, seed=5, ns=(24,), T=T, t0=t0)
    f, sde = draw_features(m, 2, 5, T=T), ou(T)
    A1, A2 = train_halves(y[:12], y[12:24], f, sde, taus, "std", t0)
    n = 200_000
    t = rng.uniform(t0, T, n)
    i = rng.integers(0, len(y_test), n)
    x = np.exp(-t)[:, None] * y_test[i] + np.sqrt(1 - np.exp(-2 * t))[:, None] * rng.standard_normal((n, 2))
    phi = np.maximum(x @ f.W.T + np.stack([np.ones(n), t / T], axis=1) @ f.U.T, 0.0)
    for k, value in enumerate(out["score_distance"][0]):
        diff = phi @ (A1[k] - A2[k]).T / m
        samples = 0.5 * (T - t0) * 2.0 * np.sum(diff**2, axis=1)  # g^2 = 2 under OU
        mean, se = samples.mean(), samples.std(ddof=1) / np.sqrt(n)
        assert abs(value - mean) < 4 * se, (value, mean, se)
    twin = np.concatenate([y[:12], y[:12]])
    assert np.all(np.asarray(cloud_halves(twin, y_test, m, taus, 5, (24,), T, t0)["score_distance"]) == 0.0)
    with pytest.raises(ValueError, match="ns must be sizes in"):
        cloud_halves(y, y_test, m, taus, 5, (1, 24))
