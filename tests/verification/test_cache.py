"""Resumable result store: stable keys, exact round trips, checksums, crash safety, concurrent writers,
recovery from corruption."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from verification.store.cache import CACHE_SCHEMA, CacheEntryWarning, ResultCache, canonical_json, config_key

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
            "from verification.store.cache import config_key; print(config_key(CONFIG))")
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
    assert list(tmp_path.rglob("*")) == []


def test_process_killed_mid_write_leaves_no_entry(tmp_path):
    # The child dies (SIGKILL) after writing part of the entry, before the atomic rename.
    code = f"""
import os, signal, sys
sys.path.insert(0, 'tests/verification')
from test_cache import CONFIG
from verification.store.cache import ResultCache
def die(fd):
    os.kill(os.getpid(), signal.SIGKILL)
os.fsync = die
ResultCache({str(tmp_path)!r}).put(CONFIG, {{"kl": list(range(100000))}})
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=WORKTREE, capture_output=True)
    assert proc.returncode == -9
    cache = ResultCache(tmp_path)
    assert not cache.path(CONFIG).exists()
    assert any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))  # the partial file is a temporary
    assert cache.get(CONFIG) is None
    assert cache.get_or_compute(CONFIG, lambda cfg: {"kl": 1.0}) == {"kl": 1.0}
    assert cache.get(CONFIG) == {"kl": 1.0}


@pytest.mark.parametrize(
    "content, reason",
    [
        ('{"schema": 2, "key": "x", "config": {', "not JSON"),
        ("", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"schema": 99, "config": {}, "result": {}}', "schema 99"),
        ('{"schema": 2, "config": {"n": 1}, "result": {"kl": 1.0}}', "missing fields"),
        ('{"schema": 2, "config": null}', "schema 2|missing fields"),
    ],
)
def test_corrupt_entry_is_recomputed_with_a_warning(tmp_path, content, reason):
    cache = ResultCache(tmp_path)
    cache.path(CONFIG).parent.mkdir(parents=True)
    cache.path(CONFIG).write_text(content)
    with pytest.warns(CacheEntryWarning, match=f"bad cache entry.*{reason}"):
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


# --- the checksummed format -------------------------------------------------------------------------

RESULT = {"K1": 0.0123456789, "K2": 0.5, "tau": [0.1, 1.0]}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entry(result, config=CONFIG, schema=CACHE_SCHEMA, checksum=None):
    """An entry written by hand, with its checksum computed independently of the module."""
    result_text = json.dumps(result, sort_keys=True, separators=(",", ":"))
    return {"schema": schema, "key": config_key(config), "config": json.loads(canonical_json(config)),
            "result": result, "result_sha256": _sha(result_text) if checksum is None else checksum}


def _recompute_with_warning(cache, expect_reason):
    """get_or_compute over a bad entry: one warning naming the file, then the fresh result, repaired."""
    calls = []

    def fn(cfg):
        calls.append(cfg)
        return RESULT

    path = cache.path(CONFIG)
    with pytest.warns(CacheEntryWarning) as record:
        got = cache.get_or_compute(CONFIG, fn)
    messages = [str(w.message) for w in record]
    assert len(messages) == 1 and str(path) in messages[0] and expect_reason in messages[0], messages
    assert got == RESULT and len(calls) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.get(CONFIG) == RESULT  # the bad entry was overwritten by a valid one


def test_layout_is_sharded_and_the_entry_holds_the_result_checksum(tmp_path):
    cache = ResultCache(tmp_path)
    key = config_key(CONFIG)
    assert cache.path(CONFIG) == tmp_path / key[:2] / f"{key}.json"
    cache.put(CONFIG, RESULT)
    entry = json.loads(cache.path(CONFIG).read_text(encoding="utf-8"))
    assert entry == _entry(RESULT)
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()] == [Path(key[:2], f"{key}.json")]


def test_key_covers_the_full_configuration_including_the_numerics_version(tmp_path):
    cache = ResultCache(tmp_path)
    v3, v4 = {"numerics": 3, **CONFIG}, {"numerics": 4, **CONFIG}
    cache.put(v3, RESULT)
    assert cache.path(v3) != cache.path(v4) and cache.get(v4) is None
    assert json.loads(cache.path(v3).read_text())["config"]["numerics"] == 3


def test_altered_result_is_detected_recomputed_and_named(tmp_path):
    # A well-formed entry whose K1 was multiplied by 10: the old cache returned it (and a verdict flipped).
    cache = ResultCache(tmp_path)
    cache.put(CONFIG, RESULT)
    path = cache.path(CONFIG)
    entry = json.loads(path.read_text())
    entry["result"]["K1"] *= 10
    path.write_text(json.dumps(entry, indent=1, sort_keys=True))
    _recompute_with_warning(cache, "checksum mismatch")


def test_altered_checksum_is_detected(tmp_path):
    cache = ResultCache(tmp_path)
    cache.path(CONFIG).parent.mkdir(parents=True)
    cache.path(CONFIG).write_text(json.dumps(_entry(RESULT, checksum="0" * 64)))
    _recompute_with_warning(cache, "checksum mismatch")


@pytest.mark.parametrize("keep", [0.5, 0.9, -2])  # -2: only the closing "}\n" lost
def test_truncated_entry_is_recomputed(tmp_path, keep):
    cache = ResultCache(tmp_path)
    cache.put(CONFIG, RESULT)
    data = cache.path(CONFIG).read_bytes()
    cache.path(CONFIG).write_bytes(data[:keep] if isinstance(keep, int) else data[: int(len(data) * keep)])
    _recompute_with_warning(cache, "not JSON")


