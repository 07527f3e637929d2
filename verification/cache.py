"""Resumable results: one JSON file per configuration, so an interrupted sweep loses nothing.

The key is the SHA-256 of a canonical JSON of the configuration: sorted keys, no whitespace,
floats in Python's shortest exact ``repr`` (so 0.1 and 0.1 + 1e-17 differ only if their
doubles differ), numpy scalars and arrays converted to plain numbers and lists. An int and the
equal float (100 vs 100.0) are different configurations.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from empirical.formats import to_jsonable

from .files import atomic_write_text

CACHE_SCHEMA = 1


def canonical_json(config: Mapping[str, Any]) -> str:
    """The canonical text of a configuration (the hashed form)."""
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a mapping, got {type(config).__name__}")
    return json.dumps(to_jsonable(config, nonfinite="keep"), sort_keys=True, separators=(",", ":"))


def config_key(config: Mapping[str, Any]) -> str:
    """Stable hex key of a configuration: equal across processes, runs and machines."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


class ResultCache:
    """A folder of results keyed by configuration.

    Each entry ``<key>.json`` holds ``{"schema", "key", "config", "result"}``: the configuration
    sits beside its result for inspection. Writes are atomic; an unreadable entry is reported with
    a warning and treated as missing, so it is recomputed and overwritten.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, config: Mapping[str, Any]) -> Path:
        """Where the entry of ``config`` lives."""
        return self.directory / f"{config_key(config)}.json"

    def get(self, config: Mapping[str, Any]) -> dict[str, Any] | None:
        """The stored result of ``config``, or None if absent or unreadable."""
        path = self.path(config)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            entry = json.loads(text)
            if entry["schema"] != CACHE_SCHEMA:
                raise ValueError(f"schema {entry['schema']!r}, expected {CACHE_SCHEMA}")
            if canonical_json(entry["config"]) != canonical_json(config):
                raise ValueError("stored config differs from the requested one")
            result = entry["result"]
            if not isinstance(result, dict):
                raise ValueError("result is not an object")
        except (ValueError, KeyError, TypeError) as err:
            warnings.warn(f"ignoring corrupt cache entry {path}: {err}; it will be recomputed", stacklevel=2)
            return None
        return result

    def put(self, config: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``result`` (a mapping of JSON-convertible values) atomically; return it as stored."""
        if not isinstance(result, Mapping):
            raise ValueError(f"result must be a mapping, got {type(result).__name__}")
        entry = {"schema": CACHE_SCHEMA, "key": config_key(config),
                 "config": json.loads(canonical_json(config)), "result": to_jsonable(result, nonfinite="keep")}
        text = json.dumps(entry, indent=1, sort_keys=True)
        atomic_write_text(self.path(config), text + "\n")
        # What a later get() returns, so a resumed sweep sees identical values.
        return json.loads(text)["result"]

    def get_or_compute(self, config: Mapping[str, Any], fn: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> dict[str, Any]:
        """The stored result of ``config``, or ``fn(config)`` computed now and stored."""
        cached = self.get(config)
        if cached is not None:
            return cached
        return self.put(config, fn(config))
