"""Negative controls of the calibrated bounds (docs/theory.md §8.3): wrong shapes that the held-out test
must be able to reject.

A control is a full alternative bound Σ_j c_j T_j + KL(p_T‖π) with its own columns T_j. It is calibrated
by the same linear program on the same design as the paper's bound (:func:`fit`) and tested on the same
held-out draws (:mod:`verification.calibrated.bound_test`). The five *named* controls, the shapes a
held-out test of a calibrated bound must reject, are

1. c0 + c1 ‖θ*‖²/τ: a constant and the optimisation term;
2. c τ⁴n/m: growing in n;
3. c √τ/(mn): far too fast a decay in m and n;
4. c µ²: no decay in m (for Theorem 1, µ is the bump position);
5. c0/n + c1 ‖θ*‖²/τ: the n-rate of a parametric model and the optimisation term.

The power of the check is the fraction of them that the test rejects. Two more, not named (reported,
not in the power): the paper's bound without its generalisation terms, and the paper's bound with the
optimisation term ‖θ*‖²/τ² instead of ‖θ*‖²/τ.

Columns are functions of :func:`verification.calibrated.heldout.variables` (n, m, tau, mu, norm2 and the paper's
unit-constant terms by name).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import DATA_DIR, fit_constants
from ..store.files import atomic_write_text
from ..store.provenance import git_state, utc_now

CONTROLS_SCHEMA = 1
CONTROLS_FILE = {1: "theorem1_controls", 2: "theorem2_controls"}
Column = Callable[[Mapping[str, np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Control:
    """A wrong (or differently shaped) bound: ``key`` its id, ``shape`` its formula, ``named`` whether it
    is one of the five named controls that make the power, ``columns`` (name, function) pairs."""

    key: str
    shape: str
    named: bool
    columns: tuple[tuple[str, Column], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def matrix(self, v: Mapping[str, np.ndarray]) -> np.ndarray:
        """The P x J unit-constant column values at the points of ``v``."""
        p = len(v["n"])
        return np.column_stack([np.broadcast_to(np.asarray(f(v), dtype=float), (p,)) for _, f in self.columns])


def _col(name: str) -> tuple[str, Column]:
    return name, lambda v: v[name]


_OPT = ("opt", lambda v: v["opt"])  # ‖θ*‖²/τ, as in the paper's bound
_PAPER_REST = ("rf", "approx_bar", "approx_star")


def controls(theorem: int) -> tuple[Control, ...]:
    """The controls of Theorem 1 or 2: the five named shapes, then the paper's bound without its
    generalisation terms and with ‖θ*‖²/τ² (not named).

    Examples
    --------
    >>> from verification.calibrated.controls import controls
    >>> [c.key for c in controls(2) if c.named]
    ['const+opt', 'tau4n/m', 'sqrt(tau)/(mn)', 'mu2', '1/n+opt']
    """
    if theorem not in (1, 2):
        raise ValueError(f"theorem must be 1 or 2, got {theorem!r}")
    gen = ("gen_mn", "gen_m2")
    return (
        Control("const+opt", "c0 + c1 ||theta*||^2/tau", True, (("one", lambda v: np.ones_like(v["n"])), _OPT)),
        Control("tau4n/m", "c tau^4 n/m", True, (("tau4n/m", lambda v: v["tau"] ** 4 * v["n"] / v["m"]),)),
        Control("sqrt(tau)/(mn)", "c sqrt(tau)/(mn)", True,
                (("sqrt(tau)/(mn)", lambda v: np.sqrt(v["tau"]) / (v["m"] * v["n"])),)),
        Control("mu2", "c mu^2 (no decay in m)", True, (("mu2", lambda v: v["mu"] ** 2),)),
        Control("1/n+opt", "c0/n + c1 ||theta*||^2/tau", True, (("1/n", lambda v: 1.0 / v["n"]), _OPT)),
        Control("paper-no-gen", f"Theorem {theorem} without its generalisation terms {gen}", False,
                (_OPT, *(_col(k) for k in _PAPER_REST))),
        Control("paper-opt/tau2", f"Theorem {theorem} with ||theta*||^2/tau^2 for its 1/tau term", False,
                (*(_col(k) for k in gen), ("opt/tau2", lambda v: v["opt"] / v["tau"]),
                 *(_col(k) for k in _PAPER_REST))),
    )


@dataclass(frozen=True)
class ControlFit:
    """A control with its calibrated constants (by column name)."""

    control: Control
    constants: dict[str, float]

    def bound(self, v: Mapping[str, np.ndarray]) -> np.ndarray:
        """Σ_j c_j T_j + KL(p_T‖π) at the points of ``v`` (:func:`verification.calibrated.heldout.variables`)."""
        c = np.array([self.constants[k] for k in self.control.names])
        return self.control.matrix(v) @ c + v["prior"]


def fit(control: Control, v: Mapping[str, np.ndarray], measured: Any) -> ControlFit:
    """The smallest dominating constants of ``control`` on the design (the LP of
    :func:`verification.calibrated.calibration.fit_constants`, as for the paper's bound).

    Examples
    --------
    A constant fitted where the truth is 3/τ: the constant is the largest value, at τ = 1.

    >>> import numpy as np
    >>> from verification.calibrated.controls import controls, fit
    >>> tau = np.array([1.0, 10.0, 100.0])
    >>> v = {"n": np.full(3, 8.0), "m": np.full(3, 8.0), "tau": tau, "mu": np.ones(3), "opt": 1 / tau,
    ...      "prior": np.zeros(3)}
    >>> f = fit(controls(2)[0], v, 3 / tau)
    >>> {k: round(c, 6) for k, c in f.constants.items()}
    {'one': 0.0, 'opt': 3.0}
    """
    result = fit_constants(control.matrix(v), v["prior"], measured, control.names)
    return ControlFit(control, dict(zip(control.names, result.constants.tolist())))


def fit_all(theorem: int, v: Mapping[str, np.ndarray], measured: Any) -> tuple[ControlFit, ...]:
    """Every control of ``theorem`` fitted on the same design."""
    return tuple(fit(c, v, measured) for c in controls(theorem))


def _path(theorem: int, directory: str | os.PathLike | None) -> Path:
    return Path(directory if directory is not None else DATA_DIR) / f"{CONTROLS_FILE[theorem]}.json"


def save(theorem: int, fits: Sequence[ControlFit], command: str, design: Mapping[str, Any], seeds: Sequence[int],
         directory: str | os.PathLike | None = None, **extra: Any) -> Path:
    """Freeze the fitted controls with their provenance (commit, command, date, design, seeds)."""
    commit, dirty = git_state()
    doc = {"schema": CONTROLS_SCHEMA, "theorem": theorem, "commit": commit + ("-dirty" if dirty else ""),
           "command": command, "created": utc_now(), "design": dict(design), "seeds": [int(s) for s in seeds],
           **extra,
           "controls": [{"key": f.control.key, "shape": f.control.shape, "named": f.control.named,
                         "columns": list(f.control.names), "constants": f.constants} for f in fits]}
    return atomic_write_text(_path(theorem, directory), json.dumps(doc, indent=2, allow_nan=False) + "\n")


def load(theorem: int, directory: str | os.PathLike | None = None) -> tuple[tuple[ControlFit, ...], dict]:
    """(fitted controls, the file's provenance) frozen for ``theorem``; ValueError if missing or stale
    (a control's columns differ from :func:`controls`)."""
    path = _path(theorem, directory)
    if not path.is_file():
        raise ValueError(f"no controls file {path}: run diffgen calibrate --theorem {theorem}")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("schema") != CONTROLS_SCHEMA:
        raise ValueError(f"{path}: schema must be {CONTROLS_SCHEMA}, got {doc.get('schema')!r}")
    known = {c.key: c for c in controls(theorem)}
    fits = []
    for entry in doc["controls"]:
        c = known.get(entry["key"])
        if c is None or list(c.names) != entry["columns"]:
            raise ValueError(f"{path}: control {entry['key']!r} is stale (columns {entry['columns']}); "
                             f"run diffgen calibrate --theorem {theorem}")
        fits.append(ControlFit(c, {k: float(entry["constants"][k]) for k in c.names}))
    missing = set(known) - {f.control.key for f in fits}
    if missing:
        raise ValueError(f"{path}: controls {sorted(missing)} missing; run diffgen calibrate --theorem {theorem}")
    return tuple(fits), {k: v for k, v in doc.items() if k != "controls"}
