"""Resumable result cache: stable keys, exact round trips, crash safety, recovery from corruption."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from verification.cache import ResultCache, canonical_json, config_key

WORKTREE = Path(__file__).resolve().parents[2]
CONFIG = {"n": 1000, "m": np.int64(256), "tau": np.float64(0.1), "mu": [3.0, np.float32(1.5)],
          "target": {"name": "two_mode", "weights": np.array([0.5, 0.5])}, "seed": 0}


def test_canonical_json_is_sorted_compact_and_exact():
    # Independent reference: the canonical text written by hand, hashed with hashlib directly.
    text = '{"m":256,"mu":[3.0,1.5],"n":1000,"seed":0,"target":{"name":"two_mode","weights":[0.5,0.5]},"tau":0.1}'
    assert canonical_json(CONFIG) == text
    assert config_key(CONFIG) == hashlib.sha256(text.encode()).hexdigest()


def test_equal_configs_share_a_key_and_different_ones_do_not():
    reordered = {"seed": 0, "tau": 0.1, "target": {"weights": [0.5, 0.5], "name": "two_mode"},
                 "mu": [3.0, 1.5], "m": 256, "n": 1000}
    assert config_key(reordered) == config_key(CONFIG)
    variants = [{**CONFIG, "tau": np.nextafter(0.1, 1.0)}, {**CONFIG, "n": 1000.0}, {**CONFIG, "seed": 1},
                {**CONFIG, "mu": [1.5, 3.0]}, {**CONFIG, "extra": None}]
    keys = {config_key(v) for v in variants} | {config_key(CONFIG)}
    assert len(keys) == len(variants) + 1


@pytest.mark.parametrize("hashseed", ["1", "12345"])
def test_key_is_stable_across_processes(hashseed):
    code = ("import numpy as np, sys; sys.path.insert(0, 'tests/verification'); from test_cache import CONFIG; "
            "from verification.cache import config_key; print(config_key(CONFIG))")
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    out = subprocess.run([sys.executable, "-c", code], cwd=WORKTREE, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == config_key(CONFIG)


def test_round_trip_and_config_stored_beside_result(tmp_path):
    cache = ResultCache(tmp_path)
    assert cache.get(CONFIG) is None
    stored = cache.put(CONFIG, {"kl": np.float64(0.123456789012345678), "curve": np.array([1.0, np.nan]), "ok": True})
    got = cache.get(CONFIG)
    assert got == {"kl": 0.123456789012345678, "curve": [1.0, got["curve"][1]], "ok": True}
    assert np.isnan(got["curve"][1])  # non-finite values survive the round trip
    assert stored["kl"] == got["kl"] and stored["curve"][0] == got["curve"][0]
    entry = json.loads(cache.path(CONFIG).read_text())
    assert entry["config"]["target"]["weights"] == [0.5, 0.5] and entry["key"] == config_key(CONFIG)


def test_get_or_compute_computes_once(tmp_path):
    calls = []

    def fn(cfg):
        calls.append(cfg)
        return {"value": cfg["n"] * 2, "arr": np.arange(2)}

    first = ResultCache(tmp_path).get_or_compute(CONFIG, fn)
    again = ResultCache(tmp_path).get_or_compute(CONFIG, fn)  # a fresh process would see the same
    assert len(calls) == 1
    assert first == again == {"value": 2000, "arr": [0, 1]}


def test_failing_computation_stores_nothing(tmp_path):
    cache = ResultCache(tmp_path)

    def boom(cfg):
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        cache.get_or_compute(CONFIG, boom)
    assert list(tmp_path.iterdir()) == []


def test_process_killed_mid_write_leaves_no_entry(tmp_path):
    # The child dies (SIGKILL) after writing part of the entry, before the atomic rename.
    code = f"""
import os, signal, sys
sys.path.insert(0, 'tests/verification')
from test_cache import CONFIG
from verification.cache import ResultCache
def die(fd):
    os.kill(os.getpid(), signal.SIGKILL)
os.fsync = die
ResultCache({str(tmp_path)!r}).put(CONFIG, {{"kl": list(range(100000))}})
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=WORKTREE, capture_output=True)
    assert proc.returncode == -9
    cache = ResultCache(tmp_path)
    assert not cache.path(CONFIG).exists()
    assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # the partial file is a temporary
    assert cache.get(CONFIG) is None
    assert cache.get_or_compute(CONFIG, lambda cfg: {"kl": 1.0}) == {"kl": 1.0}
    assert cache.get(CONFIG) == {"kl": 1.0}


@pytest.mark.parametrize(
    "content, reason",
    [
        ('{"schema": 1, "key": "x", "config": {', "Expecting"),
        ('{"schema": 99, "config": {}, "result": {}}', "schema 99"),
        ('{"schema": 1, "config": {"n": 1}, "result": {"kl": 1.0}}', "stored config differs"),
        ('{"schema": 1, "config": null}', "config must be a mapping"),
    ],
)
def test_corrupt_entry_is_recomputed_with_a_warning(tmp_path, content, reason):
    cache = ResultCache(tmp_path)
    cache.path(CONFIG).write_text(content)
    with pytest.warns(UserWarning, match=f"corrupt cache entry.*{reason}"):
        result = cache.get_or_compute(CONFIG, lambda cfg: {"kl": 0.5})
    assert result == {"kl": 0.5}
    assert cache.get(CONFIG) == {"kl": 0.5}  # repaired


def test_bad_arguments_raise_value_error(tmp_path):
    with pytest.raises(ValueError, match="config must be a mapping"):
        config_key([1, 2])
    with pytest.raises(ValueError, match="result must be a mapping"):
        ResultCache(tmp_path).put(CONFIG, [1.0])
    with pytest.raises(ValueError, match="dict keys must be str"):
        config_key({"a": {1: 2}})
