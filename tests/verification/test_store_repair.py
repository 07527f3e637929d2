"""The result store under hostile conditions (verification.store.cache): things in the wrong place are moved aside and
the entry recomputed; deep, huge and special entries are refused before decoding or reading; links are never
followed, neither to read nor to write."""

from __future__ import annotations

import json
import os
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verification.store.cache import MAX_DEPTH, MAX_ENTRY_BYTES, CacheEntryWarning, ResultCache, json_depth

CONFIG = {"numerics": 3, "n": 64, "tau": 0.5}
RESULT = {"K1": 0.25}


def _recomputes(cache: ResultCache, read_reason: str, move: bool = True) -> None:
    """``get`` warns with ``read_reason`` and returns None; ``get_or_compute`` stores the result (moving aside
    what stood in the way when ``move``), after which ``get`` reads it back without a warning."""
    with pytest.warns(CacheEntryWarning, match=read_reason):
        assert cache.get(CONFIG) is None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cache.get_or_compute(CONFIG, lambda cfg: RESULT) == RESULT
    assert any("moved aside" in str(w.message) for w in caught) == move
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.get(CONFIG) == RESULT


def _aside(path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if ".misplaced-" in p.name)


def test_a_directory_where_the_entry_belongs_is_moved_aside(tmp_path):
    cache = ResultCache(tmp_path)
    path = cache.path(CONFIG)
    (path / "inside").mkdir(parents=True)
    _recomputes(cache, r"unreadable \(a directory\)")
    assert path.is_file() and len(_aside(path)) == 1
    assert (path.parent / _aside(path)[0] / "inside").is_dir()  # kept, not deleted


def test_a_file_where_the_shard_folder_belongs_is_moved_aside(tmp_path):
    cache = ResultCache(tmp_path)
    shard = cache.path(CONFIG).parent
    shard.write_text("not a folder")
    _recomputes(cache, "unreadable")
    assert shard.is_dir() and [p.read_text() for p in tmp_path.iterdir() if ".misplaced-" in p.name] == ["not a folder"]


def test_a_link_at_the_entry_is_neither_read_nor_written_through(tmp_path):
    cache = ResultCache(tmp_path / "store")
    victim = tmp_path / "victim.json"
    good = ResultCache(tmp_path / "other").put(CONFIG, RESULT)  # a valid entry, reachable through the link
    victim.write_text((tmp_path / "other" / cache.path(CONFIG).relative_to(cache.directory)).read_text())
    path = cache.path(CONFIG)
    path.parent.mkdir(parents=True)
    path.symlink_to(victim)
    before = victim.read_bytes()
    _recomputes(cache, "symbolic link")
    assert good == RESULT and victim.read_bytes() == before and not path.is_symlink()


def test_a_link_at_the_shard_folder_is_not_written_through(tmp_path):
    cache = ResultCache(tmp_path / "store")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cache.path(CONFIG).parent.symlink_to(elsewhere, target_is_directory=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache.put(CONFIG, RESULT)
    assert any("symbolic link" in str(w.message) and "moved aside" in str(w.message) for w in caught)
    assert list(elsewhere.iterdir()) == [] and not cache.path(CONFIG).parent.is_symlink()
    assert cache.get(CONFIG) == RESULT


def test_a_pipe_at_the_entry_does_not_block_the_reader(tmp_path):
    cache = ResultCache(tmp_path)
    path = cache.path(CONFIG)
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    _recomputes(cache, "not a regular file")


def test_a_200000_deep_entry_is_refused_before_decoding(tmp_path):
    cache = ResultCache(tmp_path)
    path = cache.path(CONFIG)
    path.parent.mkdir(parents=True)
    path.write_text("[" * 200_000 + "]" * 200_000)  # json.loads would raise RecursionError
    _recomputes(cache, f"nested 200000 levels deep, above the {MAX_DEPTH}", move=False)


def test_an_entry_above_the_size_limit_is_refused_before_reading(tmp_path):
    cache = ResultCache(tmp_path)
    path = cache.path(CONFIG)
    path.parent.mkdir(parents=True)
    with open(path, "wb") as fh:
        fh.truncate(MAX_ENTRY_BYTES + 1)  # sparse: no disk or memory used
    _recomputes(cache, f"{MAX_ENTRY_BYTES + 1} bytes, above the {MAX_ENTRY_BYTES}", move=False)


def _depth(obj) -> int:
    """Nesting depth by recursion over the decoded value: the reference for json_depth."""
    if isinstance(obj, dict):
        return 1 + max((_depth(v) for v in obj.values()), default=0)
    if isinstance(obj, list):
        return 1 + max((_depth(v) for v in obj), default=0)
    return 0


_TEXT = st.text(alphabet='[]{}"\\ab,:', max_size=6)
_JSON = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | _TEXT,
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_TEXT, kids, max_size=3), max_leaves=20)


@given(_JSON, st.booleans(), st.booleans())
def test_json_depth_matches_the_depth_of_the_decoded_value(obj, indent, ascii_only):
    text = json.dumps(obj, indent=1 if indent else None, ensure_ascii=ascii_only)
    assert json_depth(text.encode("utf-8")) == _depth(obj)
