"""Training that diverges, memory estimates checked against measured memory, and model files that rebuild their run."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from verification.output.formats import to_jsonable
from empirical.kl.probe import NonFiniteScore
from empirical.training.nets import SwishNet, build_net, load_score
from empirical.resources import ODE_POINT_WORDS, train_memory_estimate
from empirical.sde import ou, ve
from empirical.targets import two_mode, two_mode_nd
from empirical.training import DIVERGENCE_FACTOR, TrainingDiverged, train

ROOT = Path(__file__).resolve().parents[2]


def _x(n=32, seed=0):
    return two_mode(3.0).sample(n, np.random.default_rng(seed))


def test_a_diverging_run_stops_at_the_first_non_finite_epoch_with_the_records_before():
    seen = []
    with pytest.raises(TrainingDiverged) as err:
        train(SwishNet(8, sde=ve(), seed=0), _x(), lr=1e10, epochs=50, eval_every=1, seed=0,
              callback=lambda e, net, loss: seen.append(loss) or None)
    d = err.value
    assert "lr = 1e+10" in str(d) and d.epoch >= 1 and len(d.records) == d.epoch == len(seen)
    assert all(math.isfinite(r["train_loss"]) for r in d.records)


def test_a_loss_that_grows_without_overflowing_counts_as_diverged():
    """Random features under OU at lr 1e8: the loss is multiplied by ~1e14 per epoch and stays finite for 20 epochs."""
    net = build_net("rf", 8, ou(), 0)
    with pytest.raises(TrainingDiverged, match=re.escape(f"above {DIVERGENCE_FACTOR:g} times its start")) as err:
        train(net, _x(16), lr=1e8, epochs=20, eval_every=20, seed=0)
    assert err.value.epoch == 2


def test_a_score_that_turns_non_finite_at_a_checkpoint_is_divergence():
    def callback(epoch, net, loss):
        if epoch == 2:
            raise NonFiniteScore("score(t, x) must be finite, got nan at t = 0, x = 1")

    with pytest.raises(TrainingDiverged, match="score is not finite") as err:
        train(SwishNet(8, sde=ve(), seed=0), _x(), lr=0.1, epochs=4, eval_every=2, seed=0, callback=callback)
    assert err.value.epoch == 2 and [r["epoch"] for r in err.value.records] == [0]


def test_a_stable_run_is_not_flagged():
    recs = train(build_net("rf", 8, ou(), 0), _x(16), lr=0.5, epochs=20, eval_every=10, seed=0)
    assert [r["epoch"] for r in recs] == [0, 10, 20]


def test_a_diverged_paper_run_is_recorded_with_the_existing_flag_and_finite_records():
    from empirical.training.paper_runs import PaperRun, run_paper

    out = run_paper(PaperRun(lr=1e10, epochs=40, eval_every=2, n=64, measures=("K2", "grid_kl")))
    assert out["diverged"] is True and out["stopped"] is None and len(out["records"]) >= 1
    json.dumps(to_jsonable(out), allow_nan=False)  # every number finite
    assert all(math.isfinite(v) for r in out["records"] for k, v in r.items() if k != "epoch")


# ---- memory estimates against measured memory ----

@pytest.mark.slow
@pytest.mark.parametrize("argv", ["--net rf --width 1024 --n 64", "--net swish --width 2048 --n 20000"])
def test_the_train_estimate_lies_above_the_measured_peak(argv):
    code = ("import resource, sys, warnings; warnings.simplefilter('ignore'); from verification.cli import main; "
            f"rc = main('train --epochs 0 --json {argv}'.split()); "
            "print(rc, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    rc, peak = proc.stderr.strip().splitlines()[-1].split()
    args = argv.split()
    estimate = train_memory_estimate(args[1], int(args[3]), int(args[5]), 32)["total"]
    assert rc == "0" and int(peak) <= estimate <= 2.5 * int(peak)


def test_the_ode_points_estimate_covers_the_traced_peak():
    """K3 in d >= 2 draws its points and evaluates log p_t0 of them (ODE_POINT_WORDS words per coordinate)."""
    n, d = 2000, 96
    target = two_mode_nd(3.0, d, direction=np.ones(d))
    tracemalloc.start()
    x = np.asarray(target.sample(n, np.random.default_rng(0)))
    target.logpdf(0.0, x)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert 0.8 * ODE_POINT_WORDS * 8 * n * d <= peak + 2 * 8 * d * d <= 1.0 * ODE_POINT_WORDS * 8 * n * d + 2 * 8 * d * d


# ---- model files that rebuild their run ----

def test_measure_model_file_records_the_direction_and_the_configuration(tmp_path):
    from empirical.measure import MeasureConfig, make_target, measure

    c = MeasureConfig(n=8, m=8, taus=(1.0,), kl=("K1",), m_ref_factor=0, d=3, direction="random", seed=5)
    path = tmp_path / "m.npz"
    measure(c).save_model(str(path))
    f = np.load(path)
    rebuilt = MeasureConfig(**json.loads(str(f["config"])))
    assert rebuilt == c and str(f["sde"]) == "ou" and float(f["T"]) == c.T
    np.testing.assert_array_equal(f["direction"], make_target(rebuilt).direction)
    assert not np.allclose(np.abs(f["direction"]), [1, 0, 0])  # a random direction, not e1


def test_train_model_file_records_the_target_seeds_and_optimiser(tmp_path, capsys):
    import torch

    from verification.cli import main

    path = tmp_path / "net.pt"
    assert main(["train", "--width", "8", "--epochs", "1", "--eval-every", "1", "--n", "16", "--mu", "2.5",
                 "--weights", "0.3,0.7", "--seed", "4", "--save-model", str(path), "--json"]) == 0
    meta = torch.load(path, weights_only=True)["meta"]
    assert {k: meta[k] for k in ("target", "mu", "weights", "sde", "master_seed", "n", "optimizer", "lr")} == {
        "target": "gm", "mu": 2.5, "weights": [0.3, 0.7], "sde": "ve", "master_seed": 4, "n": 16, "optimizer": "sgd",
        "lr": 0.5}
    records = json.loads(capsys.readouterr().out)
    from empirical.kl import kl_sde
    from empirical.sde import sde_by_name

    target = two_mode(meta["mu"], tuple(meta["weights"]), sde=sde_by_name(meta["sde"]))  # rebuilt from the file
    assert kl_sde(target, load_score(str(path), 1)) == pytest.approx(records[-1]["K2"], rel=1e-12)
