"""Resumable results: a content-addressed, checksummed store of one JSON file per configuration,
shared safely by concurrent processes (Dask workers, possibly on several machines over one filesystem).

Key
---
:func:`config_key` is the SHA-256 of :func:`canonical_json` of the configuration: the full
configuration, including the numerics version the caller puts in it (the runner keys measurements by
``{"numerics": NUMERICS_VERSION, **config}``), so a change to any field is a different entry. The
canonical text has sorted keys, no whitespace, floats in Python's shortest exact ``repr`` (so 0.1 and
0.1 + 1e-17 differ only if their doubles differ), numpy scalars and arrays as plain numbers and lists.
An int and the equal float (100 vs 100.0) are different configurations.

Layout
------
``<directory>/<key[:2]>/<key>.json`` (sharded by the key's first two hex digits, so no folder holds
more than a 256th of the entries), each file the object (sorted keys, one-space indent)::

    {"schema": 2, "key": <key>, "config": <config>, "result": <result>, "result_sha256": <hex>}

``result_sha256`` is the SHA-256 of ``canonical_json(result)``; the key is the same checksum of the
configuration, which sits beside its result for inspection.

A bad entry is never used
-------------------------
An entry is read only if it is UTF-8, a JSON object of schema :data:`CACHE_SCHEMA`, its ``key`` is the
requested key, its ``config`` is canonically equal to the requested configuration, its ``result`` is a
non-empty object and the result's checksum matches. Anything else (unreadable, not UTF-8, truncated,
not JSON, edited by hand, another schema) gives a :class:`CacheEntryWarning` naming the file and the
reason, and the entry is treated as missing: :meth:`ResultCache.get` returns None and
:meth:`ResultCache.get_or_compute` recomputes it and overwrites the file. The checksum catches damage
and edits that do not recompute it; it is not a defence against deliberate forgery.

Limits and repairs
------------------
An entry is read without following a symbolic link and only if it is a regular file of at most
:data:`MAX_ENTRY_BYTES` bytes whose JSON nests at most :data:`MAX_DEPTH` levels; both are checked on the
raw bytes before decoding (a 200,000-deep array would otherwise exhaust the recursion limit, a huge
file the memory). Anything else is a bad entry as above. When an entry is stored, whatever sits in the
wrong place is moved aside to ``<name>.misplaced-<random>`` (with a :class:`CacheEntryWarning`) instead of
stopping the run: a directory, link or other non-file where the entry belongs, and a file or link where
its shard folder belongs. Writes therefore never follow a symbolic link inside the store (the store
folder itself may be one).

Schema 1 (before checksums) wrote ``<directory>/<key>.json`` without shards: those files are never
looked at (ignored silently; delete them to reclaim the space). A file of another schema found at a
sharded path is warned about like any other bad entry.

Concurrency
-----------
:func:`verification.store.files.atomic_write_text` writes a uniquely named temporary
(``.<key>.json.<random>.tmp``, created exclusively) in the entry's own folder, flushes and fsyncs it,
then ``os.replace`` s it onto the entry. Hence

- readers see the previous entry or the new one, never a partial file;
- processes storing the same configuration at once all succeed, and one valid entry remains (the last
  rename wins; computations are deterministic, so the entries agree, and otherwise each caller gets
  the result it computed);
- a writer that dies leaves at most its temporary, which is never read (delete ``.*.tmp`` files when no
  writer runs); the entry is still absent, or still the previous one;
- :meth:`ResultCache.get_or_compute` stores before it returns, so a task killed or retried after its
  store is not recomputed.

This relies on a rename within one folder being atomic (local filesystems, NFS, Lustre, GPFS); where
it is not (object-store mounts that copy), a partial entry fails its checksum and is recomputed.

Examples
--------
>>> import tempfile
>>> cache = ResultCache(tempfile.mkdtemp())
>>> config = {"numerics": 3, "n": 64, "tau": 0.5}
>>> cache.get(config) is None
True
>>> cache.get_or_compute(config, lambda cfg: {"kl": 0.25})
{'kl': 0.25}
>>> cache.get(config)
{'kl': 0.25}
>>> cache.path(config).relative_to(cache.directory).parts[0] == config_key(config)[:2]
True
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import uuid
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..output.formats import to_jsonable

from .files import atomic_write_text

CACHE_SCHEMA = 2
_FIELDS = ("schema", "key", "config", "result", "result_sha256")
MAX_ENTRY_BYTES = 64 * 2**20
"""Largest entry read (bytes); the largest the report stores is under 1 MiB."""
MAX_DEPTH = 64
"""Deepest JSON nesting read; the entries the report stores nest under 10 levels."""
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


class CacheEntryWarning(UserWarning):
    """A stored entry was unreadable, damaged or of another schema; it is treated as missing."""


def canonical_json(config: Mapping[str, Any]) -> str:
    """The canonical text of a configuration (the hashed form)."""
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a mapping, got {type(config).__name__}")
    return json.dumps(to_jsonable(config, nonfinite="keep"), sort_keys=True, separators=(",", ":"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_key(config: Mapping[str, Any]) -> str:
    """Stable hex key of a configuration: equal across processes, runs and machines."""
    return _sha256(canonical_json(config))


def json_depth(data: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` in the JSON bytes ``data`` (strings skipped), without decoding.

    Examples
    --------
    >>> from verification.store.cache import json_depth
    >>> json_depth(b'{"a": [1, [2]], "b": "[[["}')
    3
    """
    import numpy as np

    bare = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    steps = (np.isin(bare, (ord("["), ord("{"))).astype(np.int64)
             - np.isin(bare, (ord("]"), ord("}"))).astype(np.int64))
    return int(np.cumsum(steps).max(initial=0))


