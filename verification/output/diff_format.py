"""``diffgen diff``'s two outputs: one JSON object for machines, markdown for people (:mod:`verification.output.diff`)."""

from __future__ import annotations

import json
from typing import Any

from .formats import markdown_table, to_jsonable

from .diff import Diff, Results, exit_status, number

__all__ = ["to_json", "format_markdown"]


def to_json(diff: Diff, fail_on: str = "verdicts") -> dict:
    """The diff as one JSON-ready object with stable keys; non-finite numbers as "nan", "inf", "-inf".

    Keys: ``old`` and ``new`` (path, schema, commit, checks), ``rtol``, ``atol``, ``fail_on``, ``status``
    (the exit status), ``checks_compared``, ``verdicts_changed``, ``checks_added``, ``checks_removed``,
    ``values_changed`` (each ``{check, path, kind, old, new, relative_change}``; ``old`` or ``new`` is null
    for a value added or removed).

    Examples
    --------
    >>> from verification.output.diff import Results, compare
    >>> from verification.output.diff_format import to_json
    >>> a = Results("a.json", 1, None, {"c": {"name": "c", "verdict": "holds", "measured": {"slope": -1.0}}})
    >>> b = Results("b.json", 1, None, {"c": {"name": "c", "verdict": "holds", "measured": {"slope": -1.5}}})
    >>> d = to_json(compare(a, b))
    >>> d["status"], d["values_changed"]
    (0, [{'check': 'c', 'path': '/measured/slope', 'kind': 'moved', 'old': -1.0, 'new': -1.5, 'relative_change': -0.5}])
    """
    def side(r: Results) -> dict:
        return {"path": r.path, "schema": r.schema, "commit": r.commit, "checks": len(r.checks)}

    return to_jsonable({
        "old": side(diff.old), "new": side(diff.new), "rtol": diff.rtol, "atol": diff.atol, "fail_on": fail_on,
        "status": exit_status(diff, fail_on), "checks_compared": diff.compared,
        "verdicts_changed": [{"check": v.check, "old": v.old, "new": v.new, "statistic": v.statistic,
                              "old_value": v.old_value, "new_value": v.new_value} for v in diff.verdicts],
        "checks_added": [{"check": n, "verdict": diff.new.checks[n]["verdict"]} for n in diff.added],
        "checks_removed": [{"check": n, "verdict": diff.old.checks[n]["verdict"]} for n in diff.removed],
        "values_changed": [{"check": c.check, "path": c.path, "kind": c.kind, "old": c.old, "new": c.new,
                            "relative_change": c.relative} for c in diff.values],
    })


def _show(value: Any, digits: int) -> str:
    x = number(value)
    return format(x, f".{digits}g") if x is not None and not isinstance(value, str) else json.dumps(value)


def _pair(old: Any, new: Any) -> tuple[str, str]:
    """Both values printed with the fewest significant digits (6 to 17) that tell them apart."""
    for digits in range(6, 18):
        a, b = _show(old, digits), _show(new, digits)
        if a != b:
            break
    return a, b


def format_markdown(diff: Diff, fail_on: str = "verdicts", max_rows: int = 100) -> str:
    """The diff for people: the verdicts that changed (with each check's main statistic), the checks added
    or removed, one row per check whose values changed (with its largest relative move), then the first
    ``max_rows`` changed values (:func:`to_json` lists all).

    Raises
    ------
    ValueError
        If ``max_rows`` is not an integer >= 0.

    Examples
    --------
    >>> from verification.output.diff import Results, compare
    >>> from verification.output.diff_format import format_markdown
    >>> a = Results("a.json", 1, None, {"c": {"name": "c", "verdict": "holds", "measured": {"slope": -1.0}}})
    >>> print(format_markdown(compare(a, a)).splitlines()[-1])
    No change: 1 checks compared, every verdict the same and every value within tolerance.
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 0:
        raise ValueError(f"--max-rows must be an integer >= 0, got {max_rows!r}")

    def side(flag: str, r: Results) -> str:
        commit = f", commit {r.commit[:12]}" if r.commit else ""
        return f"- {flag}: `{r.path}` (schema {r.schema}, {len(r.checks)} checks{commit})"

    out = ["# diffgen diff", "", side("OLD", diff.old), side("NEW", diff.new),
           f"- a number moved when |new - old| > max(atol {diff.atol:g}, rtol {diff.rtol:g} x max(|old|, |new|)); "
           f"provenance, summary and data are not compared; exit status {exit_status(diff, fail_on)} "
           f"(--fail-on {fail_on})", ""]
    if not diff.changed:
        out.append(f"No change: {diff.compared} checks compared, every verdict the same and every value "
                   "within tolerance.")
        return "\n".join(out) + "\n"
    if diff.verdicts:
        rows = []
        for v in diff.verdicts:
            a, b = _pair(v.old_value, v.new_value) if v.statistic else ("", "")
            rows.append({"check": v.check, "old": v.old, "new": v.new, "statistic": v.statistic or "",
                         "old value": a, "new value": b})
        out += [f"## Verdicts changed ({len(diff.verdicts)})", "",
                markdown_table(rows, ["check", "old", "new", "statistic", "old value", "new value"])]
    for title, names, r in (("added", diff.added, diff.new), ("removed", diff.removed, diff.old)):
        if names:
            out += [f"## Checks {title} ({len(names)})", "",
                    markdown_table([{"check": n, "verdict": r.checks[n]["verdict"]} for n in names],
                                   ["check", "verdict"])]
    if diff.values:
        out += _value_tables(diff, max_rows)
    return "\n".join(out)


def _value_tables(diff: Diff, max_rows: int) -> list[str]:
    per: dict[str, dict[str, Any]] = {}
    for c in diff.values:
        row = per.setdefault(c.check, {"check": c.check, "moved": 0, "changed": 0, "removed": 0, "added": 0,
                                       "largest relative move": None, "at": ""})
        row[c.kind] += 1
        big = row["largest relative move"]
        if c.relative is not None and (big is None or abs(c.relative) > abs(big)):
            row["largest relative move"], row["at"] = c.relative, c.path
    detail = []
    for c in diff.values[:max_rows]:
        a, b = _pair(c.old, c.new)
        detail.append({"check": c.check, "path": c.path, "kind": c.kind, "old": "" if c.kind == "added" else a,
                       "new": "" if c.kind == "removed" else b,
                       "relative": "" if c.relative is None else f"{c.relative:+.2e}"})
    left = len(diff.values) - len(detail)
    return [f"## Values changed ({len(diff.values)} in {len(per)} checks)", "",
            markdown_table(list(per.values()), ["check", "moved", "changed", "removed", "added",
                                                "largest relative move", "at"], floatfmt="+.2e"),
            markdown_table(detail, ["check", "path", "kind", "old", "new", "relative"]) if detail else "",
            f"... and {left} more (--max-rows, or all of them in --json).\n" if left else ""]
