"""Bounds with fitted constants (docs/theory.md §8.3, §8.5) as a rule: the procedure of
:mod:`verification.calibrated.bound_test` (fit on the design, identified terms, a split-conformal threshold at the theorems'
δ, a binomial test over the held-out draws) applied to the paper's shape, its negative controls and the shape
without its generalisation terms.

Raw verdict: the claim's ``against`` when the paper's shape is rejected and every one of its terms is
identified; ``inconclusive`` when it is rejected but some term is not (the tested bound is then not the paper's:
the design cannot tell it from the bound without that term); ``holds`` when it is not rejected and the same test
rejects more than half of the named controls; ``inconclusive`` otherwise. Size: the simulated rate of rejecting a
bound that holds exactly, with the design's noise (:func:`verification.calibrated.bound_test.simulated_size`). Power: the
fraction of the named controls rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .core import Operating


@dataclass(frozen=True)
class FittedData:
    """The paper's shape, the design and held-out points (:class:`verification.calibrated.bound_test.Points`), the negative
    controls (``(shape, named)`` pairs), the shape without generalisation terms (or None), and the names of the
    generalisation terms."""

    shape: object
    design: object
    held: object
    controls: tuple = ()
    no_generalisation: object | None = None
    generalisation: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
    replicates: int = 100
    """Replicates of the size simulation (each refits the design)."""


@dataclass(frozen=True)
class Fitted:
    """A bound whose constants are fitted on a design and tested on held-out draws.

    Examples
    --------
    >>> import numpy as np
    >>> from verification.calibrated.bound_test import Points, Shape, columns_of
    >>> from verification.rules import Fitted, FittedData, judge, rng_for
    >>> def pts(n, tau, cells, c=2.0):
    ...     return Points({"n": n, "tau": tau, "opt": 1 / tau, "n^-2": 1 / n**2, "prior": 0 * tau}, c / tau, cells)
    >>> tau = np.tile(np.geomspace(1, 1e3, 7), 40)
    >>> design = pts(np.full(tau.size, 8.0), tau, np.repeat(np.arange(40), 7))
    >>> held = pts(np.full(6, 64.0), np.geomspace(1, 1e4, 6), np.arange(100, 106))
    >>> paper = Shape("c/tau", columns_of(["opt"]), lambda v: v["prior"])
    >>> wrong = Shape("c/n^2", columns_of(["n^-2"]), lambda v: v["prior"])
    >>> data = FittedData(paper, design, held, ((wrong, True),), replicates=20)
    >>> j = judge(Fitted(), data, 0, rng_for("doc"))
    >>> j.verdict, j.size, j.power
    ('holds', 0.0, 1.0)
    """

    against: str = "violated"
    name: str = "fitted"

    def predicted(self) -> dict:
        return {"all_dominated": True, "delta": 0.05}

    def describe(self) -> str:
        return ("smallest constants dominating the design (linear program); a term is identified when dropping it "
                "worsens the fit by more than 1%; threshold k = the split-conformal (1 - delta) quantile of "
                "leave-one-cell-out ratios measured/bound over the design's cells; X of H held-out draws above "
                "k x bound, binomial p = P(Bin(H, delta) >= X); the same for the negative controls (power) and the "
                "bound without its generalisation terms")

    def contradiction(self) -> str:
        return (f"p <= 0.05 with every term identified: {self.against}; an unidentified term, or controls not "
                "rejected: inconclusive")

    def measure(self, data: FittedData) -> dict:
        from ..calibrated.bound_test import identified, run_test

        if data.design is None or data.design.y.size == 0 or data.held.y.size == 0:
            return {"error": "no design or no held-out points", **data.extra}
        test = run_test(data.shape, data.design, data.held)
        ident = identified(data.shape, data.design)
        controls = []
        for shape, named in data.controls:
            t = run_test(shape, data.design, data.held)
            controls.append({"shape": shape.name, "named": bool(named), "rejected": t["rejected"],
                             "draws_above": t["draws_above"], "p_value": t["p_value"], "constants": t["constants"]})
        named = [c for c in controls if c["named"]]
        out = {**test, "identified": ident, "unidentified": [k for k, v in ident.items() if not v],
               "controls": controls, "control_power": (sum(c["rejected"] for c in named) / len(named)) if named else 0.0,
               **data.extra}
        if data.no_generalisation is not None:
            nog = run_test(data.no_generalisation, data.design, data.held)
            out["vs_no_generalisation"] = {k: nog[k] for k in ("rejected", "draws_above", "cells_above", "p_value",
                                                               "threshold", "constants")}
        return out

    def decide(self, stat: dict) -> str:
        if "error" in stat:
            return "inconclusive"
        if stat["rejected"]:
            return "inconclusive" if stat["unidentified"] else self.against
        return "holds" if stat["control_power"] > 0.5 else "inconclusive"

    def explain(self, stat: dict) -> str | None:
        """Why a bound stays inconclusive: the design does not identify some term of a rejected bound, or has too
        few cells to set a threshold at all."""
        if stat.get("rejected") and stat.get("unidentified"):
            return ("rejected, but the design does not identify " + ", ".join(stat["unidentified"])
                    + ": the tested bound is not the paper's")
        if stat.get("threshold") == float("inf"):
            return (f"{stat['design_cells']} design cells cannot set a threshold at delta = 0.05 (the conformal "
                    f"rank {stat['threshold_rank']} exceeds them; 19 cells are needed): nothing can be rejected")
        return None

    def characteristics(self, data: FittedData, stat: dict) -> Operating:
        """Size by simulating a bound that holds exactly (``data.replicates`` replicates), power from the controls."""
        from ..calibrated.bound_test import simulated_size
        from .core import rng_for

        if "error" in stat:
            return Operating(1.0, 0.0, ({"name": "exact bound", "sentence": stat["error"], "errors": [self.against],
                                         "rate": 1.0},), "none")
        size = simulated_size(data.shape, data.design, data.held, data.replicates, rng_for(data.shape.name))
        nulls = ({"name": "exact bound", "sentence": f"data from the fitted bound itself (it holds exactly), each "
                  f"design cell and held-out point scaled by a design cell's own ratios measured/bound; fitted, "
                  f"thresholded and tested as the data ({data.replicates} replicates)", "errors": [self.against],
                  "rate": float(size)},)
        named = [s.name for s, n in data.controls if n]
        alt = (f"the named negative controls ({', '.join(named)}), fitted, thresholded and tested the same way"
               if named else "none")
        return Operating(float(size), float(stat["control_power"]), nulls, alt)
