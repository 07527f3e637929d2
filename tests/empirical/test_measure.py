"""The measurement pipeline and ``diffgen measure``: contract, determinism, and cross-checks of K1
(exact quadratic form) against K1 by grid quadrature of the same trained score (a second method)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verification.cli import main
from empirical.rf.features import rf_score
from empirical.kl import BOUNDARY_MASS_MAX, kl_score_bound
from empirical.rf.flow import gradient_flow
from empirical.measure import NUMERICS_VERSION, MeasureConfig, Measurement, make_target, measure

SMALL = dict(n=24, m=48, taus=(3.0, 3e3, 3e6), seed=5)


@pytest.fixture(scope="module")
def small() -> object:
    return measure(MeasureConfig(**SMALL))


def test_k1_quadratic_form_matches_grid_quadrature(small):
    # K1 = (T/2) L̃_g2(A) + KL(p_T‖π) from B1, B2, c against ½∫g² E(∇log p_t - s)² dt by t-quadrature
    # and x-trapezoid of the trained score itself (empirical.kl): two independent computations.
    target = make_target(small.config)
    grid = kl_score_bound(target, rf_score(small.features, small.A), method="quadrature", n_panels=16, n_x=1601)
    np.testing.assert_allclose(small.K["K1"], grid, rtol=2e-4)


def test_sampler_kl_below_score_bound(small):
    assert np.all(small.K["K2"] <= small.K["K1"])


def test_lemmas_hold_on_both_flows(small):
    # both flows' Lemmas 4-5, and the second evaluations of I2 and K1 with ledger-I2
    assert set(small.lemmas) == {"empirical_flow", "population_flow", "independent"}
    assert all(v["holds"] and v["failed"] == [] for v in small.lemmas.values())
    assert max(small.lemmas[f]["worst_ratio"]["lemma5"] for f in ("empirical_flow", "population_flow")) <= 1.0


def test_decomposition_adds_up_against_an_independent_loss_evaluation(small):
    # I1 + I2 + L̃(θ*) must be the population loss of the empirical flow's coefficients, evaluated here
    # afresh; L̃(θ*) must be the limit of the population flow; I3 >= 0 because the nested model of
    # 4m features contains the model of m (the same seed stream), so its minimum is lower.
    from empirical.rf.loss import population_loss

    q = small.quantities
    pop = population_loss(make_target(small.config), small.features, "std")
    np.testing.assert_allclose(small.I1 + small.I2 + q["loss_star"], pop.value(small.A), rtol=1e-9)
    assert q["loss_star"] == pytest.approx(float(pop.value(gradient_flow(pop, [1e14])[0])), rel=1e-6)
    assert np.isfinite(small.I3) and small.I3 >= 0 and q["m_ref"] == 4 * small.config.m
    assert np.all(small.I2 >= 0)


def test_json_round_trip_is_exact_and_drops_the_models(small, tmp_path):
    back = Measurement.from_json(json.loads(json.dumps(small.to_json())))
    assert back.config == small.config and set(back.K) == set(small.K)
    for k in small.K:
        assert np.array_equal(back.K[k], small.K[k])
    assert np.array_equal(back.I1, small.I1) and back.I3 == small.I3 and back.lemmas == small.lemmas
    assert back.features is None and back.A is None
    with pytest.raises(ValueError, match="holds no model"):
        back.save_model(str(tmp_path / "m.npz"))


def test_boundary_mass_is_recorded_and_round_trips_exactly(small):
    # one value per tau for K2, from the same solve as K2; below the truncation threshold here
    bm = small.boundary_mass["K2"]
    assert set(small.boundary_mass) == {"K2"} and bm.shape == (len(small.config.taus),)
    assert np.all((bm >= 0) & (bm <= BOUNDARY_MASS_MAX))
    obj = json.loads(json.dumps(small.to_json()))
    assert obj["boundary_mass"] == {"K2": [float(v) for v in bm]}
    # nonzero, tiny and awkward values must come back bit for bit
    awkward = np.array([1.0 / 3.0, 2.5e-300, 0.1 + 0.2])
    obj["boundary_mass"]["K2"] = [float(v) for v in awkward]
    back = Measurement.from_json(json.loads(json.dumps(obj)))
    assert set(back.boundary_mass) == {"K2"} and np.array_equal(back.boundary_mass["K2"], awkward)
    assert back.boundary_mass["K2"].dtype == float
    assert np.array_equal(Measurement.from_json(json.loads(json.dumps(small.to_json()))).boundary_mass["K2"], bm)
    # written before the field existed: read back as empty
    del obj["boundary_mass"]
    assert Measurement.from_json(obj).boundary_mass == {}
    assert isinstance(NUMERICS_VERSION, int) and NUMERICS_VERSION >= 2


def test_boundary_mass_is_empty_without_k2():
    r = measure(MeasureConfig(n=8, m=8, taus=(1.0,), kl=("K1", "K4"), m_ref_factor=0))
    assert r.boundary_mass == {} and r.to_json()["boundary_mass"] == {}
    assert Measurement.from_json(json.loads(json.dumps(r.to_json()))).boundary_mass == {}


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = measure(MeasureConfig(**{**SMALL, "kl": ("K1",)})).to_json()
    b = measure(MeasureConfig(**{**SMALL, "kl": ("K1",)})).to_json()
    c = measure(MeasureConfig(**{**SMALL, "kl": ("K1",), "seed": 6})).to_json()
    assert a["K1"] == b["K1"] and a["I1"] == b["I1"]
    assert a["K1"] != c["K1"]


@settings(max_examples=4)
@given(n=st.integers(8, 64), m=st.integers(8, 64), tau=st.floats(1.0, 1e8), seed=st.integers(0, 10_000),
       mu=st.floats(1.0, 5.0), q1=st.floats(0.2, 0.8))
def test_sampler_kl_below_score_bound_random_draws(n, m, tau, seed, mu, q1):
    r = measure(MeasureConfig(n=n, m=m, taus=(tau,), seed=seed, mu=mu, weights=(q1, 1 - q1), kl=("K1", "K2"),
                              m_ref_factor=0))
    assert r.K["K2"][0] <= r.K["K1"][0]


def test_cli_json_contract(capsys, tmp_path):
    path = tmp_path / "model.npz"
    args = ["measure", "--target", "gm", "--mu", "2.5", "--weights", "0.3,0.7", "--n", "16", "--m", "32",
            "--tau", "10,1000", "--seed", "3", "--json", "--save-model", str(path)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("K1", "K2", "K3", "K4", "I1", "I2", "I3"):
        assert len(out[key]) == 2 and all(isinstance(v, float) for v in out[key])
    assert out["tau"] == [10.0, 1000.0] and out["inputs"]["weights"] == [0.3, 0.7]
    assert set(out["timings"]) >= {"losses", "flows", "K1", "K2", "K3", "K4"}
    model = np.load(path)
    assert model["W"].shape == (32, 1) and model["U"].shape == (32, 2) and model["A"].shape == (2, 1, 32)
    assert model["x_train"].shape == (16, 1) and list(model["tau"]) == [10.0, 1000.0]
    assert float(model["T"]) == 5.0 and str(model["embedding"]) == "1,t/T"
    assert main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in again.items() if k != "timings"} == {k: v for k, v in out.items() if k != "timings"}


def test_saved_model_reproduces_the_score(tmp_path):
    path = tmp_path / "m.npz"
    assert main(["measure", "--n", "16", "--m", "32", "--tau", "100", "--seed", "1", "--kl", "K1",
                 "--save-model", str(path)]) == 0
    model = np.load(path)
    x = np.linspace(-4, 4, 9)
    t = 0.7
    pre = x[:, None] * model["W"][:, 0] + model["U"] @ np.array([1.0, t / float(model["T"])])
    expected = np.maximum(pre, 0) @ model["A"][0, 0] / 32
    r = measure(MeasureConfig(n=16, m=32, taus=(100.0,), seed=1, kl=("K1",)))
    np.testing.assert_allclose(rf_score(r.features, r.A[0])(t, x), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("args,name", [
    (["--n", "0"], "n"), (["--m", "-3"], "m"), (["--tau", "0"], "tau"), (["--tau", "1,nan"], "tau"),
    (["--mu", "-1"], "mu"), (["--target", "bump", "--mu", "0.8"], "mu"), (["--weights", "0.5,0.6"], "weights"), (["--T", "0"], "T"),
    (["--lambda", "g2"], "t0"), (["--kl", "K2"], "kl"), (["--seed", "-1"], "seed"),
])
def test_cli_bad_input_exits_2_naming_the_parameter(capsys, args, name):
    base = {"--n": "16", "--m": "16", "--tau": "10", "--seed": "0"}
    flags = dict(zip(args[::2], args[1::2]))
    argv = ["measure"] + [v for k, val in {**base, **flags}.items() for v in (k, val)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and name in err[0]


def test_lemma_checks_reject_a_trajectory_that_is_not_the_flow(small):
    # Lemma 5 bounds the distance travelled by the loss drop: a path that overshoots three times as
    # far cannot satisfy it, so the check must report a violation.
    from empirical.rf.loss import empirical_losses
    from empirical.measure.lemma_checks import lemma_checks

    emp = empirical_losses(small.x_train, small.features, make_target(small.config).sde, ("std",))["std"]
    taus = np.asarray(small.config.taus)
    A = gradient_flow(emp, taus)
    assert lemma_checks(emp, A, taus)["holds"]
    assert not lemma_checks(emp, 3.0 * A, taus)["holds"]
