"""The verification report's plumbing (THEORY §8): checks and verdicts, provenance, JSON and
markdown writers, plots and a progress bar. Experiment-agnostic: sweeps produce the numbers.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

if TYPE_CHECKING:
    from .stats import PowerLawFit

VERDICTS = ("pass", "pass-with-slack", "fail")
RESULTS_SCHEMA = 1
_PNG_DPI = 110
_T = TypeVar("_T")


# ---------------------------------------------------------------- JSON, files and git

def to_jsonable(obj: Any, nonfinite: Literal["string", "keep"] = "string") -> Any:
    """Plain JSON types from numpy scalars/arrays, dataclasses, tuples and paths.

    Non-finite floats become the strings "nan", "inf", "-inf" (``nonfinite="string"``, valid
    JSON) or stay floats (``"keep"``, for Python-only files that must round-trip exactly).
    Dict keys must be strings: converting them silently would let {1: ..} and {"1": ..} collide.
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


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    A crash at any moment leaves either the old file or the new one, never a partial file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


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


def provenance(params: Mapping[str, Any], started: float) -> dict[str, Any]:
    """Where, when and with what a result was produced.

    Parameters
    ----------
    params : the run's parameters (stored as JSON).
    started : ``time.time()`` at the start of the run; gives ``runtime_s``.
    """
    commit, dirty = git_state()
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


# ---------------------------------------------------------------- checks and verdicts

@dataclass(frozen=True)
class Check:
    """One verified claim of the paper: what it says, what was measured, what it predicts."""

    name: str
    claim: str
    measured: Any
    predicted: Any
    verdict: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if not self.name:
            raise ValueError("name must be a non-empty string")


def upper_bound_verdict(measured_exponent_ci: tuple[float, float], predicted_exponent: float) -> str:
    """Verdict on a rate claim of an upper bound (THEORY §8.2, §8.4).

    The bound says the quantity scales at most like x^p (p = ``predicted_exponent``, e.g. -2/5 for
    KL in n, or +4 for the gap in τ); a smaller measured exponent is better than promised. With
    the measured exponent's confidence interval [lo, hi]:

    - "pass-with-slack" if hi < p: faster decay (or slower growth) than the bound, for sure;
    - "pass" if lo <= p <= hi: consistent with the predicted exponent;
    - "fail" if lo > p: slower decay than the bound allows, for sure.

    Faster decay than predicted is never a failure.
    """
    lo, hi = (float(v) for v in measured_exponent_ci)
    p = float(predicted_exponent)
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(p)):
        raise ValueError(f"exponents must be finite, got CI ({lo!r}, {hi!r}) and prediction {p!r}")
    if lo > hi:
        raise ValueError(f"measured_exponent_ci must be (low, high) with low <= high, got ({lo!r}, {hi!r})")
    if hi < p:
        return "pass-with-slack"
    return "pass" if lo <= p else "fail"


def dominance_verdict(measured: Any, bound: Any, slack_factor: float = 10.0) -> str:
    """Verdict on "measured ≤ bound" at every point (THEORY §8.3).

    "fail" if any measured value exceeds its bound; "pass-with-slack" if every bound exceeds its
    measured value more than ``slack_factor`` times (a measured value ≤ 0 under a positive bound
    counts as infinitely slack); otherwise "pass".
    """
    m = np.asarray(measured, dtype=float)
    b = np.asarray(bound, dtype=float)
    if m.shape != b.shape:
        raise ValueError(f"measured and bound must have equal shapes, got {m.shape} and {b.shape}")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(b))):
        raise ValueError("measured and bound must be finite")
    if not slack_factor >= 1:
        raise ValueError(f"slack_factor must be >= 1, got {slack_factor!r}")
    if np.any(m > b):
        return "fail"
    slack = np.where(m > 0, b > slack_factor * m, b > 0)
    return "pass-with-slack" if np.all(slack) else "pass"


