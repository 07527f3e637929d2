"""Any bound with hidden constants, tested honestly (docs/theory.md §8.3): fitted on the calibration design,
which terms the design identifies, a rejection threshold with a known false-alarm rate, and its size and power.

A bound is Σ_j C_j T_j + offset: columns T_j ≥ 0 (functions of n, m, τ, µ, d and the measured L̃(θ*), L̃(θ̄*),
‖θ*‖², KL(p_T‖π)) with unknown constants C_j ≥ 0, and an offset with known constant. The procedure:

1. **Fit**: the smallest constants dominating every design point (the linear program of
   :func:`verification.calibrated.calibration.fit_constants`).
2. **Identified**: term j is identified when the fit without it is infeasible or its objective (the mean
   tightness over the design) worse by more than ``IDENT_MARGIN``; a term whose constant the design cannot move
   is not tested, so a bound with an unidentified term is never ``violated`` (its verdict is ``inconclusive``).
3. **Threshold** (split-conformal over design cells): each cell (a seed: one data set, one feature draw) is left
   out, the constants refitted on the rest, and r_g = max over the cell's points of measured / refitted bound;
   k is the ⌈(1 - δ)(G + 1)⌉-th smallest r_g, and at least 1. A new cell exchangeable with the design's lies
   above k x bound with probability at most δ, the theorems' own failure probability ("with probability ≥
   1 - δ"); held-out draws are not exchangeable with the design (they extrapolate, and hold 3 τ against the
   design cells' 41), so a quantile below 1 is raised to 1: a draw under the bound the design fits never counts
   against it.
4. **Test**: X of the H held-out draws lie above k x bound somewhere; the binomial p-value P(Bin(H, δ) ≥ X)
   decides: ``violated`` at p ≤ ``ALPHA``. Only cells with an active point of the full fit change it when left
   out (the linear program's optimum keeps its value when a slack constraint goes), so the leave-one-out costs
   a handful of refits.
5. **Size**, by simulation: data from the fitted bound itself (a bound that holds exactly), each design cell's
   points the bound times the measured/bound ratios of a design cell drawn at random (the design's own noise,
   its correlation over τ kept), each held-out draw the bound times the ratios of one design cell drawn at random,
   read at the nearest τ; fit, threshold and test as above; the rate of ``violated``. **Power**: the same procedure applied
   to the named negative controls on the real data (the fraction rejected).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from .calibration import fit_constants

DELTA = 0.05
"""The theorems' failure probability δ: a held-out draw may lie above the bound with this probability."""
ALPHA = 0.05
"""Level of the binomial test on the number of held-out draws above the threshold."""
IDENT_MARGIN = 0.01
"""A term is identified when dropping it worsens the fit's mean tightness by more than this fraction."""

Column = Callable[[Mapping[str, np.ndarray]], np.ndarray]


