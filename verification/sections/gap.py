"""The generalisation gap I1 of (15): its growth in τ and its decay in n."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from empirical.measure import MeasureConfig

from ..claims import CLAIMS, fraction
from ..figures import curves_plot, loglog_fit_plot
from ..sweeps import k1_configs
from ..verdicts import TREND_P, Check, rate_check, trend
from .base import Context, Section, fit, fmt_fit, seeds_of


def gap(ctx: Context) -> Section:
    """I1 over τ and n at fixed m: a Kendall trend of the seed-mean I1 in log τ at each n, and the
    exponent of n in |I1| at τ = ``scale.gap_tau``."""
    s = ctx.scale
    base = MeasureConfig(m=s.gap_m, m_ref_factor=0)
    taus = tuple(sorted(set(s.taus) | {s.gap_tau}))
    res = ctx.run([replace(c, taus=taus) for c in k1_configs(base, s, n=s.gap_ns)], "gap I1 (n sweep)")
    j = taus.index(s.gap_tau)
    curves = {n: np.mean([r.I1 for r in res if r.config.n == n], axis=0) for n in sorted(s.gap_ns)}
    claim = CLAIMS["gap-grows-tau"]
    increasing = claim.predicted == "increasing"
    trends = {str(n): trend(np.log(taus), curve, increasing) for n, curve in curves.items()}
    checks = [Check(claim.id, claim.text(p=TREND_P), {"trend_at_n": trends}, {claim.predicted: True},
                    "pass" if all(v["trend"] for v in trends.values()) else "fail")]
    n = [r.config.n for r in res]
    i1 = [abs(r.I1[j]) for r in res]
    f = fit(n, i1, seeds_of(res))
    claim = CLAIMS["gap-shrinks-n"]
    checks.append(rate_check(claim.id, claim.text(tau=f"{s.gap_tau:g}"), f, claim.predicted))
    positive = {f"n = {k}": np.maximum(v, 1e-16) for k, v in curves.items()}
    paths = [curves_plot(taus, positive, None, ctx.figure("gap_tau.png"), "tau", "I1 (seed mean)",
                         f"Generalisation gap I1, m = {s.gap_m}", logx=True, logy=True),
             loglog_fit_plot(np.array(n), {f"I1 at tau={s.gap_tau:g}": i1}, f, claim.predicted,
                             ctx.figure("gap_n.png"), "n", "|I1|", "Gap I1 vs n")]
    return Section("The generalisation gap I1 of (15)", (
        f"m = {s.gap_m}. I1 slope in n at tau = {s.gap_tau:g}: {fmt_fit(f)} (predicted <= {fraction(claim.predicted)}).", *paths), tuple(checks),
        {"gap": {"n": n, "I1_at_gap_tau": i1, "fit": [f.slope, f.ci_low, f.ci_high]}})
