"""Where, when and with what a result was produced: git commit, date, versions, platform."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..output.formats import to_jsonable


def git_state(directory: str | os.PathLike | None = None) -> tuple[str, bool | None]:
    """(commit, dirty) of the git checkout holding ``directory`` (default: this package).

    ``dirty`` means tracked files differ from the commit (untracked files are ignored).
    ("unknown", None) outside a git checkout or without git.
    """
    where = Path(directory) if directory is not None else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    return commit, bool(status.strip())


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _version(package: str) -> str:
    # Package metadata, not an import: importing torch alone costs seconds.
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def provenance(params: Mapping[str, Any], started: float,
               state: tuple[str, bool | None] | None = None) -> dict[str, Any]:
    """Where, when and with what a result was produced.

    Parameters
    ----------
    params : the run's parameters (stored as JSON).
    started : ``time.time()`` at the start of the run; gives ``runtime_s``.
    state : (commit, dirty) read when the run started (:func:`git_state`), optional
        A report written into the checkout makes the tree dirty by the time it ends, so the state
        that produced it is the one read at its start; read now when not given.
    """
    commit, dirty = git_state() if state is None else state
    return {
        "commit": commit,
        "dirty": dirty,
        "date_utc": utc_now(),
        "started_utc": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        "runtime_s": time.time() - started,
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("numpy", "scipy", "sympy", "torch", "matplotlib")},
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "params": to_jsonable(dict(params)),
    }
