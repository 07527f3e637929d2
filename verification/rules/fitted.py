"""Bounds with fitted constants (docs/theory.md §8.3, §8.5): the smallest constants dominating a design, then
the test "every held-out point under the bound".

Raw verdict: the claim's ``against`` if some held-out point lies above the bound; ``holds`` if the same test
rejects more than half of the named negative controls (wrong shapes fitted and tested the same way);
``inconclusive`` otherwise.

Size is measured by leave-one-cell-out refits on the design (cells: the groups of points that share a seed
and configuration): q = the fraction of cells that lie above the bound refitted without them, the false-alarm
rate of one exchangeable held-out cell under a bound of the right shape; with H held-out cells,
size = 1 - (1 - q)^H, the chance that at least one exceeds. Held-out cells extrapolate beyond the design, so
this underestimates the size when the design cannot identify a term. Power: the fraction of the named controls
rejected. Without design measurements the size is unmeasured and set to 1 (no decisive verdict).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .core import Operating


@dataclass(frozen=True)
class Block:
    """Points of a fitted bound: unit-constant columns ``T`` (P x J), the fixed ``offset``, measured ``y`` and the
    cell (group) of each point."""

    T: np.ndarray
    offset: np.ndarray
    y: np.ndarray
    groups: tuple

    @staticmethod
    def of(T, offset, y, groups) -> "Block":
        T = np.atleast_2d(np.asarray(T, dtype=float))
        y = np.asarray(y, dtype=float)
        off = np.broadcast_to(np.asarray(offset, dtype=float), y.shape).copy()
        return Block(T, off, y, tuple(groups))


@dataclass(frozen=True)
class FittedData:
    """The design (or None), the held-out points, the frozen constants (None: fit on the design), and the named
    controls' outcomes on the same held-out points (dicts with ``shape``, ``named``, ``rejected``)."""

    design: Block | None
    held: Block
    constants: tuple[float, ...] | None = None
    controls: tuple[dict, ...] = ()
    extra: dict = field(default_factory=dict)


def loo_exceed_rate(design: Block, rtol: float = 1e-9) -> tuple[float, int]:
    """(q, cells): the fraction of design cells lying above the bound fitted without them."""
    from ..calibration import fit_constants  # the calibration module writes files that name checks

    cells = list(dict.fromkeys(design.groups))
    g = np.asarray([cells.index(x) for x in design.groups])
    exceed = 0
    for k in range(len(cells)):
        keep, out = g != k, g == k
        if not keep.any():
            continue
        ok = design.y[keep] > 0
        fit = fit_constants(design.T[keep][ok], design.offset[keep][ok], design.y[keep][ok],
                            [f"c{j}" for j in range(design.T.shape[1])])
        bound = design.T[out] @ fit.constants + design.offset[out]
        exceed += bool(np.any(design.y[out] > bound * (1 + rtol)))
    return exceed / max(len(cells), 1), len(cells)


@dataclass(frozen=True)
class Fitted:
    """A bound whose constants are fitted on a design and tested on held-out points.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.rules import Block, Fitted, FittedData, judge, rng_for
    >>> tau = np.tile([1.0, 10.0, 100.0], 6)
    >>> cells = np.repeat(np.arange(6), 3)
    >>> design = Block.of((1 / tau)[:, None], 0.0, 2.0 / tau, cells)   # every cell exactly 2/tau
    >>> held = Block.of([[0.001]], 0.0, [0.0019], [99])
    >>> controls = tuple({"shape": s, "named": True, "rejected": True} for s in "abcde")
    >>> j = judge(Fitted(), FittedData(design, held, controls=controls), 0, rng_for("doc"))
    >>> j.verdict, j.size, j.power
    ('holds', 0.0, 1.0)

    A design whose cells scatter: one of six lies above the bound refitted without it, so one held-out cell
    would exceed a bound of the right shape with probability 1/6, and nothing decisive can be said:

    >>> noisy = Block.of((1 / tau)[:, None], 0.0, 2.0 / tau * (1 + 0.01 * cells), cells)
    >>> j = judge(Fitted(), FittedData(noisy, held, controls=controls), 0, rng_for("doc"))
    >>> j.verdict, round(j.size, 3)
    ('inconclusive', 0.167)
    """

    against: str = "violated"
    name: str = "fitted"

    def predicted(self) -> dict:
        return {"all_dominated": True}

    def describe(self) -> str:
        return ("smallest constants dominating the design (linear program), then the largest ratio measured/bound on "
                "held-out points beyond the design; the same for negative controls (power); size by leave-one-cell-out "
                "refits on the design")

    def contradiction(self) -> str:
        return f"a held-out point above the calibrated bound: {self.against}; controls not rejected: inconclusive"

    def _constants(self, data: FittedData) -> np.ndarray:
        if data.constants is not None:
            return np.asarray(data.constants, dtype=float)
        from ..calibration import fit_constants

        d = data.design
        ok = d.y > 0
        return fit_constants(d.T[ok], d.offset[ok], d.y[ok], [f"c{j}" for j in range(d.T.shape[1])]).constants

    def measure(self, data: FittedData) -> dict:
        if data.design is None and data.constants is None:
            return {"error": "no design and no constants", **data.extra}
        c = self._constants(data)
        h = data.held
        bound = h.T @ c + h.offset
        above = h.y > bound
        named = [x for x in data.controls if x.get("named")]
        power = sum(bool(x["rejected"]) for x in named) / len(named) if named else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(h.y > 0, bound / np.where(h.y > 0, h.y, 1.0), np.inf)
        finite = ratio[np.isfinite(ratio)]
        return {"constants": c.tolist(), "held_out_points": int(h.y.size),
                "held_out_cells": len(set(h.groups)), "above": int(above.sum()),
                "cells_above": sorted({str(g) for g, a in zip(h.groups, above) if a}),
                "tightness_min": float(finite.min()) if finite.size else None,
                "control_power": power, **data.extra}

    def decide(self, stat: dict) -> str:
        if "error" in stat:
            return "inconclusive"
        if stat["above"] > 0:
            return self.against
        return "holds" if stat["control_power"] > 0.5 else "inconclusive"

    def characteristics(self, data: FittedData, stat: dict) -> Operating:
        """Size by leave-one-cell-out refits (module docstring), power from the named controls."""
        cells = len(set(data.held.groups))
        if data.design is None or len(set(data.design.groups)) < 2:
            nulls = ({"name": "leave-one-cell-out", "sentence": "no design measurements at hand: size unmeasured",
                      "errors": [self.against], "rate": 1.0},)
            size = 1.0
        else:
            q, n_cells = loo_exceed_rate(data.design)
            size = 1.0 - (1.0 - q) ** cells
            nulls = ({"name": "leave-one-cell-out", "sentence": f"each of {n_cells} design cells left out and the bound "
                      f"refitted: {q:.3f} lie above it; with {cells} held-out cells, P(some cell above) = "
                      f"1 - (1 - {q:.3f})^{cells}", "errors": [self.against], "rate": float(size), "cell_rate": q},)
        named = [x["shape"] for x in data.controls if x.get("named")]
        alt = f"the named negative controls ({', '.join(named)}), fitted and tested the same way" if named else "none"
        return Operating(float(size), float(stat.get("control_power", 0.0)), nulls, alt)
