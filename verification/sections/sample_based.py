"""K2 (Fokker-Planck, exact up to discretisation) against the usual sample-based estimate (comparison only)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from empirical.rf.features import rf_score
from ..output.formats import markdown_table
from empirical.kl.sampling import sample_binned_kl
from empirical.measure import MeasureConfig, make_target, measure

from .base import Context, Section


def sample_based(ctx: Context) -> Section:
    """One model at its early-stopping time (n = 64): K2 beside binned estimates from 1,000 and 10,000
    reverse-SDE samples (bias-corrected, with basic bootstrap intervals; the raw plug-in alongside).
    No verdict: it shows what the usual practice misses."""
    s = ctx.scale
    config = MeasureConfig(n=64, m=s.curve_m, m_ref_factor=0, seed=s.seeds[0])
    k1 = ctx.runner.run(replace(config, taus=s.taus, kl=("K1",)))
    tau_es = float(k1.taus[int(np.argmin(k1.K["K1"]))])

    def compute() -> dict:
        c = replace(config, taus=(tau_es,), kl=("K1", "K2"))
        result = measure(c)
        score = rf_score(result.features, result.A[0])
        rows = [{"estimator": "K2, Fokker-Planck (this suite)", "KL": float(result.K["K2"][0]),
                 "95% interval": "-", "plug-in": "-"}]
        for n_samples in (1_000, 10_000):
            r = sample_binned_kl(make_target(c), score, n_samples=n_samples, seed=s.seeds[0])
            rows.append({"estimator": f"binned, {n_samples} Euler-Maruyama samples", "KL": r.estimate,
                         "95% interval": f"[{r.lo:.3g}, {r.hi:.3g}]", "plug-in": f"{r.plug_in:.3g}"})
        return {"rows": rows, "tau": tau_es}

    # "estimator" in the key: results cached by the former plug-in/percentile version are not reused.
    key = {"kind": "sample-based", "estimator": "bias-corrected basic bootstrap", **config.to_dict(), "tau": tau_es}
    out = ctx.runner.cached(key, compute)
    return Section("Sample-based estimates against K2 (comparison only)", (
        f"The same trained model (n = 64, m = {s.curve_m}, mu = 3, tau = {out['tau']:.3g}); binned estimates "
        "from reverse-SDE samples (40 equal-mass bins) against K2 computed on the Fokker-Planck grid. "
        "KL is the bias-corrected estimate, 2 x plug-in - median of 400 bootstrap resamples of the samples, "
        "and the interval the basic bootstrap interval [2 x plug-in - q97.5, 2 x plug-in - q2.5], both clipped "
        "at 0; the estimate always lies in its interval. The raw plug-in is biased upward by about "
        "(bins - 1)/(2N) = 0.0195 at N = 1,000 (0.002 at 10,000), so its percentile interval can miss the "
        "plug-in itself; on Gaussians with a known binned KL the basic interval covered it in 98% of seeds "
        "at N = 1,000 and 95% at N = 10,000 (empirical/kl/sampling.py). What is estimated is the binned KL "
        "of the sampler's Euler-Maruyama law: a lower bound on its KL (data processing), and off K2 by the "
        "Euler-Maruyama bias.\n\n" + markdown_table(out["rows"], ["estimator", "KL", "95% interval", "plug-in"]),),
        data={"sample_based": out})