def test_invalid_utf8_is_recomputed_and_named(tmp_path):
    # The old cache let UnicodeDecodeError escape: the report stopped (exit 2) without naming the file.
    cache = ResultCache(tmp_path)
    cache.put(CONFIG, RESULT)
    data = cache.path(CONFIG).read_bytes()
    assert b'"K2"' in data
    cache.path(CONFIG).write_bytes(data.replace(b'"K2"', b'"K\xff\xfe2"'))
    _recompute_with_warning(cache, "not UTF-8")


@pytest.mark.parametrize("result", [{}, [], None, 1.0, "K1"])
def test_result_that_is_not_a_non_empty_object_is_bad(tmp_path, result):
    # Even with a matching checksum: an empty result raised KeyError downstream in the old cache.
    cache = ResultCache(tmp_path)
    cache.path(CONFIG).parent.mkdir(parents=True)
    cache.path(CONFIG).write_text(json.dumps(_entry(result)))
    _recompute_with_warning(cache, "result is not a non-empty object")


def test_put_refuses_an_empty_result(tmp_path):
    with pytest.raises(ValueError, match="non-empty"):
        ResultCache(tmp_path).put(CONFIG, {})
    assert list(tmp_path.rglob("*")) == []


@pytest.mark.parametrize("schema", [1, 3, "2", None])
def test_entry_of_another_schema_is_recomputed(tmp_path, schema):
    # Schema 1 as the previous version wrote it (no checksum), otherwise valid: the old cache used it.
    cache = ResultCache(tmp_path)
    cache.path(CONFIG).parent.mkdir(parents=True)
    entry = _entry(RESULT, schema=schema)
    if schema == 1:
        del entry["result_sha256"]
    cache.path(CONFIG).write_text(json.dumps(entry, indent=1, sort_keys=True))
    _recompute_with_warning(cache, f"schema {schema!r}")


def test_entry_of_another_key_or_config_is_recomputed(tmp_path):
    cache = ResultCache(tmp_path)
    cache.path(CONFIG).parent.mkdir(parents=True)
    other = {**CONFIG, "seed": 1}
    cache.path(CONFIG).write_text(json.dumps(_entry(RESULT, config=other)))  # a file copied to the wrong name
    _recompute_with_warning(cache, "is not the requested key")
    cache.path(CONFIG).write_text(json.dumps({**_entry(RESULT), "config": json.loads(canonical_json(other))}))  # config edited, key kept
    _recompute_with_warning(cache, "stored config differs")


def test_unreadable_entry_is_reported_and_recomputed(tmp_path):
    cache = ResultCache(tmp_path)
    cache.path(CONFIG).mkdir(parents=True)  # a folder where the file should be: reading fails
    with pytest.warns(CacheEntryWarning, match="unreadable"):
        assert cache.get(CONFIG) is None


def test_temporary_left_by_a_dead_writer_is_ignored(tmp_path):
    cache = ResultCache(tmp_path)
    path = cache.path(CONFIG)
    path.parent.mkdir(parents=True)
    # Named as atomic_write_text names its temporaries: one partial, one complete but never renamed.
    text = json.dumps(_entry({"K1": 99.0}), indent=1, sort_keys=True)
    (path.parent / f".{path.name}.dead1.tmp").write_text(text[: len(text) // 2])
    (path.parent / f".{path.name}.dead2.tmp").write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.get(CONFIG) is None
        assert cache.get_or_compute(CONFIG, lambda cfg: RESULT) == RESULT
        assert cache.get(CONFIG) == RESULT


def test_task_killed_after_storing_is_not_recomputed(tmp_path):
    # A Dask task stores its result, then its worker dies (SIGKILL) before the result is returned.
    code = f"""
import os, signal, sys
sys.path.insert(0, 'tests/verification')
from test_cache import CONFIG, RESULT
from verification.store.cache import ResultCache
cache = ResultCache({str(tmp_path)!r})
put = cache.put
def put_then_die(config, result):
    put(config, result)
    os.kill(os.getpid(), signal.SIGKILL)
cache.put = put_then_die
cache.get_or_compute(CONFIG, lambda cfg: RESULT)
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=WORKTREE, capture_output=True)
    assert proc.returncode == -9, proc.stderr

    def must_not_run(cfg):
        raise AssertionError("recomputed")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ResultCache(tmp_path).get_or_compute(CONFIG, must_not_run) == RESULT


# --- concurrent writers -----------------------------------------------------------------------------

WRITES = 100


def _writer(directory: str, writer: int, barrier) -> None:
    """Store the same configuration WRITES times, each time a different (large) result."""
    cache = ResultCache(directory)
    barrier.wait()
    for i in range(WRITES):
        result = {"writer": writer, "i": i, "curve": [writer + i + j / 7 for j in range(4000)]}
        assert cache.put(CONFIG, result)["i"] == i


def test_concurrent_writers_of_one_key_leave_one_valid_entry(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, barrier)) for w in (0, 1)]
    for p in procs:
        p.start()
    cache, seen = ResultCache(tmp_path), set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a reader meeting a partial or bad entry fails the test
        while any(p.is_alive() for p in procs):
            got = cache.get(CONFIG)
            if got is not None:
                assert len(got["curve"]) == 4000
                seen.add((got["writer"], got["i"]))
        for p in procs:
            p.join()
        assert [p.exitcode for p in procs] == [0, 0]
        final = cache.get(CONFIG)
    assert final is not None and final["writer"] in (0, 1)
    assert seen  # the reader did overlap the writers
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [cache.path(CONFIG)]  # one entry, no temporaries left behind
