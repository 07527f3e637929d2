"""Capacity (Fig. 11 analogue): the early-stopped KL against m, and the random-feature error I3."""

from __future__ import annotations

import numpy as np

from empirical.formats import markdown_table
from empirical.measure import MeasureConfig

from ..claims import CLAIMS
from ..figures import curves_plot, loglog_fit_plot
from ..sweeps import early_stopped, k1_configs
from ..verdicts import rate_check, trend_check
from .base import Context, Section, fit, fmt_fit, seed_mean, seeds_of


def capacity(ctx: Context) -> Section:
    """K1 over m at fixed n with the nested model of 4m features (for I3); Kendall trend of the
    seed-mean early-stopped K1 in m, and the exponent of m in I3."""
    s = ctx.scale
    base = MeasureConfig(n=s.m_sweep_n, m_ref_factor=4)
    res = ctx.run(k1_configs(base, s, m=s.m_sweep), "m sweep (K1, I3)")
    ms = sorted(s.m_sweep)
    k_es = seed_mean(res, "m", lambda r: early_stopped(r)[1])
    claim = CLAIMS["capacity-m"]
    checks = [trend_check(claim.id, claim.text(n=s.m_sweep_n), ms, k_es, claim.predicted == "increasing",
                          {"m": ms, "K1_es_seed_mean": k_es.tolist()})]
    m = [r.config.m for r in res]
    i3 = [r.I3 for r in res]
    f = fit(m, i3, seeds_of(res))
    claim = CLAIMS["I3-vs-m"]
    checks.append(rate_check(claim.id, claim.text(), f, claim.predicted))
    paths = [curves_plot(ms, {"early-stopped K1 (seed mean)": k_es}, None, ctx.figure("capacity_m.png"),
                         "m (random features)", "KL", f"Capacity sweep, n = {s.m_sweep_n}", logx=True, logy=True),
             loglog_fit_plot(np.array(m), {"I3": i3}, f, claim.predicted, ctx.figure("I3_m.png"), "m", "I3",
                             "Random-feature error I3 vs m")]
    rows = [{"m": mm, "early-stopped K1": v} for mm, v in zip(ms, k_es)]
    return Section("Capacity (Fig. 11 analogue) and the random-feature error", (
        markdown_table(rows, ["m", "early-stopped K1"]) + f"\n\nI3 slope in m: {fmt_fit(f)} (predicted <= "
        f"{claim.predicted:g})", *paths), tuple(checks),
        {"capacity": {"m": ms, "K1_es": k_es.tolist(), "I3": i3, "I3_m": m}})