def _decode(data: bytes, key: str, config_text: str) -> dict[str, Any]:
    """The result held by the entry bytes ``data`` if they are a valid entry of ``key``.

    Raises ValueError with the reason otherwise.
    """
    if len(data) > MAX_ENTRY_BYTES:
        raise ValueError(f"{len(data)} bytes, above the {MAX_ENTRY_BYTES} an entry may hold")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 ({err})") from None
    depth = json_depth(data)
    if depth > MAX_DEPTH:
        raise ValueError(f"JSON nested {depth} levels deep, above the {MAX_DEPTH} an entry may have")
    try:
        entry = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise ValueError(f"not JSON, truncated or damaged ({type(err).__name__}: {err})") from None
    if not isinstance(entry, dict):
        raise ValueError(f"not a JSON object but {type(entry).__name__}")
    if entry.get("schema") != CACHE_SCHEMA:
        raise ValueError(f"schema {entry.get('schema')!r}, expected {CACHE_SCHEMA}")
    missing = [f for f in _FIELDS if f not in entry]
    if missing:
        raise ValueError(f"missing fields {missing}")
    if entry["key"] != key:
        raise ValueError(f"key {entry['key']!r} is not the requested key")
    try:
        same_config = canonical_json(entry["config"]) == config_text
    except (ValueError, TypeError) as err:
        raise ValueError(f"stored config unusable ({err})") from None
    if not same_config:
        raise ValueError("stored config differs from the requested one")
    result = entry["result"]
    if not isinstance(result, dict) or not result:
        raise ValueError(f"result is not a non-empty object: {json.dumps(result)[:40]}")
    checksum = _sha256(canonical_json(result))
    if entry["result_sha256"] != checksum:
        raise ValueError(f"result checksum mismatch (stored {str(entry['result_sha256'])[:16]}..., "
                         f"computed {checksum[:16]}...): the result was altered")
    return result


