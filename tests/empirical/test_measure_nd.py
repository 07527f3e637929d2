"""``diffgen measure --d D``: the contract of issue 9, and K1 in R^d against an independent Monte Carlo.

The Monte Carlo reads only the saved model (W, U, A, T from ``--save-model``) and the target's exact
score: it re-implements s(x, t) = (1/m) A relu(W x + U (1, t/T)) with numpy and averages
½ (T - t0) g(t)² ‖s - ∇log p_t‖² over t ~ U(t0, T), x ~ p_t, plus KL(p_T ‖ π) in closed form.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from empirical.measure import MeasureConfig, make_target, measure
from verification.cli import main


def _monte_carlo_k1(model: dict, target, n: int, seed: int, per_t: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(K1, standard error) for each τ of the saved model, from n draws of (t, x): n / per_t times t ~ U(0, T),
    per_t draws x ~ p_t at each; the standard error from the per-t means (the draws at one t are not independent
    of its t)."""
    rng = np.random.default_rng(seed)
    T, W, U, A = float(model["T"]), model["W"], model["U"], model["A"]
    m, k = W.shape[0], n // per_t
    t = rng.uniform(0.0, T, k)
    x = np.stack([target.sample(per_t, rng, ti) for ti in t])  # (k, per_t, d)
    exact = np.stack([target.score(ti, xi) for ti, xi in zip(t, x)])
    time_in = np.stack([np.ones_like(t), t / T], axis=1) @ U.T  # (k, m)
    feats = np.maximum(x @ W.T + time_in[:, None, :], 0.0)  # (k, per_t, m)
    out, se = [], []
    for Ai in A:
        err = np.sum((feats @ Ai.T / m - exact) ** 2, axis=-1)  # (k, per_t)
        values = (0.5 * T * 2.0 * err).mean(axis=1)  # OU: g(t)² = 2; one mean per t
        out.append(values.mean() + target.kl_to_prior())
        se.append(values.std(ddof=1) / np.sqrt(k))
    return np.array(out), np.array(se)


def test_k1_in_d_matches_an_independent_monte_carlo_from_the_saved_model(tmp_path, capsys):
    path = tmp_path / "model.npz"
    code = main(["measure", "--d", "5", "--n", "37", "--m", "45", "--tau", "30,3000,300000", "--seed", "11",
                 "--mu", "2.5", "--weights", "0.3,0.7", "--direction", "random", "--kl", "K1",
                 "--save-model", str(path), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    model = np.load(path)
    assert model["W"].shape == (45, 5) and model["U"].shape == (45, 2) and model["A"].shape == (3, 5, 45)
    assert model["x_train"].shape == (37, 5)
    target = make_target(MeasureConfig(**{k: v for k, v in out["inputs"].items() if k != "kl"}))
    mc, se = _monte_carlo_k1(model, target, 80_000, seed=0)
    assert np.all(np.abs(np.array(out["K1"]) - mc) <= 0.02 * mc + se), (out["K1"], mc, se)


def test_json_keeps_only_the_kls_of_that_dimension(capsys):
    assert main(["measure", "--d", "3", "--n", "8", "--m", "8", "--tau", "10,100", "--seed", "0",
                 "--ode-samples", "200", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"K1", "K3", "K3_se"} <= set(out) and not {"K2", "K4"} & set(out)
    assert len(out["K1"]) == len(out["K3"]) == len(out["tau"]) == 2
    assert all(np.isfinite(out["K3"])) and all(s > 0 for s in out["K3_se"])


@pytest.mark.parametrize("argv, word", [
    (["--d", "0"], "d must be"), (["--d", "3", "--kl", "K1,K2"], "K2"), (["--d", "2", "--kl", "K1,K4"], "K4"),
    (["--d", "3", "--target", "bump"], "bump"), (["--d", "64", "--m", "200000"], "d = 64"),
])
def test_bad_d_input_exits_2_with_one_line(argv, word, capsys):
    base = ["measure", "--n", "8", "--m", "8", "--tau", "10", "--seed", "0"]
    assert main(base + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and word in err[0]


def test_d1_is_the_one_dimensional_engine():
    """d = 1 ignores the d-only fields (direction, ode_samples): the 1-D engine, number for number."""
    a = measure(MeasureConfig(n=16, m=16, taus=(10.0, 1e4), seed=2, kl=("K1", "K2"), m_ref_factor=0))
    b = measure(MeasureConfig(n=16, m=16, taus=(10.0, 1e4), seed=2, kl=("K1", "K2"), m_ref_factor=0, d=1,
                              direction="random", ode_samples=10))
    for k in a.K:
        np.testing.assert_array_equal(a.K[k], b.K[k])


def test_measurement_in_d_is_deterministic_and_round_trips():
    c = MeasureConfig(n=12, m=16, taus=(10.0, 1e3), seed=4, d=4, ode_samples=100, m_ref_factor=0)
    r1, r2 = measure(c), measure(c)
    for k in r1.K:
        np.testing.assert_array_equal(r1.K[k], r2.K[k])
    back = type(r1).from_json(json.loads(json.dumps(r1.to_json())))
    np.testing.assert_array_equal(back.standard_errors["K3"], r1.standard_errors["K3"])
    assert back.config == c
