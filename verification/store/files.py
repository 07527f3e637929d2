"""Files the claims layer writes: atomically (a crash leaves the old file or the new one), and
results.json, the machine-readable report."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..output.formats import to_jsonable

from ..verdicts import VERDICTS, Check

RESULTS_SCHEMA = 2
"""2: every check carries its rule, size, power, alternative, raw verdict and simulated nulls."""


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask sets it while reading)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    A crash at any moment leaves either the old file or the new one, never a partial file. The file
    gets mode 0666 less the umask (0644 under the usual umask 022), like a file opened for writing,
    not the 0600 of the temporary file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def ensure_writable_dir(path: str | os.PathLike, flag: str) -> Path:
    """``path`` as a directory this process can write (created if missing), checked before any computation
    by writing and removing a probe file; ValueError naming ``flag`` otherwise."""
    target = Path(path)
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=target, prefix=".write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{flag}: {str(target)!r} is not a writable directory ({err.strerror or err})") from None
    return target


def write_results_json(path: str | os.PathLike, checks: Sequence[Check], provenance: Mapping[str, Any],
                       extra: Mapping[str, Any] | None = None) -> Path:
    """Write results.json: ``checks`` (a list), a ``summary`` of verdict counts, ``provenance``
    and any ``extra`` sections. Numbers are plain floats; NaN/±inf become "nan"/"inf"/"-inf".
    """
    reserved = {"schema", "checks", "summary", "provenance"}
    extra = dict(extra or {})
    clash = reserved & set(extra)
    if clash:
        raise ValueError(f"extra must not use the reserved keys {sorted(reserved)}, got {sorted(clash)}")
    for c in checks:
        if not isinstance(c, Check):
            raise ValueError(f"checks must be Check instances, got {type(c).__name__}")
    doc = {
        "schema": RESULTS_SCHEMA,
        "checks": to_jsonable([c.to_json() for c in checks]),
        "summary": {v: sum(c.verdict == v for c in checks) for v in VERDICTS},
        "provenance": to_jsonable(dict(provenance)),
        **to_jsonable(extra),
    }
    return atomic_write_text(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")