def _read_entry(path: Path) -> bytes:
    """The bytes of the regular file ``path``, not following a symbolic link, at most :data:`MAX_ENTRY_BYTES`.

    Raises OSError (FileNotFoundError if absent) with the reason otherwise: a link, a directory, a device
    or pipe (opened without blocking, never read), or a file above the limit.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise OSError(err.errno, "a symbolic link, not followed", str(path)) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise OSError(errno.EISDIR if stat.S_ISDIR(info.st_mode) else errno.EINVAL, kind, str(path))
        if info.st_size > MAX_ENTRY_BYTES:
            raise OSError(errno.EFBIG, f"{info.st_size} bytes, above the {MAX_ENTRY_BYTES} an entry may hold",
                          str(path))
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            data = fh.read(MAX_ENTRY_BYTES + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > MAX_ENTRY_BYTES:  # grew since fstat
        raise OSError(errno.EFBIG, f"above the {MAX_ENTRY_BYTES} bytes an entry may hold", str(path))
    return data


def _make_room(path: Path, want_dir: bool) -> None:
    """Move aside whatever occupies ``path`` but is not what belongs there (a real directory if ``want_dir``,
    else a regular file or nothing), with a :class:`CacheEntryWarning`; symbolic links are never kept."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    fits = stat.S_ISDIR(info.st_mode) if want_dir else stat.S_ISREG(info.st_mode)
    if fits:
        return
    kind = ("a symbolic link" if stat.S_ISLNK(info.st_mode) else "a directory" if stat.S_ISDIR(info.st_mode)
            else "a file" if stat.S_ISREG(info.st_mode) else "a special file")
    aside = path.with_name(f"{path.name}.misplaced-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:  # another process moved it first
        return
    warnings.warn(f"{kind} stood where the store's {'shard folder' if want_dir else 'entry'} {path} belongs; "
                  f"moved aside to {aside.name} and the entry written in its place", CacheEntryWarning, stacklevel=3)


class ResultCache:
    """A folder of results keyed by configuration (the module docstring gives the format and the
    guarantees)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def path(self, config: Mapping[str, Any]) -> Path:
        """Where the entry of ``config`` lives: ``<directory>/<key[:2]>/<key>.json``."""
        return self._path(config_key(config))

    def get(self, config: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stored result of ``config``, or None if absent or bad (bad: with a warning)."""
        config_text = canonical_json(config)
        key = _sha256(config_text)
        path = self._path(key)
        try:
            data = _read_entry(path)
        except FileNotFoundError:
            return None
        except OSError as err:
            reason = f"unreadable ({err.strerror or err})"
        else:
            try:
                return _decode(data, key, config_text)
            except ValueError as err:
                reason = str(err)
        warnings.warn(f"ignoring bad cache entry {path}: {reason}; treated as missing, it will be recomputed",
                      CacheEntryWarning, stacklevel=2)
        return None

    def put(self, config: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``result`` (a non-empty mapping of JSON-convertible values) atomically with its
        checksum; return it as stored, i.e. as a later :meth:`get` returns it."""
        if not isinstance(result, Mapping):
            raise ValueError(f"result must be a mapping, got {type(result).__name__}")
        if not result:
            raise ValueError("result must be a non-empty mapping (an empty one would read back as bad)")
        config_text = canonical_json(config)
        key = _sha256(config_text)
        plain = to_jsonable(result, nonfinite="keep")
        entry = {"schema": CACHE_SCHEMA, "key": key, "config": json.loads(config_text), "result": plain,
                 "result_sha256": _sha256(canonical_json(plain))}
        text = json.dumps(entry, indent=1, sort_keys=True) + "\n"
        # Read back before writing: what a later get() returns, so a resumed sweep sees identical values,
        # and proof that the entry passes its own checks.
        stored = _decode(text.encode("utf-8"), key, config_text)
        path = self._path(key)
        _make_room(path.parent, want_dir=True)
        _make_room(path, want_dir=False)
        atomic_write_text(path, text)
        return stored

    def get_or_compute(self, config: Mapping[str, Any], fn: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> dict[str, Any]:
        """The stored result of ``config``, or ``fn(config)`` computed now, stored, then returned."""
        cached = self.get(config)
        if cached is not None:
            return cached
        return self.put(config, fn(config))