# ---------------------------------------------------------------- writers

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
        "checks": to_jsonable(list(checks)),
        "summary": {v: sum(c.verdict == v for c in checks) for v in VERDICTS},
        "provenance": to_jsonable(dict(provenance)),
        **to_jsonable(extra),
    }
    return atomic_write_text(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")


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


Section = tuple[str, "str | Path | Sequence[str | Path]"]


def write_report_md(path: str | os.PathLike, sections: Sequence[Section], title: str | None = None) -> Path:
    """Write a markdown report: one ``## title`` per section.

    A section's content is markdown text (a ``str``, e.g. a :func:`markdown_table`), an image
    (a ``Path``, linked relative to the report), or a sequence of both.
    """
    target = Path(path)
    parts = [f"# {title}\n"] if title else []
    for heading, content in sections:
        items = [content] if isinstance(content, (str, Path)) else list(content)
        body = []
        for item in items:
            if isinstance(item, Path):
                rel = Path(os.path.relpath(item.resolve(), target.resolve().parent)).as_posix()
                body.append(f"![{item.stem}]({rel})\n")
            elif isinstance(item, str):
                body.append(item.rstrip("\n") + "\n")
            else:
                raise ValueError(f"section {heading!r}: content must be str or Path, got {type(item).__name__}")
        parts.append(f"## {heading}\n\n" + "\n".join(body))
    return atomic_write_text(target, "\n".join(parts))


# ---------------------------------------------------------------- plots

def _figure(xlabel: str, ylabel: str, title: str | None, logx: bool, logy: bool):
    # A bare Figure with an Agg canvas: no pyplot state, never a display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return fig, ax


def _save(fig, ax, path: str | os.PathLike) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(target, format="png", dpi=_PNG_DPI)
    return target


def loglog_fit_plot(x: Sequence[float], y_by_group: Mapping[str, Sequence[float]], fit: PowerLawFit | None,
                    predicted_slope: float | None, path: str | os.PathLike, xlabel: str = "x",
                    ylabel: str = "y", title: str | None = None) -> Path:
    """Measured points per group (seed) on log–log axes, the fitted power law with its slope CI,
    and a line of the predicted slope through the fit at the geometric mean of x.
    """
    xs = np.asarray(x, dtype=float)
    fig, ax = _figure(xlabel, ylabel, title, logx=True, logy=True)
    for label, ys in y_by_group.items():
        ys = np.asarray(ys, dtype=float)
        if ys.shape != xs.shape:
            raise ValueError(f"y_by_group[{label!r}] has shape {ys.shape}, x has {xs.shape}")
        ok = ys > 0
        ax.plot(xs[ok], ys[ok], "o", alpha=0.6, label=str(label))
    grid = np.geomspace(xs.min(), xs.max(), 50)
    if fit is not None:
        ax.plot(grid, fit.predict(grid), "k-",
                label=f"fit slope {fit.slope:.3g} [{fit.ci_low:.3g}, {fit.ci_high:.3g}]")
    if predicted_slope is not None:
        anchor_x = float(np.exp(np.mean(np.log(xs))))
        anchor_y = float(fit.predict(anchor_x)) if fit is not None else float(
            np.exp(np.mean([np.log(v) for ys in y_by_group.values() for v in ys if v > 0])))
        ax.plot(grid, anchor_y * (grid / anchor_x) ** predicted_slope, "r--", label=f"predicted slope {predicted_slope:.3g}")
    return _save(fig, ax, path)


def curves_plot(x: Sequence[float], curves: Mapping[str, Sequence[float]],
                markers: Mapping[str, tuple[float, float]] | None, path: str | os.PathLike, xlabel: str = "x", ylabel: str = "y",
                title: str | None = None, logx: bool = False, logy: bool = False) -> Path:
    """Labelled curves over a shared x, plus named marker points (e.g. an early-stopping minimum)."""
    xs = np.asarray(x, dtype=float)
    fig, ax = _figure(xlabel, ylabel, title, logx, logy)
    for label, ys in curves.items():
        ys = np.asarray(ys, dtype=float)
        if ys.shape != xs.shape:
            raise ValueError(f"curves[{label!r}] has shape {ys.shape}, x has {xs.shape}")
        ax.plot(xs, ys, "-", label=str(label))
    for label, (mx, my) in (markers or {}).items():
        ax.plot([mx], [my], "*", markersize=12, label=str(label))
    return _save(fig, ax, path)


# ---------------------------------------------------------------- progress

def progress(iterable: Iterable[_T], desc: str, enabled: bool = True, total: int | None = None) -> Iterable[_T]:
    """Iterate with a tqdm progress bar on stderr (stdout stays clean); ``enabled=False`` is silent.

    Returns the tqdm object, so callers may also use ``set_postfix``.
    """
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, disable=not enabled, file=sys.stderr, dynamic_ncols=True)
