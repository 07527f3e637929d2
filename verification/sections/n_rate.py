"""Rates in n along m = n (corollary (16)): the early-stopped K1 and K2, and the early-stopping time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..output.formats import markdown_table
from empirical.measure import MeasureConfig

from ..claims.registry import CLAIMS
from ..figures import label, loglog_fit_plot
from ..rules import Parts, Values
from ..designs.sweeps import around_minimum, early_stopped, has_minimum, k1_configs, resolved
from .base import Context, Section, curve, fit, fmt_fit, seed_mean, seeds_of, slopes, try_fit
from .tau_curves import rise_curves


def rise_parts(results, ns) -> Parts:
    """early-stopping-K1's data: one part per n, the K1 curves of its seeds."""
    return Parts(tuple((f"n = {n}", rise_curves([r for r in results if r.config.n == n], "K1")) for n in ns))


def n_rate(ctx: Context) -> Section:
    """K1 on the dense τ grid along m = n for every seed, then K2 at the K1 argmin and its neighbours;
    the rise of K1 after its minimum at every n; the exponents of n in the early-stopped K1, K2 and in
    τ_es (curves with an interior minimum only)."""
    s = ctx.scale
    base = MeasureConfig(m_ref_factor=0)
    configs = [replace(c, m=max(1, int(round(s.rate_m_over_n * c.n)))) for c in k1_configs(base, s, n=s.rate_ns)]
    k1 = ctx.run(configs, "n sweep, m = n (K1)")
    k2 = ctx.run([around_minimum(r, c) for r, c in zip(k1, configs)], "n sweep, m = n (K2 at tau_es)")
    n = [r.config.n for r in k1]
    seeds = seeds_of(k1)
    tau_es, k1_es = zip(*(early_stopped(r) for r in k1))
    # K2 at τ_es where the sampler's law is not truncated (NaN otherwise: left out of the fit).
    k2_es = [float(np.min(v)) if (v := curve(r, "K2")[1]).size else float("nan") for r in k2]
    ok2 = [i for i, v in enumerate(k2_es) if np.isfinite(v)]
    checks = [ctx.judge("early-stopping-K1", rise_parts(k1, s.rate_ns), ns=list(s.rate_ns))]
    fits = {"K1": fit(n, k1_es, seeds)}
    f2 = try_fit([n[i] for i in ok2], [k2_es[i] for i in ok2], [seeds[i] for i in ok2])
    if f2 is not None:
        fits["K2"] = f2
    known = [i for i, r in enumerate(k1) if resolved(r)]  # curves whose minimum lies beyond the grid: not measured
    checks.append(ctx.judge("rate-n-K1", slopes([n[i] for i in known], [k1_es[i] for i in known],
                                                [seeds[i] for i in known], minima_beyond_grid=len(k1) - len(known))))
    checks.append(ctx.judge("rate-n-K2", slopes([n[i] for i in ok2], [k2_es[i] for i in ok2], [seeds[i] for i in ok2])
                            if ok2 else Values(())))
    interior = [i for i, r in enumerate(k1) if has_minimum(r)]
    f = try_fit([n[i] for i in interior], [tau_es[i] for i in interior], [seeds[i] for i in interior])
    if f is not None:
        fits["tau_es"] = f
    # τ_es spans decades across seeds: its arithmetic mean would be the largest seed's.
    geometric = dict(zip(map(str, sorted(set(n))), np.exp(seed_mean(k1, "n", lambda r: np.log(early_stopped(r)[0]))).tolist()))
    checks.append(ctx.judge("tau-es-vs-n", slopes([n[i] for i in interior], [tau_es[i] for i in interior],
                                                  [seeds[i] for i in interior], curves_used=len(interior),
                                                  curves_without_interior_minimum=len(k1) - len(interior),
                                                  geometric_mean_tau_es=geometric)))
    predicted = {"K1": CLAIMS["rate-n-K1"].predicted, "K2": CLAIMS["rate-n-K2"].predicted,
                 "tau_es": CLAIMS["tau-es-vs-n"].predicted["slope"]}
    x = np.array(n)
    tau_x = np.array([n[i] for i in interior])
    n_label = label("n", "n, with m = n")
    paths = [loglog_fit_plot(x, k1_es, fits["K1"], predicted["K1"], ctx.figure("rate_n_K1.png"), n_label,
                             label("kl", "early-stopped K1"), "Early-stopped KL vs n", quantity="K1",
                             name="K1 at tau_es"),
             *([loglog_fit_plot(x[ok2], [k2_es[i] for i in ok2], fits["K2"], predicted["K2"],
                                ctx.figure("rate_n_K2.png"), n_label, label("kl", "early-stopped K2"),
                                "Early-stopped sampler KL vs n", quantity="K2", name="K2 at tau_es")]
               if "K2" in fits else []),
             *([loglog_fit_plot(tau_x, [tau_es[i] for i in interior], fits["tau_es"], predicted["tau_es"],
                                ctx.figure("tau_es_n.png"), n_label, label("tau_es"), "Early-stopping time vs n",
                                quantity="tau_es")]
               if "tau_es" in fits else [])]
    rows = [{"quantity": k, "fitted slope [95% CI]": fmt_fit(v), "predicted": predicted[k]} for k, v in fits.items()]
    data = {"n": n, "seed": seeds, "tau_es": list(tau_es), "K1_es": list(k1_es), "K2_es": k2_es}
    return Section("Rates in n along m = n (corollary (16))", (
        f"Two-mode mixture mu = 3, n in {list(s.rate_ns)}, m = n, seeds {list(s.seeds)}; slopes by least squares "
        "in log-log per seed, t interval over seeds. tau_es is fitted on the curves with an interior minimum; "
        "the bound prescribes n^(2/5), Bonnaire et al. (arXiv 2505.17638) find tau_mem ~ n.\n\n" + markdown_table(rows, list(rows[0])), *paths),
        tuple(checks), {"n_rate": data})
