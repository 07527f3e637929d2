"""``diffgen diff OLD NEW``: what changed between two results.json files (docs/theory.md §8: the verdicts).

Checks are matched by ``name``. For each check in both files the verdict is compared, and every leaf of the
check (numbers, booleans, nulls, nested strings) is compared by its JSON Pointer (RFC 6901), e.g.
``/measured/per_c/1/slope``, except its top-level text fields: every top-level string but the verdict
(``claim``, ``statistic``, a prediction stated in words; from schema 2 on ``rule``, ``alternative``,
``reason``). Nothing else depends on the schema, so files of any one schema compare.
Numbers, with the strings "nan", "inf", "-inf" that results.json writes for non-finite values, count as
moved when ``|new - old| > max(atol, rtol * max(|old|, |new|))``; other leaves when they differ. A leaf
present in one file only is reported as removed or added. ``provenance``, ``summary`` (the verdict counts)
and the extra sections (``data``) are not compared.

:func:`load_results` reads and validates a file; the rest are pure functions: :func:`compare` returns a
frozen :class:`Diff`, :func:`exit_status` judges it, and :mod:`verification.output.diff_format` renders it (JSON,
markdown).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..verdicts import VERDICTS

__all__ = ["RTOL", "ATOL", "FAIL_ON", "Results", "VerdictChange", "ValueChange", "Diff", "load_results",
           "compare", "headline", "number", "exit_status"]

RTOL = 1e-4
"""Default relative tolerance. Two builds of one commit on one machine agree bit for bit; building the full
report with multi-threaded instead of single-threaded BLAS moved its numbers by at most 2.9e-6 relative.
1e-4 hides such rounding, with room for other machines, and lists any change of what is computed (the
Fokker-Planck K2's own accuracy is 1e-3). ``--rtol 0`` lists every difference."""
ATOL = 1e-9
"""Default absolute floor: differences at most this large never count. K1 is exact to rounding, which is
why a rise below 1e-9 is no rise (:data:`~verification.verdicts.RISE_RTOL`); the smallest number of the
full report that is not rounding is about 5e-6 (a grid KL)."""
FAIL_ON = ("verdicts", "numbers", "none")
"""What makes :func:`exit_status` return 1: a changed verdict or a check added or removed ("verdicts"),
that or any leaf moved beyond tolerance ("numbers"), or nothing ("none")."""
NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
HEADLINE_KEYS = ("slope", "rise_mean", "mean", "kendall_tau", "poly_exponent", "max_K2_over_K1", "max_ratio",
                 "tightness_min", "slack_min", "rise_over_noise_mean", "passed", "collapsed", "rise", "one_mode")
"""Names of a check's main statistic under ``measured``, most telling first (see :func:`headline`)."""
SETTINGS = ("size", "power", "accuracy", "threshold", "seeds", "prominence", "epoch", "delta", "replicates")
"""Names of a rule's settings and operating characteristics, never a check's main statistic."""
MAX_BYTES = 256 * 2**20
"""Larger files are refused before reading: the full report's results.json is under 1 MiB."""


@dataclass(frozen=True)
class Results:
    """A validated results.json: where it came from, its schema, its commit, and its checks by name."""

    path: str
    schema: int
    commit: str | None
    checks: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class VerdictChange:
    """A check whose verdict changed, with its main statistic (:func:`headline`) in both files."""

    check: str
    old: str
    new: str
    statistic: str | None
    old_value: Any
    new_value: Any


@dataclass(frozen=True)
class ValueChange:
    """A leaf of a check that moved beyond tolerance ("moved"), changed value or kind ("changed"), or
    exists in one file only ("removed", "added"). ``relative`` is (new - old) / |old| for two finite
    numbers with old != 0, else None."""

    check: str
    path: str
    kind: str
    old: Any
    new: Any
    relative: float | None


@dataclass(frozen=True)
class Diff:
    """Everything that differs between two results.json files of one schema, in the files' check order."""

    old: Results
    new: Results
    rtol: float
    atol: float
    verdicts: tuple[VerdictChange, ...]
    values: tuple[ValueChange, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    compared: int

    @property
    def changed(self) -> bool:
        """Whether anything at all differs."""
        return bool(self.verdicts or self.values or self.added or self.removed)


def _fail(flag: str, path: str, why: str) -> ValueError:
    return ValueError(f"{flag} {path!r}: {why}")


def load_results(path: str | os.PathLike, flag: str = "OLD") -> Results:
    """Read and validate a results.json written by ``diffgen report`` (or the folder holding one).

    Parameters
    ----------
    path : str or path-like
        The file, or a report folder containing results.json.
    flag : str, default "OLD"
        The argument's name, for the error message.

    Returns
    -------
    Results

    Raises
    ------
    ValueError
        One line naming ``flag`` and the path: missing or unreadable file, not UTF-8, not JSON (e.g.
        truncated), or JSON that is not a results.json (no integer ``schema`` >= 1; ``checks`` not a list of
        objects with a unique string ``name`` and a ``verdict`` among :data:`~verification.verdicts.VERDICTS`).

    Examples
    --------
    >>> from verification.output.diff import load_results
    >>> r = load_results("reports/full")
    >>> r.schema >= 1, r.checks["rate-n-K1"]["verdict"] in ("holds", "holds-with-slack", "consistent", "violated")
    (True, True)
    """
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    shown = str(p)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise _fail(flag, shown, f"{size} bytes, larger than a results.json can be ({MAX_BYTES} at most)")
        text = p.read_bytes().decode("utf-8")
    except OSError as err:
        raise _fail(flag, shown, f"cannot read ({err.strerror or err})") from None
    except UnicodeDecodeError:
        raise _fail(flag, shown, "not a text file (not UTF-8), so not a results.json") from None
    if not text.strip():
        raise _fail(flag, shown, "empty file, not a results.json")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        end = " (the file ends early: truncated?)" if err.pos >= len(text.rstrip()) else ""
        raise _fail(flag, shown, f"not valid JSON, {err.msg} at line {err.lineno} column {err.colno}{end}") from None
    except RecursionError:
        raise _fail(flag, shown, "JSON nested too deeply to be a results.json") from None
    return _validate(doc, flag, shown)


def _validate(doc: Any, flag: str, shown: str) -> Results:
    if not isinstance(doc, dict) or "schema" not in doc or "checks" not in doc:
        raise _fail(flag, shown, "not a results.json (a JSON object with 'schema' and 'checks' expected)")
    schema = doc["schema"]
    if isinstance(schema, bool) or not isinstance(schema, int) or schema < 1:
        raise _fail(flag, shown, f"'schema' must be an integer >= 1, got {schema!r}")
    if not isinstance(doc["checks"], list):
        raise _fail(flag, shown, f"'checks' must be a list, got {type(doc['checks']).__name__}")
    checks: dict[str, Mapping[str, Any]] = {}
    for i, c in enumerate(doc["checks"]):
        name = c.get("name") if isinstance(c, dict) else None
        if not isinstance(name, str) or not name:
            raise _fail(flag, shown, f"checks[{i}] is not an object with a non-empty string 'name'")
        if name in checks:
            raise _fail(flag, shown, f"check {name!r} appears twice")
        if c.get("verdict") not in VERDICTS:
            raise _fail(flag, shown, f"check {name!r}: verdict {c.get('verdict')!r} is not one of {VERDICTS}")
        checks[name] = c
    prov = doc.get("provenance")
    commit = prov.get("commit") if isinstance(prov, dict) and isinstance(prov.get("commit"), str) else None
    return Results(shown, schema, commit, MappingProxyType(checks))


def _pointer(parts: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _leaves(value: Any, parts: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path parts, value) of every leaf in document order; empty lists and objects are no leaves."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*parts, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*parts, i))
    else:
        yield parts, value


def number(value: Any) -> float | None:
    """A JSON leaf as a float when it is a number (or "nan", "inf", "-inf" as results.json writes them),
    else None (booleans included).

    Examples
    --------
    >>> from verification.output.diff import number
    >>> number(3), number("-inf"), number(True), number("t")
    (3.0, -inf, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return NONFINITE.get(value) if isinstance(value, str) else None


def _check_leaves(check: Mapping[str, Any]) -> dict[str, Any]:
    """The compared leaves of a check: everything but ``name``, ``verdict`` and top-level strings (texts)."""
    kept = {k: v for k, v in check.items()
            if k not in ("name", "verdict") and not (isinstance(v, str) and number(v) is None)}
    return {_pointer(parts): v for parts, v in _leaves(kept)}


def _value_change(check: str, path: str, old: Any, new: Any, rtol: float, atol: float) -> ValueChange | None:
    a, b = number(old), number(new)
    if a is None or b is None:
        same = old == new and type(old) is type(new)
        return None if same else ValueChange(check, path, "changed", old, new, None)
    if math.isfinite(a) and math.isfinite(b):
        if abs(b - a) <= max(atol, rtol * max(abs(a), abs(b))):
            return None
        return ValueChange(check, path, "moved", old, new, (b - a) / abs(a) if a != 0 else None)
    if a == b or (math.isnan(a) and math.isnan(b)):
        return None
    return ValueChange(check, path, "changed", old, new, None)


def headline(check: Mapping[str, Any]) -> str | None:
    """The JSON Pointer of a check's main statistic: the number under ``measured`` whose last key comes first
    in :data:`HEADLINE_KEYS` (shallowest, then first in the file, on ties); failing that, the first number
    under a key starting with "max_" or "worst_", then the first number under ``measured`` that is not one of
    the rule's :data:`SETTINGS`. None without any.

    Examples
    --------
    >>> from verification.output.diff import headline
    >>> headline({"measured": {"points": 35, "ci95": [-1.3, -1.0], "slope": -1.14}})
    '/measured/slope'
    >>> headline({"measured": {"flows": 9, "worst_ratio": {"lemma4": 0.18}}})
    '/measured/worst_ratio/lemma4'
    >>> headline({"measured": {"size": 0.0, "accuracy": 1e-12, "points": 35}})  # a rule's settings come last
    '/measured/points'
    """
    found = [(parts, v) for parts, v in _leaves(check.get("measured"), ("measured",)) if number(v) is not None]

    def rank(item: tuple[tuple[str | int, ...], Any]) -> tuple[int, int]:
        parts = item[0]
        names = [p for p in parts if isinstance(p, str)]
        if names[-1] in HEADLINE_KEYS:
            tier = HEADLINE_KEYS.index(names[-1])
        elif any(n.startswith(("max_", "worst_")) for n in names):
            tier = len(HEADLINE_KEYS)
        elif names[-1] in SETTINGS:
            tier = len(HEADLINE_KEYS) + 2
        else:
            tier = len(HEADLINE_KEYS) + 1
        return tier, len(parts)

    return _pointer(min(found, key=rank)[0]) if found else None


def _at(check: Mapping[str, Any] | None, pointer: str | None) -> Any:
    if check is None or pointer is None:
        return None
    return _check_leaves(check).get(pointer)


def compare(old: Results, new: Results, rtol: float = RTOL, atol: float = ATOL) -> Diff:
    """Compare two results.json of one schema (see the module docstring for what counts as a change).

    Raises
    ------
    ValueError
        If the schemas differ (naming both), or ``rtol``/``atol`` is not a finite number >= 0.

    Examples
    --------
    >>> from verification.output.diff import Results, compare
    >>> a = Results("a", 1, None, {"c": {"name": "c", "verdict": "holds", "measured": {"slope": -1.0}}})
    >>> b = Results("b", 1, None, {"c": {"name": "c", "verdict": "violated", "measured": {"slope": -0.3}}})
    >>> d = compare(a, b)
    >>> d.verdicts[0].old, d.verdicts[0].new, d.verdicts[0].statistic, d.values[0].relative
    ('holds', 'violated', '/measured/slope', 0.7)
    """
    for flag, v in (("--rtol", rtol), ("--atol", atol)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
            raise ValueError(f"{flag} must be a finite number >= 0, got {v!r}")
    if old.schema != new.schema:
        raise ValueError(f"OLD {old.path!r} has schema {old.schema} and NEW {new.path!r} has schema {new.schema}: "
                         "only results.json files of one schema can be compared (rebuild the older report)")
    verdicts, values = [], []
    both = [n for n in old.checks if n in new.checks]
    for name in both:
        o, n = old.checks[name], new.checks[name]
        if o["verdict"] != n["verdict"]:
            stat = headline(n) or headline(o)
            verdicts.append(VerdictChange(name, o["verdict"], n["verdict"], stat, _at(o, stat), _at(n, stat)))
        lo, ln = _check_leaves(o), _check_leaves(n)
        for path, v in lo.items():
            if path not in ln:
                values.append(ValueChange(name, path, "removed", v, None, None))
            elif (change := _value_change(name, path, v, ln[path], rtol, atol)) is not None:
                values.append(change)
        values += [ValueChange(name, path, "added", None, v, None) for path, v in ln.items() if path not in lo]
    return Diff(old, new, float(rtol), float(atol), tuple(verdicts), tuple(values),
                added=tuple(n for n in new.checks if n not in old.checks),
                removed=tuple(n for n in old.checks if n not in new.checks), compared=len(both))


def exit_status(diff: Diff, fail_on: str = "verdicts") -> int:
    """0 when nothing that ``fail_on`` (one of :data:`FAIL_ON`) watches changed, else 1.

    "verdicts" watches the verdicts of checks in both files and checks added or removed (a check that
    disappears takes its verdict with it); "numbers" watches that and every leaf beyond tolerance.
    """
    if fail_on not in FAIL_ON:
        raise ValueError(f"--fail-on must be one of {FAIL_ON}, got {fail_on!r}")
    if fail_on == "none":
        return 0
    verdicts = bool(diff.verdicts or diff.added or diff.removed)
    return int(verdicts or (fail_on == "numbers" and bool(diff.values)))
