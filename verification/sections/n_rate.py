"""Rates in n along m = n (corollary (16)): the early-stopped K1 and K2, and the early-stopping time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from empirical.formats import markdown_table
from empirical.measure import MeasureConfig

from ..claims import CLAIMS
from ..figures import loglog_fit_plot
from ..sweeps import around_minimum, early_stopped, k1_configs
from ..verdicts import Check, rate_check
from .base import Context, Section, fit, fmt_fit, seeds_of


def n_rate(ctx: Context) -> Section:
    """K1 on the dense τ grid along m = n for every seed, then K2 at the K1 argmin and its neighbours;
    fits the exponents of n in the early-stopped K1, K2 and in τ_es."""
    s = ctx.scale
    base = MeasureConfig(m_ref_factor=0)
    configs = [replace(c, m=max(1, int(round(s.rate_m_over_n * c.n)))) for c in k1_configs(base, s, n=s.rate_ns)]
    k1 = ctx.run(configs, "n sweep, m = n (K1)")
    k2 = ctx.run([around_minimum(r, c) for r, c in zip(k1, configs)], "n sweep, m = n (K2 at tau_es)")
    n = [r.config.n for r in k1]
    seeds = seeds_of(k1)
    tau_es, k1_es = zip(*(early_stopped(r) for r in k1))
    k2_es = [float(np.min(r.K["K2"])) for r in k2]
    fits = {"K1": fit(n, k1_es, seeds), "K2": fit(n, k2_es, seeds), "tau_es": fit(n, tau_es, seeds)}
    checks = [rate_check(f"rate-n-{k}", CLAIMS[f"rate-n-{k}"].text(), fits[k], CLAIMS[f"rate-n-{k}"].predicted)
              for k in ("K1", "K2")]
    claim, f = CLAIMS["tau-es-vs-n"], fits["tau_es"]
    covers = f.ci_low <= claim.predicted <= f.ci_high
    checks.append(Check(claim.id, claim.text(), {"slope": f.slope, "ci95": [f.ci_low, f.ci_high]},
                        {"slope": claim.predicted}, "pass" if covers else "fail"))
    predicted = {"K1": CLAIMS["rate-n-K1"].predicted, "K2": CLAIMS["rate-n-K2"].predicted, "tau_es": claim.predicted}
    x = np.array(n)
    paths = [loglog_fit_plot(x, {"K1 at tau_es": k1_es}, fits["K1"], predicted["K1"], ctx.figure("rate_n_K1.png"),
                             "n (m = n)", "early-stopped K1", "Early-stopped KL vs n"),
             loglog_fit_plot(x, {"K2 at tau_es": k2_es}, fits["K2"], predicted["K2"], ctx.figure("rate_n_K2.png"),
                             "n (m = n)", "early-stopped K2", "Early-stopped sampler KL vs n"),
             loglog_fit_plot(x, {"tau_es": tau_es}, fits["tau_es"], predicted["tau_es"], ctx.figure("tau_es_n.png"),
                             "n (m = n)", "tau_es", "Early-stopping time vs n")]
    rows = [{"quantity": k, "fitted slope [95% CI]": fmt_fit(v), "predicted": predicted[k]} for k, v in fits.items()]
    data = {"n": n, "seed": seeds, "tau_es": list(tau_es), "K1_es": list(k1_es), "K2_es": k2_es}
    return Section("Rates in n along m = n (corollary (16))", (
        f"Two-mode mixture mu = 3, n in {list(s.rate_ns)}, m = n, seeds {list(s.seeds)}; slopes by least squares "
        "in log-log with a bootstrap over seeds.\n\n" + markdown_table(rows, list(rows[0])), *paths),
        tuple(checks), {"n_rate": data})
