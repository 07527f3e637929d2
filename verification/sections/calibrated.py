"""Calibrated bounds on held-out draws (docs/theory.md §8.3): the paper's simplified bound, its negative controls
and the bound without its generalisation terms, each fitted on the calibration design stored by
``diffgen calibrate``, thresholded at the theorems' δ by split-conformal leave-one-cell-out refits, and tested on
held-out draws by a binomial test (:mod:`verification.calibrated.bound_test`, rule :class:`verification.rules.Fitted`)."""

from __future__ import annotations

import numpy as np

from ..output.formats import markdown_table

from ..calibrated import heldout
from ..calibrated.bound_test import DELTA, Points
from ..claims.registry import CLAIMS
from ..figures import tightness_histogram
from ..rules import FittedData
from ..verdicts import Check
from .base import Context, Section

SIZE_REPLICATES = {"quick": 100, "full": 200}
"""Replicates of the fitted rule's size simulation (each refits the design; the report's other rules use more)."""


def _fmt_range(values: np.ndarray) -> str:
    return f"[{float(np.min(values)):.3g}, {float(np.max(values)):.3g}]" if values.size else "-"


def _check(theorem: int, ctx: Context) -> tuple[Check, dict, list[dict], list[dict]]:
    """The check of one theorem, its tightness ratios (for the figure), and the constants and control rows."""
    claim = CLAIMS[f"calibrated-bound-theorem{theorem}"]
    count = ctx.scale.heldout
    try:
        cal = heldout.load(theorem)
        design = heldout.design_points(theorem, cal)
    except ValueError as err:
        cal, design, error = None, None, str(err)
    else:
        error = None if design is not None else (
            f"the Theorem {theorem} constants file stores no measured design points: rerun diffgen calibrate "
            f"--theorem {theorem}")
    if error:  # nothing to test against: no held-out draw is measured
        empty = Points({k: np.zeros(0) for k in ("n", "m", "tau", "mu")}, np.zeros(0), np.zeros(0))
        return ctx.judge(claim.id, FittedData(heldout.paper_shape(theorem), None, empty, extra={"error": error}),
                         draws=count, theorem=theorem), {}, [], []
    results = ctx.run(heldout.heldout_design(theorem, count), f"held-out draws, Theorem {theorem}")
    held, dropped = heldout.held_points(theorem, results)
    reps = SIZE_REPLICATES.get(ctx.scale.name, 100)
    extra = {"excluded_truncated_K2": dropped, "delta": DELTA,
             "heldout_ranges": {k: [float(np.min(held.v[k])), float(np.max(held.v[k]))] if held.y.size else []
                                for k in ("n", "m", "tau", "mu")}, "size_replicates": reps}
    data = FittedData(heldout.paper_shape(theorem), design, held, heldout.control_shapes(theorem),
                      heldout.no_generalisation_shape(theorem), heldout.GENERALISATION, extra, reps)
    check = ctx.judge(claim.id, data, draws=count, theorem=theorem)
    m = check.measured
    if "constants" not in m:
        return check, {}, [], []
    Th, offh = heldout.paper_shape(theorem).matrix(held.v)
    bound = Th @ np.array(list(m["constants"].values())) + offh
    ratio = bound / np.where(held.y > 0, held.y, np.nan)
    ratio = ratio[np.isfinite(ratio) & (ratio > 0)]

    def joined(constants: dict) -> str:
        return ", ".join(f"{k} {v:.3g}" for k, v in constants.items())

    consts = [{"theorem": theorem, "bound": f"Theorem {theorem} (paper)", "constants": joined(m["constants"]),
               "unidentified": ", ".join(m["unidentified"]) or "none"}]
    consts += [{"theorem": theorem, "bound": c["shape"], "constants": joined(c["constants"]), "unidentified": "-"}
               for c in m["controls"]]
    rows = [{"theorem": theorem, "control": c["shape"], "named": "yes" if c["named"] else "no",
             "draws above k x bound": c["draws_above"], "p": c["p_value"], "rejected": "yes" if c["rejected"] else "no"}
            for c in m["controls"]]
    return check, ({theorem: ratio} if ratio.size else {}), consts, rows


def calibrated(ctx: Context) -> Section:
    """For Theorems 2 and 1: the fitted rule on ``scale.heldout`` held-out draws that extrapolate beyond the
    calibration design."""
    checks, ratios, consts, rows, lines = [], {}, [], [], []
    for theorem in (2, 1):
        check, ratio, c, r = _check(theorem, ctx)
        checks.append(check)
        ratios.update(ratio)
        consts.extend(c)
        rows.extend(r)
        m = check.measured
        if "error" in m:
            lines.append(f"- Theorem {theorem}: {m['error']} (verdict {check.verdict}).")
            continue
        nog = m.get("vs_no_generalisation", {})
        lines.append(
            f"- Theorem {theorem}: verdict **{check.verdict}** (rule: {check.raw_verdict}; size {check.size:.3f}, "
            f"power {check.power:.2f}{'; ' + check.reason if check.reason else ''}). Threshold k = "
            f"{m['threshold']:.3g} (rank {m['threshold_rank']} of {m['design_cells']} design cells); "
            f"{m['draws_above']} of {m['held_out_draws']} held-out draws above k x bound (critical count "
            f"{m['critical_count']}, binomial p = {m['p_value']:.3g}); unidentified terms: "
            f"{', '.join(m['unidentified']) or 'none'}; without its generalisation terms: "
            f"{nog.get('draws_above', '-')} draws above, p = {nog.get('p_value', float('nan')):.3g}. Held-out n "
            f"{m['heldout_ranges']['n']}, m {m['heldout_ranges']['m']}, tau {m['heldout_ranges']['tau']}; "
            f"{m['excluded_truncated_K2']} points left out (K2 law truncated).")
    paths = [tightness_histogram(ctx.figure("tightness.png"), ratios)] if ratios else []
    text = (
        f"The paper's simplified bound and each negative control (verification/calibrated/controls.py) are fitted by the same "
        f"linear program on the calibration design stored by diffgen calibrate: n in {list(heldout.DESIGN_N)}, m in "
        f"{list(heldout.DESIGN_M)}, three mu, {heldout.DESIGN_REPLICATES} cells per (n, m, mu), each with its own "
        f"seed < {heldout.HELDOUT_SEED0}, K1 on tau in [1, 1e9] (K2 at three tau). A term is identified when "
        "dropping it worsens the fit by more than 1%. The threshold k is the split-conformal (1 - delta) quantile "
        f"of the leave-one-cell-out ratios measured/bound (delta = {DELTA}, the theorems' own); held-out draws "
        f"(seeds >= {heldout.HELDOUT_SEED0}; n, m log-uniform on {list(heldout.HELDOUT_NM)}, three tau on [1, 1e10]) "
        "above k x bound are counted, and a binomial test at delta decides. violated needs every term identified; "
        "the size is simulated with a bound that holds exactly and the design's own noise; power is the fraction "
        "of the named controls the same test rejects.\n\n" + "\n".join(lines) + "\n\n"
        + (markdown_table(rows, ["theorem", "control", "named", "draws above k x bound", "p", "rejected"]) + "\n\n"
           if rows else "")
        + (markdown_table(consts, ["theorem", "bound", "constants", "unidentified"]) if consts else "no constants"))
    return Section("Calibrated bounds on held-out draws (docs/theory.md §8.3)", (text, *paths), tuple(checks))
