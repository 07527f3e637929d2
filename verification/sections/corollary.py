"""Corollary (16) as stated: the KL at the prescribed training time τ = c·n^(2/5) along m = n, for constants c
over six decades, beside the rate at the oracle (best measured) τ."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from empirical.formats import markdown_table
from empirical.measure import MeasureConfig

from ..claims import CLAIMS, rates_m_equals_n
from ..figures import curves_plot
from ..verdicts import Check, best_verdict, fit_numbers, upper_bound_verdict
from .base import Context, Section, fit, fmt_fit, seeds_of

CONSTANTS = tuple(10.0**k for k in range(7))
"""The constants c of τ = c·n^(2/5): the corollary's Θ allows any, so six decades are swept."""


def prescribed_configs(target: str, ns, seeds, exponent: float) -> list[MeasureConfig]:
    """K1 at τ = c·n^exponent for every c of :data:`CONSTANTS`, along m = n."""
    base = MeasureConfig(target=target, m_ref_factor=0, kl=("K1",))
    return [replace(base, n=n, m=n, seed=s, taus=tuple(c * n**exponent for c in CONSTANTS)) for n in ns for s in seeds]


def prescribed_check(claim_id: str, results, oracle) -> tuple[Check, list[dict]]:
    """Per c, the exponent of n in K1(c·n^(2/5)) with its t interval and its rate verdict; combined:
    "violated" if every c is slow, else the best verdict reached and the c that reached it."""
    claim = CLAIMS[claim_id]
    n, seeds = [r.config.n for r in results], seeds_of(results)
    per_c, rows = {}, []
    for j, c in enumerate(CONSTANTS):
        f = fit(n, [r.K["K1"][j] for r in results], seeds)
        v = upper_bound_verdict((f.ci_low, f.ci_high), claim.predicted)
        per_c[f"{c:g}"] = {**fit_numbers(f), "verdict": v}
        rows.append({"c": f"{c:g}", "slope [95% CI]": fmt_fit(f), "verdict": v})
    verdicts = [v["verdict"] for v in per_c.values()]
    best = best_verdict(verdicts)
    verdict = "violated" if all(v == "violated" for v in verdicts) else best
    reached = [c for c, v in per_c.items() if v["verdict"] == best]
    rows.append({"c": "oracle tau", "slope [95% CI]": fmt_fit(oracle), "verdict": "-"})
    check = Check(claim.id, claim.text(), {"per_c": per_c, "best_c": reached, "oracle_tau": fit_numbers(oracle)},
                  {"slope": claim.predicted}, verdict, claim.statistic)
    return check, rows


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
        check, rows = prescribed_check(claim_id, res, oracle)
        checks.append(check)
        text.append(f"Target {target} (Theorem {theorem}), n in {list(ns)}, m = n, seeds {list(s.seeds)}; predicted "
                    f"exponent {CLAIMS[claim_id].predicted:g}:\n\n" + markdown_table(rows, list(rows[0])))
        means = {f"c = {c:g}": [np.exp(np.mean([np.log(r.K["K1"][j]) for r in res if r.config.n == nn])) for nn in ns]
                 for j, c in enumerate(CONSTANTS)}
        paths.append(curves_plot(ns, means, None, ctx.figure(f"corollary16_{target}.png"), "n (m = n)",
                                 "K1 at tau = c n^(2/5) (geometric mean)", f"Corollary (16) as stated, {target}",
                                 logx=True, logy=True))
        data[target] = {"n": [r.config.n for r in res], "seed": seeds_of(res), "tau": [list(r.taus) for r in res],
                        "K1": [r.K["K1"].tolist() for r in res]}
    return Section("Corollary (16) as stated: the prescribed training time", (
        "K1 at tau = c n^(2/5) for c = 1 ... 1e6 (the corollary's Theta allows any constant), beside the rate at "
        "the best tau of the dense grid (oracle). A slow rate at every c would contradict the corollary.",
        *text, *paths), tuple(checks), {"corollary16": data})
