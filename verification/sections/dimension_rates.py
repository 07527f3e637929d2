"""The 1-D checks repeated in d dimensions (docs/theory.md §8.7): the n-rate of (16) along m = n and the
capacity trend at d = 8 and d = 32, modes shift in d, and modes along a random direction."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..output.formats import markdown_table
from empirical.measure import MeasureConfig

from ..claims.registry import CLAIMS, DIMENSION_RATE_DS
from ..figures import label, loglog_fit_plot
from ..rules import Values, profile_from
from ..designs.sweeps import early_stopped, k1_configs
from ..verdicts import Check, fit_numbers
from .base import Context, Section, fit, fmt_fit, seed_mean, seeds_of, slopes



def _runs(ctx: Context, base: MeasureConfig, desc: str, **grid) -> list:
    return ctx.run(k1_configs(replace(base, m_ref_factor=0), ctx.scale, taus=ctx.scale.dim_taus, **grid), desc)


def _k1_es(r) -> float:
    return early_stopped(r)[1]


def _direction_check(ctx: Context, e1: list, rnd: list, d: int) -> Check:
    by_seed = {r.config.seed: _k1_es(r) for r in e1}
    diffs = [float(np.log(_k1_es(r) / by_seed[r.config.seed])) for r in rnd]
    return ctx.judge("modes-direction-invariance", Values(tuple(diffs)), d=d)


def dimension_rates(ctx: Context) -> Section:
    """Per d in (8, 32): K1 over τ along m = n (exponent of n in the early-stopped K1, t interval over seeds)
    and over m at fixed n (Kendall trend); at d = dim_mu_d: K1 over µ (Kendall trend) and with the modes
    along a seeded random direction against e1 (equivalence within a factor 1.25)."""
    s = ctx.scale
    checks, rows, paths, data = [], [], [], {}
    for d in DIMENSION_RATE_DS:
        base = MeasureConfig(d=d)
        rate = ctx.run([replace(base, n=n, m=n, taus=s.dim_taus, kl=("K1",), m_ref_factor=0, seed=seed)
                        for n in s.dim_rate_ns for seed in s.seeds], f"d = {d}: n sweep, m = n")
        ns = [r.config.n for r in rate]
        f = fit(ns, [_k1_es(r) for r in rate], seeds_of(rate))
        claim = CLAIMS[f"rate-n-K1-d{d}"]
        checks.append(ctx.judge(claim.id, slopes(ns, [_k1_es(r) for r in rate], seeds_of(rate))))
        paths.append(loglog_fit_plot(np.array(ns), [_k1_es(r) for r in rate], f, claim.predicted,
                                     ctx.figure(f"rate_n_K1_d{d}.png"), label("n", "n, with m = n"),
                                     label("kl", "early-stopped K1"), f"Early-stopped KL vs n in d = {d}",
                                     quantity="K1", name="K1 at tau_es"))
        cap = _runs(ctx, replace(base, n=s.dim_m_sweep_n), f"d = {d}: m sweep", m=s.dim_m_sweep)
        ms = sorted(s.dim_m_sweep)
        k_es = seed_mean(cap, "m", _k1_es)
        checks.append(ctx.judge(f"capacity-m-d{d}", profile_from([r.config.m for r in cap], seeds_of(cap),
                                                                  [_k1_es(r) for r in cap]), n=s.dim_m_sweep_n))
        rows.append({"d": d, "n-exponent of K1_es (m = n) [95% CI]": fmt_fit(f), "predicted": claim.predicted,
                     f"K1_es at m = {ms[0]} .. {ms[-1]} (n = {s.dim_m_sweep_n})": ", ".join(f"{v:.3g}" for v in k_es)})
        data[str(d)] = {"rate": fit_numbers(f), "capacity": {"m": ms, "K1_es": k_es.tolist()}}
    d = s.dim_mu_d
    base = MeasureConfig(d=d, n=s.dim_n, m=s.dim_m)
    mus = sorted(s.dim_mu_sweep)
    shift = _runs(ctx, base, f"d = {d}: mu sweep", mu=mus)
    k_mu = seed_mean(shift, "mu", _k1_es)
    checks.append(ctx.judge("modes-shift-KL-d", profile_from([r.config.mu for r in shift], seeds_of(shift),
                                                             [_k1_es(r) for r in shift]), d=d))
    e1 = [r for r in shift if r.config.mu == 3.0] or _runs(ctx, base, "e1", mu=(3.0,))
    rnd = _runs(ctx, replace(base, direction="random"), f"d = {d}: modes along a random direction", mu=(3.0,))
    checks.append(_direction_check(ctx, e1, rnd, d))
    margin = CLAIMS["modes-direction-invariance"].rule.margin
    data["modes"] = {"d": d, "mu": mus, "K1_es": k_mu.tolist(), "direction": checks[-1].measured}
    text = (f"Two-mode mixture in R^d along e1 (mu = 3 unless swept); n-rate along m = n over n in {list(s.dim_rate_ns)}, "
            f"capacity over m in {list(s.dim_m_sweep)} at n = {s.dim_m_sweep_n}; modes shift over mu in {mus} at d = {d}, "
            f"n = {s.dim_n}, m = {s.dim_m}; seeds {list(s.seeds)}. The random direction is drawn from each seed "
            f"(its own stream): log K1_es(random) - log K1_es(e1) = {checks[-1].measured['mean']:.3f} "
            f"[{checks[-1].measured['ci95'][0]:.3f}, {checks[-1].measured['ci95'][1]:.3f}] (equivalence margin "
            f"+-{margin:.3f}).\n\n" + markdown_table(rows, list(rows[0]))
            + "\n\n" + markdown_table([{"mu": mu, "K1_es (seed mean)": v} for mu, v in zip(mus, k_mu)],
                                      ["mu", "K1_es (seed mean)"]))
    return Section("The 1-D checks in d = 8 and d = 32", (text, *paths), tuple(checks), {"dimension_rates": data})
