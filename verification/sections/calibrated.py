"""Calibrated bounds on held-out draws (docs/theory.md §8.3): K2 <= K1 <= the calibrated bound."""

from __future__ import annotations

import numpy as np

from empirical.formats import markdown_table

from .. import heldout
from ..claims import CLAIMS
from ..figures import tightness_histogram
from ..verdicts import Check
from .base import Context, Section


def calibrated(ctx: Context) -> Section:
    """For Theorems 2 and 1: the frozen constants, ``scale.heldout`` held-out draws, and whether the
    calibrated simplified bound dominates max(K1, K2) at every held-out point."""
    s = ctx.scale
    rows, ratios_all, checks, paths = [], {}, [], []
    for theorem in (2, 1):
        claim = CLAIMS[f"calibrated-bound-theorem{theorem}"]
        try:
            cal = heldout.load(theorem)
        except ValueError as err:
            checks.append(Check(claim.id, "held-out draws under the calibrated bound", {"error": str(err)}, {}, "fail"))
            continue
        res = ctx.run(heldout.heldout_design(theorem, s.heldout), f"held-out draws, Theorem {theorem}")
        found = [heldout.heldout_check(cal, theorem, r) for r in res]
        ratio = np.concatenate([c["ratio"] for c in found])
        ratios_all[theorem] = ratio
        ok = all(c["dominated"] for c in found) == claim.predicted["all_dominated"]
        checks.append(Check(
            claim.id, claim.text(),
            {"points": int(ratio.size), "dominated": int(np.sum(ratio >= 1)), "tightness_min": float(ratio.min()),
             "tightness_median": float(np.median(ratio)), "tightness_max": float(ratio.max())},
            claim.predicted, "pass" if ok else "fail"))
        rows.extend({"theorem": theorem, "term": k, "constant": v} for k, v in cal.constants.items())
    if ratios_all:
        paths.append(tightness_histogram(ctx.figure("tightness.png"), ratios_all))
    return Section("Calibrated bounds on held-out draws (docs/theory.md §8.3)", (
        "Constants fitted by linear program on the calibration design (seeds 100-101, n, m powers of two), "
        "frozen in verification/data/; held-out draws use seeds >= 10000 and n, m not powers of two.\n\n"
        + (markdown_table(rows, ["theorem", "term", "constant"]) if rows else "no constants file"), *paths),
        tuple(checks))
