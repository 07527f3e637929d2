"""Capacity (Fig. 11 analogue): the early-stopped KL against m, and the random-feature error I3."""

from __future__ import annotations

import numpy as np

from bounds import symbols as S
from ..output.formats import markdown_table
from empirical.measure import MeasureConfig

from ..claims.registry import CLAIMS, simplified, term_exponent
from ..figures import Series, band_plot, color, label, loglog_fit_plot, seed_matrix
from ..rules import profile_from
from ..designs.sweeps import early_stopped, has_minimum, k1_configs, resolved
from ..verdicts import fit_numbers
from .base import Context, Section, fit, fmt_fit, seed_mean, seeds_of, slopes, try_fit


def capacity(ctx: Context) -> Section:
    """K1 over m at fixed n with the nested model of 4m features (for I3); Kendall trend of the
    seed-mean early-stopped K1 in m, and the exponent of m in I3."""
    s = ctx.scale
    base = MeasureConfig(n=s.m_sweep_n, m_ref_factor=4)
    res = ctx.run(k1_configs(base, s, m=s.m_sweep), "m sweep (K1, I3)")
    ms = sorted(s.m_sweep)
    k_es = seed_mean(res, "m", lambda r: early_stopped(r)[1])
    m = [r.config.m for r in res]
    known = [r for r in res if resolved(r)]  # a minimum beyond the grid is not measured
    checks = [ctx.judge("capacity-m", profile_from([r.config.m for r in known], seeds_of(known),
                                                   [early_stopped(r)[1] for r in known],
                                                   {"minima_beyond_grid": len(res) - len(known)}), n=s.m_sweep_n)]
    i3 = [r.I3 for r in res]
    f = fit(m, i3, seeds_of(res))
    claim = CLAIMS["I3-vs-m"]
    checks.append(ctx.judge("I3-vs-m", slopes(m, i3, seeds_of(res))))
    units = time_units(res)
    x, k_by_seed = seed_matrix(m, [early_stopped(r)[1] for r in res], seeds_of(res))
    paths = [band_plot(x, [Series("early-stopped K1", k_by_seed, color("K1"))], ctx.figure("capacity_m.png"),
                       label("m"), label("kl", "early-stopped K1"), f"Capacity sweep, n = {s.m_sweep_n}", logx=True,
                       logy=True),
             loglog_fit_plot(np.array(m), i3, f, claim.predicted, ctx.figure("I3_m.png"), label("m"),
                             label("loss7", "I3"), "Random-feature error I3 vs m", quantity="I3")]
    rows = [{"m": mm, "early-stopped K1": v} for mm, v in zip(ms, k_es)]
    return Section("Capacity (Fig. 11 analogue) and the random-feature error", (
        markdown_table(rows, ["m", "early-stopped K1"]) + f"\n\nI3 slope in m: {fmt_fit(f)} (predicted <= "
        f"{claim.predicted:g})\n\n" + units["text"], *paths), tuple(checks),
        {"capacity": {"m": ms, "K1_es": k_es.tolist(), "I3": i3, "I3_m": m, "time_units": units["numbers"]}})


def time_units(results) -> dict:
    """The exponent of m in τ_es at fixed n in the flows' time (θ-time, (9)-(10)) and in the A-flow's time
    s = mτ (docs/theory.md §3.1): the bound's balance τ⁴/(mn) ~ 1/τ predicts (mn)^(1/5), i.e. m^(1/5)."""
    keep = [r for r in results if has_minimum(r)]
    f = try_fit([r.config.m for r in keep], [early_stopped(r)[0] for r in keep], seeds_of(keep))
    b = simplified(2)
    # τ_es balances τ⁴/(mn) against 1/τ: its exponent of m is -(m-exponent)/(difference of τ-exponents).
    predicted = float(-term_exponent(b, "gen_mn", S.m)
                      / (term_exponent(b, "gen_mn", S.tau) - term_exponent(b, "opt", S.tau)))
    if f is None:
        return {"numbers": {"curves_used": len(keep)}, "text": "Too few interior minima to fit tau_es against m."}
    numbers = {"curves_used": len(keep), "theta_time": fit_numbers(f), "A_time_slope": f.slope + 1,
               "A_time_ci95": [f.ci_low + 1, f.ci_high + 1], "predicted": predicted}
    text = (f"Time unit (docs/theory.md §3.1): tau_es against m at n = {results[0].config.n}: exponent {fmt_fit(f)} in "
            f"the flows' time tau (theta-flow), {f.slope + 1:.3f} [{f.ci_low + 1:.3f}, {f.ci_high + 1:.3f}] in the "
            f"A-flow's time s = m tau; the bound's balance predicts {predicted:g}.")
    return {"numbers": numbers, "text": text}
