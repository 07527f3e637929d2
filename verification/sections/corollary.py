"""Corollary (16) as stated: the KL at the prescribed training time τ = c·n^(2/5) along m = n, for constants c
over six decades, beside the rate at the oracle (best measured) τ.

Θ(n^(2/5)) means every fixed c, so each c is judged on its own (a rate rule per c) and the claim is decided only
when every c agrees (``unanimous``); a c whose rate is slower than the bound's is reported with the n at which,
at its measured slope, the measured K1 would cross the calibrated bound."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..output.formats import markdown_table
from empirical.measure import MeasureConfig, Measurement

from ..calibrated import heldout
from ..claims.registry import CLAIMS, rates_m_equals_n
from ..figures import Series, band_plot, label, ordered_colors, seed_matrix
from ..rules import Parts
from ..verdicts import Check, fit_numbers
from .base import Context, Section, fit, fmt_fit, seeds_of, slopes

CONSTANTS = tuple(10.0**k for k in range(7))
"""The constants c of τ = c·n^(2/5): the corollary's Θ allows any, so six decades are swept."""


def prescribed_configs(target: str, ns, seeds, exponent: float) -> list[MeasureConfig]:
    """K1 at τ = c·n^exponent for every c of :data:`CONSTANTS`, along m = n."""
    base = MeasureConfig(target=target, m_ref_factor=0, kl=("K1",))
    return [replace(base, n=n, m=n, seed=s, taus=tuple(c * n**exponent for c in CONSTANTS)) for n in ns for s in seeds]


def crossing_n(results: list[Measurement], j: int, slope: float, predicted: float, theorem: int) -> float | None:
    """The n at which K1(c_j n^(2/5)), extrapolated from the largest n at the measured ``slope``, would cross the
    calibrated bound of ``theorem`` extrapolated from there at the bound's own exponent ``predicted`` (None if
    the slope is not slower than the bound's, or no constants are frozen). The measured inputs of the bound
    (L̃(θ*), L̃(θ̄*) (L̃(θ*) where unmeasured), ‖θ*‖², KL(p_T‖π)) are those of the largest n's runs, averaged
    over seeds."""
    if not slope > predicted:
        return None
    try:
        cal = heldout.load(theorem)
    except ValueError:
        return None
    top = max(r.config.n for r in results)
    at_top = [r for r in results if r.config.n == top]
    bounds, k1 = [], []
    for r in at_top:
        p = heldout.points_of(r)[j]
        p = {**p, "L_bar": p["L_star"] if not np.isfinite(p["L_bar"]) else p["L_bar"]}
        T, offset = heldout.term_matrix(theorem, [p])
        bounds.append(float(cal.bound(T, offset)[0]))
        k1.append(float(r.K["K1"][j]))
    b, k = float(np.mean(bounds)), float(np.mean(k1))
    if k >= b:
        return float(top)
    return float(top * (b / k) ** (1.0 / (slope - predicted)))


def prescribed_check(ctx: Context, claim_id: str, results: list[Measurement], oracle, theorem: int
                     ) -> tuple[Check, list[dict]]:
    """Per c, the exponent of n in K1(c·n^(2/5)) judged by the rate rule; combined only when every c agrees."""
    claim = CLAIMS[claim_id]
    n, seeds = [r.config.n for r in results], seeds_of(results)
    parts = Parts(tuple((f"c = {c:g}", slopes(n, [r.K["K1"][j] for r in results], seeds)) for j, c in enumerate(CONSTANTS)),
                  extra={"oracle_tau": fit_numbers(oracle)})
    check = ctx.judge(claim_id, parts)
    predicted = claim.predicted
    per_c, rows = [], []
    for j, (c, part) in enumerate(zip(CONSTANTS, check.measured["parts"])):
        entry = {"c": c, "slope": part["mean"], "ci": part["ci95"], "verdict": part["verdict"], "size": part["size"],
                 "power": part["power"],
                 "n_crossing_calibrated_bound": crossing_n(results, j, part["mean"], predicted, theorem)}
        per_c.append(entry)
        cross = entry["n_crossing_calibrated_bound"]
        rows.append({"c": f"{c:g}", "slope [95% CI]": f"{part['mean']:.3f} [{part['ci95'][0]:.3f}, {part['ci95'][1]:.3f}]",
                     "verdict": part["verdict"], "size": part["size"], "power": part["power"],
                     "n where K1 meets the calibrated bound": "-" if cross is None else f"{cross:.3g}"})
    rows.append({"c": "oracle tau", "slope [95% CI]": fmt_fit(oracle), "verdict": "-", "size": "-", "power": "-",
                 "n where K1 meets the calibrated bound": "-"})
    return replace(check, measured={**check.measured, "per_c": per_c}), rows


def corollary(ctx: Context) -> Section:
    """K1 at τ = c·n^(2/5) along m = n on both targets (the mixture's ``rate_ns``, the bumps' ``bump_ns``)."""
    s = ctx.scale
    checks, text, paths, data = [], [], [], {}
    for theorem, target, ns, claim_id in ((2, "gm", s.rate_ns, "corollary16-prescribed"),
                                          (1, "bump", s.bump_ns, "corollary16-prescribed-theorem1")):
        exponent = float(rates_m_equals_n(theorem).tau_es_exponent)
        res = ctx.run(prescribed_configs(target, ns, s.seeds, exponent), f"corollary (16), {target}, tau = c n^(2/5)")
        dense = [ctx.runner.run(replace(r.config, taus=s.taus)) for r in res]
        oracle = fit([r.config.n for r in dense], [float(np.min(r.K["K1"])) for r in dense], seeds_of(dense))
        check, rows = prescribed_check(ctx, claim_id, res, oracle, theorem)
        checks.append(check)
        text.append(f"Target {target} (Theorem {theorem}), n in {list(ns)}, m = n, seeds {list(s.seeds)}; predicted "
                    f"exponent {CLAIMS[claim_id].predicted:g}:\n\n" + markdown_table(rows, list(rows[0])))
        n_of = [r.config.n for r in res]
        series = [Series(f"c = {c:g}", seed_matrix(n_of, [r.K["K1"][j] for r in res], seeds_of(res))[1], col, seeds=None)
                  for j, (c, col) in enumerate(zip(CONSTANTS, ordered_colors(len(CONSTANTS))))]
        paths.append(band_plot(sorted(set(n_of)), series, ctx.figure(f"corollary16_{target}.png"),
                               label("n", "n, with m = n"), label("kl", "K1 at tau = c n^(2/5)"),
                               f"Corollary (16) as stated, {target}", logx=True, logy=True, legend_outside=True))
        data[target] = {"n": [r.config.n for r in res], "seed": seeds_of(res), "tau": [list(r.taus) for r in res],
                        "K1": [r.K["K1"].tolist() for r in res]}
    return Section("Corollary (16) as stated: the prescribed training time", (
        "K1 at tau = c n^(2/5) for c = 1 ... 1e6 (the corollary's Theta means every fixed constant), beside the rate "
        "at the best tau of the dense grid (oracle). Each c is judged by the rate rule on its own; the claim is "
        "decided only when every c agrees. For a c slower than the bound, the last column extrapolates both the "
        "measured K1 (at its slope) and the calibrated bound (at n^(-2/5)) from the largest n to where they meet.",
        *text, *paths), tuple(checks), {"corollary16": data})
