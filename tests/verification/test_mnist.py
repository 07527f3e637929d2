"""The MNIST experiment (Figs. 6-7), random-feature route: the driver, its claims and ``diffgen mnist``."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import numpy as np
import pytest

from verification.store.cache import ResultCache
from verification.cli import main
from verification.designs.mnist import Design, experiment, summary
from verification.store.runner import Runner
from verification.sections.base import Context
from verification.sections.mnist import mnist_checks
from verification.designs.sweeps import QUICK

TINY = Design(K=10, d=8, m=32, taus=(10.0, 1e3, 1e5), seeds=(0, 1, 2), n_pairs=3, min_size=100, samples=4)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The store the module's experiment fills (the resume test reads it back)."""
    return ResultCache(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def result(store):
    return experiment(Runner(store, False), TINY)


def test_structure_and_the_protocol(result):
    assert result["n_digits"] == 5000 and len(result["near"]) == len(result["far"]) == 3
    near, far = result["near"][0], result["far"][0]
    assert near["center_distance"] < far["center_distance"] and near["n_train"] == far["n_train"]
    assert near["n_train"] + near["n_test"] == result["size"] and near["n_test"] == round(0.2 * result["size"])
    dists = [r["center_distance"] for r in result["ranked"]]
    assert dists == sorted(dists) and dists[0] == near["center_distance"] and dists[-1] == far["center_distance"]
    assert sorted(result["ranked_by_seed"]) == ["0", "1", "2"]  # every seed ranks the pairs (mnist-gap-vs-distance)
    assert all([r["task"]["seed"] for r in v] == [int(k)] * len(v) for k, v in result["ranked_by_seed"].items())
    assert np.asarray(near["sample_pixels"]).shape == (4, 784) and np.all(np.isfinite(near["fit"]["test_nll"]))


def test_resumes_from_the_store_and_is_deterministic(result, store, tmp_path_factory, monkeypatch):
    fresh = ResultCache(tmp_path_factory.mktemp("again"))
    first = experiment(Runner(fresh, False), replace(TINY, seeds=(0,), n_pairs=0))  # near and far at seed 0, anew
    for name in ("near", "far"):
        assert json.dumps(first[name][0], sort_keys=True) == json.dumps(result[name][0], sort_keys=True)
    import verification.designs.mnist as module

    monkeypatch.setattr(module, "fit_cloud", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    assert json.dumps(experiment(Runner(store, False), TINY), sort_keys=True) == json.dumps(result, sort_keys=True)


def _shifted(result: dict, delta: float) -> dict:
    """The result with the farthest pair's losses and held-out NLL moved by ``delta`` relative to the nearest."""
    out = copy.deepcopy(result)
    for near, far in zip(out["near"], out["far"]):
        far["fit"] = copy.deepcopy(near["fit"])
        for key in ("train_loss", "test_loss", "test_nll"):
            far["fit"][key] = [v + delta * (1 + 0.01 * near["task"]["seed"]) for v in near["fit"][key]]
    return out


@pytest.mark.parametrize("delta, verdict", [(0.5, "consistent"), (-0.5, "violated"), (0.0, "inconclusive")])
def test_the_paired_claims_can_fail(result, delta, verdict, tmp_path):
    ctx = Context(QUICK, tmp_path, Runner(ResultCache(tmp_path / "store"), show_progress=False))
    checks = {c.name: c for c in mnist_checks(ctx, _shifted(result, delta), {"K": TINY.K, "d": TINY.d})}
    assert checks["mnist-test-nll"].verdict == verdict
    expected_gap = {"consistent": "consistent", "violated": "mechanism-not-observed", "inconclusive": "inconclusive"}
    assert checks["mnist-gap"].verdict == expected_gap[verdict]
    assert checks["mnist-train-loss"].verdict in ((verdict,) if delta else ("inconclusive",))


def test_summary_has_the_cli_contract(result):
    s = summary(result)
    for name in ("nearest", "farthest"):
        assert {"clusters", "center_distance", "n_train", "n_test", "train_loss", "test_loss", "train_nll", "test_nll",
                "gap"} <= set(s[name])
        assert s[name]["gap"] == pytest.approx(s[name]["test_nll"] - s[name]["train_nll"])


def test_cli_bad_output_directory_exits_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["mnist", "--quick", "--out", str(blocker)]) == 2
    assert "--out" in capsys.readouterr().err