@dataclass(frozen=True)
class Shape:
    """A bound Σ_j C_j T_j + offset: named columns (functions of the point variables) and the offset."""

    name: str
    columns: tuple[tuple[str, Column], ...]
    offset: Column = lambda v: v["prior"]  # noqa: E731  (KL(p_T‖π) with constant 1, Lemma 2)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.columns)

    def matrix(self, v: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(T, offset) at the points of ``v``: P x J unit-constant columns and the length-P offset."""
        p = len(v["n"])
        T = np.column_stack([np.broadcast_to(np.asarray(f(v), dtype=float), (p,)) for _, f in self.columns])
        return T, np.broadcast_to(np.asarray(self.offset(v), dtype=float), (p,)).copy()


@dataclass(frozen=True)
class Points:
    """Measured points: the variables (arrays by name), max(K1, K2) ``y`` and each point's ``cell``."""

    v: Mapping[str, np.ndarray]
    y: np.ndarray
    cells: np.ndarray

    def take(self, mask: np.ndarray) -> "Points":
        return Points({k: np.asarray(a)[mask] for k, a in self.v.items()}, self.y[mask], self.cells[mask])


def _fit(T: np.ndarray, off: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(constants, objective, active rows) of the dominating fit; points with y <= offset need nothing."""
    f = fit_constants(T, off, y, [f"c{j}" for j in range(T.shape[1])], objective=np.maximum(
        (T / np.where(y > 0, y, np.inf)[:, None]).sum(axis=0), 1e-300))
    return f.constants, f.objective, f.active & ~f.dominated


def fit(shape: Shape, design: Points) -> dict[str, float]:
    """The smallest dominating constants of ``shape`` on ``design``, by column name."""
    T, off = shape.matrix(design.v)
    return dict(zip(shape.names, _fit(T, off, design.y)[0].tolist()))


def identified(shape: Shape, design: Points) -> dict[str, bool]:
    """Per term: whether the design identifies its constant (module docstring, step 2)."""
    T, off = shape.matrix(design.v)
    _, base, _ = _fit(T, off, design.y)
    out = {}
    for j, name in enumerate(shape.names):
        keep = [i for i in range(T.shape[1]) if i != j]
        if not keep:
            out[name] = True
            continue
        try:
            _, without, _ = _fit(T[:, keep], off, design.y)
        except ValueError:  # some point cannot be dominated without this term
            out[name] = True
            continue
        out[name] = bool(without > base * (1 + IDENT_MARGIN))
    return out


def _loo_ratios(T: np.ndarray, off: np.ndarray, y: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """r_g = max over cell g of y / bound refitted without g, for every cell (only cells holding an active point
    of the full fit need a refit)."""
    c, _, active = _fit(T, off, y)
    bound = T @ c + off
    labels = np.unique(cells)
    out = np.empty(labels.size)
    for k, g in enumerate(labels):
        mine = cells == g
        if np.any(active & mine):
            try:
                cg, _, _ = _fit(T[~mine], off[~mine], y[~mine])
            except ValueError:
                out[k] = np.inf
                continue
            b = T[mine] @ cg + off[mine]
        else:
            b = bound[mine]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[k] = float(np.max(np.where(b > 0, y[mine] / b, np.where(y[mine] > 0, np.inf, 0.0))))
    return out


def conformal_threshold(ratios: np.ndarray, delta: float = DELTA) -> tuple[float, int]:
    """(k, rank): the ⌈(1 - δ)(G + 1)⌉-th smallest leave-one-out ratio (inf when that rank exceeds G: too few
    cells for the level).

    Examples
    --------
    >>> import numpy as np
    >>> from verification.calibrated.bound_test import conformal_threshold
    >>> conformal_threshold(np.linspace(0.5, 1.0, 39))   # 39 cells: the 38th smallest of 39
    (0.9868421052631579, 38)
    >>> conformal_threshold(np.ones(10))[0]              # 10 cells cannot set a 95% threshold
    inf
    """
    r = np.sort(np.asarray(ratios, dtype=float))
    rank = math.ceil((1 - delta) * (r.size + 1))
    return (float(r[rank - 1]) if rank <= r.size else float("inf")), rank


def critical_count(draws: int, delta: float = DELTA, alpha: float = ALPHA) -> int:
    """The least X with P(Bin(draws, δ) ≥ X) ≤ alpha (draws + 1 when none: the test can never reject).

    Examples
    --------
    >>> from verification.calibrated.bound_test import critical_count
    >>> critical_count(24), critical_count(12), critical_count(2)
    (4, 3, 2)
    """
    for x in range(draws + 1):
        if binom.sf(x - 1, draws, delta) <= alpha:
            return x
    return draws + 1


def run_test(shape: Shape, design: Points, held: Points, delta: float = DELTA) -> dict:
    """Fit, threshold and test ``shape`` (module docstring, steps 1, 3, 4); the raw verdict is ``violated`` or
    ``not rejected``."""
    T, off = shape.matrix(design.v)
    c, _, _ = _fit(T, off, design.y)
    ratios = _loo_ratios(T, off, design.y, design.cells)
    k, rank = conformal_threshold(ratios, delta)
    k = max(k, 1.0)
    Th, offh = shape.matrix(held.v)
    bound = Th @ c + offh
    above = held.y > k * bound
    draws = np.unique(held.cells)
    exceed = sorted(str(g) for g in draws if np.any(above[held.cells == g]))
    x, h = len(exceed), int(draws.size)
    p = float(binom.sf(x - 1, h, delta)) if h else 1.0
    return {"constants": dict(zip(shape.names, c.tolist())), "threshold": k, "threshold_rank": rank,
            "design_cells": int(ratios.size), "held_out_draws": h, "draws_above": x, "cells_above": exceed,
            "critical_count": critical_count(h, delta), "p_value": p,
            "rejected": bool(h and p <= ALPHA), "worst_ratio": float(np.max(held.y / bound)) if held.y.size else None}


def simulated_size(shape: Shape, design: Points, held: Points, reps: int, rng: np.random.Generator,
                   delta: float = DELTA) -> float:
    """The rate at which :func:`run_test` rejects a bound that holds exactly, with the design's noise (module
    docstring, step 5)."""
    T, off = shape.matrix(design.v)
    c, _, _ = _fit(T, off, design.y)
    truth = T @ c + off
    Th, offh = shape.matrix(held.v)
    truth_h = Th @ c + offh
    labels = np.unique(design.cells)
    rows = [np.flatnonzero(design.cells == g) for g in labels]
    width = min(len(r) for r in rows)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(truth > 0, design.y / truth, 0.0)
    table = np.stack([ratio[r[:width]] for r in rows])  # cell x point (the design's shared τ grid, in order)
    tau_d = np.log(np.asarray(design.v["tau"])[rows[0][:width]])
    near = np.abs(np.log(np.asarray(held.v["tau"]))[:, None] - tau_d[None, :]).argmin(axis=1)
    held_cells = np.unique(held.cells, return_inverse=True)[1]
    rejected = 0
    for _ in range(reps):
        y = np.empty_like(design.y)
        for r in rows:
            y[r] = truth[r] * np.resize(table[rng.integers(0, len(rows))], r.size)
        donor = rng.integers(0, len(rows), size=held_cells.max() + 1 if held_cells.size else 0)
        yh = truth_h * table[donor[held_cells], near]  # each held-out draw: one design cell's ratios
        fake_d, fake_h = Points(design.v, y, design.cells), Points(held.v, yh, held.cells)
        rejected += run_test(shape, fake_d, fake_h, delta)["rejected"]
    return rejected / max(reps, 1)


def binomial_size(draws: int, delta: float = DELTA) -> float:
    """P(Bin(draws, δ) ≥ critical count): the size of step 4 for exchangeable draws at the conformal level."""
    x = critical_count(draws, delta)
    return float(binom.sf(x - 1, draws, delta)) if x <= draws else 0.0


def columns_of(names: Sequence[str]) -> tuple[tuple[str, Column], ...]:
    """Columns read from the variables by name (the paper's unit-constant terms are variables of the points)."""
    return tuple((n, (lambda v, n=n: v[n])) for n in names)
