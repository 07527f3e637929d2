"""The hidden universal constants of "≲" (docs/theory.md §8.3), fitted by a linear program and frozen.

A bound of Theorem 1 or 2 reads  Σ_j c_j T_j(point) + offset(point): terms T_j ≥ 0 with unknown
constants c_j (e.g. τ⁴/(mn), τ³/m², 1/τ, 1/m of Theorem 1) and an offset with known constant
(e.g. KL(p_T‖π) with constant 1). On a calibration design of P points with measured values y_i,
the constants are the solution of

    minimise   Σ_i (Σ_j c_j T_ij + offset_i) / y_i      (the mean tightness ratio over the design)
    subject to Σ_j c_j T_ij + offset_i ≥ y_i  for all i,   c ≥ 0,

solved with HiGHS. With every objective weight positive, any optimum is minimal: lowering a
positive constant breaks domination at some point. Other objective weights can be passed.

The linear program is solved by :func:`verification.calibrated.lp.solve_lp`; :mod:`verification.calibrated.lp` explains the numerics.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..output.formats import to_jsonable

from ..store.files import atomic_write_text
from .lp import GAP_NOTE, dominate_exactly, solve_lp
from ..store.provenance import git_state, utc_now

CALIBRATION_SCHEMA = 1
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class ConstantsFit:
    """Solution of the calibration LP.

    ``objective`` is Σ_j w_j c_j (the offset's fixed share of the tightness is left out);
    ``ratio`` is the tightness bound/measured per design point, ``active`` marks points where the
    bound is tight (ratio within 1e-7 of 1), ``dominated`` points already dominated by the offset.
    ``gap`` is the certified relative optimality gap: ``objective`` ≤ (1 + gap) · (LP optimum), from a
    dual-feasible point; 0 when there was nothing to fit.
    """

    constants: np.ndarray
    objective: float
    ratio: np.ndarray
    active: np.ndarray
    dominated: np.ndarray
    notes: tuple[str, ...]
    gap: float = 0.0


def _terms(terms: Any) -> np.ndarray:
    t = np.asarray(terms, dtype=float)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[0] < 1 or t.shape[1] < 1:
        raise ValueError(f"terms must be a P x J matrix with P, J >= 1, got shape {np.shape(terms)}")
    bad = ~np.isfinite(t) | (t < 0)
    if np.any(bad):
        i, k = np.argwhere(bad)[0]
        raise ValueError(f"terms must be finite and >= 0, got terms[{i}, {k}] = {float(t[i, k])!r}")
    return t


def _per_point(name: str, values: Any, p: int) -> np.ndarray:
    """A length-p finite vector; a scalar is broadcast to every point."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        arr = np.full(p, float(arr))
    if arr.shape != (p,):
        raise ValueError(f"{name} must have one value per point ({p}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        i = int(np.argmax(~np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, got {name}[{i}] = {float(arr[i])!r}")
    return arr


def _ratio(bound: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """bound / measured; +inf where measured <= 0 (any nonnegative bound dominates it)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(measured > 0, bound / np.where(measured > 0, measured, 1.0), np.inf)


def fit_constants(
    terms: Any,
    offset: Any,
    measured: Any,
    term_names: Sequence[str],
    objective: Any = None,
    design: Sequence[Mapping[str, Any]] | None = None,
) -> ConstantsFit:
    """Smallest nonnegative constants with Σ_j c_j T_ij + offset_i ≥ y_i at every point.

    Parameters
    ----------
    terms : P x J array of term values T_ij >= 0 (column j is term ``term_names[j]``).
    offset : length-P array (or scalar) of the fixed-constant part of the bound.
    measured : length-P array of measured values y_i.
    term_names : J names.
    objective : length-J weights w_j >= 0 of the objective Σ_j w_j c_j, optional. Default
        w_j = Σ_i T_ij / y_i (mean tightness ratio, up to a constant), which needs every y_i > 0.
        A weight must be positive for every term that is nonzero somewhere, else the minimum
        would not pin down that constant.
    design : P parameter dicts, optional; only used to name a point in errors.

    Raises
    ------
    ValueError
        On malformed input, or if no constants can dominate a point: all its terms are 0 and
        offset < measured.

    Examples
    --------
    A bound c·(1/τ) fitted to measurements y = 2/τ: the smallest dominating constant is 2.

    >>> import numpy as np
    >>> from verification.calibrated.calibration import fit_constants
    >>> tau = np.array([1.0, 10.0, 100.0])
    >>> fit = fit_constants((1 / tau)[:, None], 0.0, 2 / tau, ["opt"])
    >>> round(float(fit.constants[0]), 9), bool(fit.active.all())
    (2.0, True)
    """
    t = _terms(terms)
    p, j = t.shape
    off = _per_point("offset", offset, p)
    y = _per_point("measured", measured, p)
    names = [str(n) for n in term_names]
    if len(names) != j or len(set(names)) != j:
        raise ValueError(f"term_names must be {j} distinct names (one per column), got {names}")
    if design is not None and len(design) != p:
        raise ValueError(f"design must describe each of the {p} points, got {len(design)}")

    zero_col = ~np.any(t > 0, axis=0)
    need = y - off  # what the constants must add at each point
    dominated = need <= 0
    stuck = ~dominated & ~np.any(t > 0, axis=1)
    if np.any(stuck):
        i = int(np.argmax(stuck))
        where = f" {dict(design[i])}" if design is not None else ""
        raise ValueError(f"calibration point {i}{where} cannot be dominated: all terms are 0 and "
                         f"offset {float(off[i])!r} < measured {float(y[i])!r}")

    if objective is None:
        if np.any(y <= 0):
            i = int(np.argmax(y <= 0))
            raise ValueError(f"measured must be > 0 for the default objective (mean bound/measured), got "
                             f"measured[{i}] = {float(y[i])!r}; pass objective weights instead")
        w = (t / y[:, None]).sum(axis=0)
    else:
        w = np.asarray(objective, dtype=float)
        if w.shape != (j,) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"objective must be {j} finite weights >= 0, got {objective!r}")
        if np.any((w == 0) & ~zero_col):
            k = int(np.argmax((w == 0) & ~zero_col))
            raise ValueError(f"objective weight of term {names[k]!r} must be > 0 (the term is nonzero "
                             "at some point, so a zero weight leaves its constant undetermined)")

    notes = tuple(f"term {names[k]!r} is 0 at every calibration point: constant set to 0"
                  for k in np.flatnonzero(zero_col))
    c = np.zeros(j)
    gap = 0.0
    rows = ~dominated
    cols = ~zero_col
    if np.any(rows):
        c[cols], gap = solve_lp(t[np.ix_(rows, cols)] / need[rows, None], w[cols])
        c = dominate_exactly(t[rows], off[rows], y[rows], c)
        if gap > GAP_NOTE:
            notes += (f"LP optimality certified only to a relative gap of {gap:.3g}",)
    bound = t @ c + off
    ratio = _ratio(bound, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        slack = np.where(rows, (t @ c) / np.where(rows, need, 1.0) - 1.0, np.inf)
    return ConstantsFit(c, float(w @ c), ratio, slack <= 1e-7, dominated, notes, gap)


@dataclass(frozen=True)
class HeldOutCheck:
    """Held-out comparison: the bound, its tightness ratio bound/measured and the violations."""

    bound: np.ndarray
    ratio: np.ndarray
    violates: np.ndarray

    @property
    def all_dominated(self) -> bool:
        return not bool(np.any(self.violates))


@dataclass(frozen=True)
class Calibration:
    """Frozen constants of a bound with the provenance of the calibration that produced them.

    ``commit`` ends in "-dirty" when the calibration ran from a checkout with uncommitted changes.
    """

    constants: dict[str, float]
    term_names: tuple[str, ...]
    design: list[dict] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    commit: str = "unknown"
    command: str = ""
    created: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.term_names)
        if set(self.constants) != set(names) or len(set(names)) != len(names):
            raise ValueError(f"constants must have exactly the keys term_names {list(names)}, got {list(self.constants)}")
        consts = {n: float(self.constants[n]) for n in names}
        for n, v in consts.items():
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"constant {n!r} must be finite and >= 0, got {v!r}")
        object.__setattr__(self, "term_names", names)
        object.__setattr__(self, "constants", consts)
        object.__setattr__(self, "design", [dict(d) for d in self.design])
        object.__setattr__(self, "seeds", [int(s) for s in self.seeds])

    def vector(self) -> np.ndarray:
        """Constants in ``term_names`` order."""
        return np.array([self.constants[n] for n in self.term_names])

    def bound(self, terms_matrix: Any, offset: Any) -> np.ndarray:
        """Σ_j c_j T_ij + offset_i at each point (columns of ``terms_matrix`` in ``term_names`` order)."""
        t = _terms(terms_matrix)
        if t.shape[1] != len(self.term_names):
            raise ValueError(f"terms_matrix must have {len(self.term_names)} columns {list(self.term_names)}, "
                             f"got {t.shape[1]}")
        return t @ self.vector() + _per_point("offset", offset, t.shape[0])

    def check_held_out(self, terms_matrix: Any, offset: Any, measured: Any, rtol: float = 0.0) -> HeldOutCheck:
        """Assert-ready comparison on fresh draws (docs/theory.md §8.3): a point violates the bound when
        measured > bound · (1 + rtol)."""
        if not rtol >= 0:
            raise ValueError(f"rtol must be >= 0, got {rtol!r}")
        b = self.bound(terms_matrix, offset)
        y = _per_point("measured", measured, b.size)
        return HeldOutCheck(b, _ratio(b, y), y > b * (1.0 + rtol))

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write the versioned JSON file (``"schema": 1``)."""
        doc = {"schema": CALIBRATION_SCHEMA, **to_jsonable(self)}
        return atomic_write_text(path, json.dumps(doc, indent=2, allow_nan=False) + "\n")

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> Calibration:
        """Read a file written by :meth:`to_json`."""
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if doc.get("schema") != CALIBRATION_SCHEMA:
            raise ValueError(f"{path}: schema must be {CALIBRATION_SCHEMA}, got {doc.get('schema')!r}")
        doc.pop("schema")
        return cls(**doc)


def calibrate(
    terms: Any,
    offset: Any,
    measured: Any,
    term_names: Sequence[str],
    design: Sequence[Mapping[str, Any]],
    seeds: Sequence[int],
    command: str,
    notes: str = "",
    objective: Any = None,
) -> Calibration:
    """Fit the constants (:func:`fit_constants`) and stamp them with commit, command and date."""
    fit = fit_constants(terms, offset, measured, term_names, objective, design)
    commit, dirty = git_state()
    return Calibration(
        constants=dict(zip((str(n) for n in term_names), fit.constants.tolist())),
        term_names=tuple(term_names),
        design=[dict(d) for d in design],
        seeds=list(seeds),
        commit=commit + ("-dirty" if dirty else ""),
        command=command,
        created=utc_now(),
        notes="; ".join([*([notes] if notes else []), *fit.notes]),
    )


def _data_path(name: str, directory: str | os.PathLike | None) -> Path:
    if not _NAME.match(name):
        raise ValueError(f"name must match {_NAME.pattern} (a file stem), got {name!r}")
    return Path(directory if directory is not None else DATA_DIR) / f"{name}.json"


def save_constants(calibration: Calibration, name: str, directory: str | os.PathLike | None = None) -> Path:
    """Freeze ``calibration`` as ``<directory>/<name>.json`` (default: the package's data folder)."""
    return calibration.to_json(_data_path(name, directory))


def load_constants(name: str, directory: str | os.PathLike | None = None) -> Calibration:
    """The calibration frozen under ``name`` (default: the package's data folder)."""
    path = _data_path(name, directory)
    if not path.is_file():
        folder = path.parent
        known = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        raise ValueError(f"no calibration named {name!r} in {folder}; available: {known}")
    return Calibration.from_json(path)
