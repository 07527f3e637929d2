"""Plain data out of the engine: JSON-ready values and markdown tables, for every command line."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np


def to_jsonable(obj: Any, nonfinite: Literal["string", "keep"] = "string") -> Any:
    """Plain JSON types from numpy scalars/arrays, dataclasses, tuples and paths.

    Non-finite floats become the strings "nan", "inf", "-inf" (``nonfinite="string"``, valid
    JSON) or stay floats (``"keep"``, for Python-only files that must round-trip exactly).
    Dict keys must be strings: converting them silently would let {1: ..} and {"1": ..} collide.

    Parameters
    ----------
    obj : object
        Nested dicts, lists, tuples, dataclass instances, numpy scalars and arrays, paths, str, None.
    nonfinite : {"string", "keep"}, default "string"
        How NaN and ±inf come out.

    Returns
    -------
    object
        Built of dict, list, str, int, float, bool and None only.

    Raises
    ------
    ValueError
        If a dict key is not a str, or an object of another type is met.

    Examples
    --------
    >>> import numpy as np
    >>> from .formats import to_jsonable
    >>> to_jsonable({"x": np.arange(2), "y": (np.float64(np.inf), None)})
    {'x': [0, 1], 'y': ['inf', None]}
    """
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        if math.isfinite(x) or nonfinite == "keep":
            return x
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), nonfinite)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name), nonfinite) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise ValueError(f"dict keys must be str for JSON, got key {key!r} of type {type(key).__name__}")
            out[key] = to_jsonable(value, nonfinite)
        return out
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, nonfinite) for v in obj]
    raise ValueError(f"cannot convert {type(obj).__name__} to JSON: {obj!r}")


def _cell(value: Any, floatfmt: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return format(float(value), floatfmt)
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | Mapping[str, str],
                   floatfmt: str = ".3g") -> str:
    """A GitHub-flavoured markdown table.

    ``columns`` lists the row keys to show, or maps each key to its header. Floats are formatted
    with ``floatfmt``; a missing key or None gives an empty cell; columns whose every value is a
    number are right-aligned.

    Parameters
    ----------
    rows : sequence of mappings
        One mapping per row.
    columns : sequence of str, or mapping of key -> header
        At least one column.
    floatfmt : str, default ".3g"
        A ``format`` spec for floats.

    Returns
    -------
    str
        The table, ending in a newline.

    Raises
    ------
    ValueError
        If ``columns`` is empty.

    Examples
    --------
    >>> from .formats import markdown_table
    >>> print(markdown_table([{"n": 16, "KL": 0.01234}], ["n", "KL"]), end="")
    | n | KL |
    | ---: | ---: |
    | 16 | 0.0123 |
    """
    headers = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    if not headers:
        raise ValueError("columns must name at least one column")
    keys = list(headers)
    numeric = [all(isinstance(r.get(k), (int, float, np.number)) and not isinstance(r.get(k), bool)
                   for r in rows) and len(rows) > 0 for k in keys]
    lines = ["| " + " | ".join(_cell(headers[k], floatfmt) for k in keys) + " |",
             "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"]
    lines += ["| " + " | ".join(_cell(r.get(k), floatfmt) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def per_tau_table(out: Mapping[str, Any], keys: Sequence[str]) -> str:
    """The markdown table of a per-τ result object (``out["tau"]`` and lists aligned with it): one row per τ, the
    columns of ``keys`` that ``out`` holds.

    Examples
    --------
    >>> from verification.output.formats import per_tau_table
    >>> print(per_tau_table({"tau": [1.0, 10.0], "K1": [0.5, 0.25], "K2": [0.4, 0.2]}, ["K1", "K9"]), end="")
    | tau | K1 |
    | ---: | ---: |
    | 1 | 0.5 |
    | 10 | 0.25 |
    """
    columns = [k for k in keys if k in out]
    return markdown_table([{"tau": t, **{k: out[k][i] for k in columns}} for i, t in enumerate(out["tau"])],
                          ["tau", *columns])
