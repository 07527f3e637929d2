"""KL against training time at several n (Fig. 3 analogue): the early-stopping claims."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..output.formats import markdown_table
from empirical.measure import KL_NAMES, MeasureConfig

from ..figures import tau_curves_plot
from ..rules import Curves
from ..rules.rise import curve_rise
from ..designs.sweeps import early_stopped, k1_configs
from .base import Context, Section, curve

ACCURACY = {"K1": 1e-12, "K2": 1e-3}
"""The relative accuracy of each measured curve: K1 is exact up to rounding; K2 carries the Fokker-Planck
discretisation error, below 1e-3 relative on the report's grids (docs/theory.md §4)."""


def rise_curves(results, name: str, **extra) -> Curves:
    """The (τ, KL) curves of ``name`` of each result (truncated K2 points left out) as an exact-rise rule's data."""
    pairs = [curve(r, name) for r in results]
    return Curves(tuple((tuple(map(float, t)), tuple(map(float, v))) for t, v in pairs), ACCURACY[name],
                  tuple(f"seed {r.config.seed}" for r in results), extra)


def tau_curves(ctx: Context) -> Section:
    """K1 on the dense τ grid for every n and seed; K2..K4 on the thin grid (first seed), and K2 at the
    smallest n for every seed; the rise of K2 after its minimum at the smallest n, over seeds (K1's rise
    is checked along the rate design, :func:`~verification.sections.n_rate.n_rate`)."""
    s = ctx.scale
    base = MeasureConfig(m_ref_factor=0)
    k1 = ctx.run(k1_configs(base, s, n=s.curve_ns, m=(s.curve_m,)), "tau curves (K1)")
    small = min(s.curve_ns)
    kl = ctx.run([replace(base, n=n, m=s.curve_m, taus=s.kl_taus, seed=seed, kl=KL_NAMES)
                  for n in s.curve_ns for seed in s.seeds[:1]]
                 + [replace(base, n=small, m=s.curve_m, taus=s.kl_taus, seed=seed, kl=("K1", "K2"))
                    for seed in s.seeds[1:]], "tau curves (K1..K4)")
    rows, paths = [], []
    for n in s.curve_ns:
        r1 = next(r for r in k1 if r.config.n == n and r.config.seed == s.seeds[0])
        r2 = next(r for r in kl if r.config.n == n and r.config.seed == s.seeds[0])
        tau_es, k_es = early_stopped(r1)
        paths.append(tau_curves_plot(ctx.figure(f"tau_curves_n{n}.png"), n, r1.taus, r1.K["K1"], r2.taus,
                                     {k: r2.K[k] for k in KL_NAMES[1:]}, tau_es, k_es, seed=s.seeds[0]))
        row = {"n": n, "tau_es (K1)": tau_es, "K1 at tau_es": k_es}
        for name in KL_NAMES[1:]:
            row[f"min {name}"] = float(np.min(r2.K[name]))
        rows.append(row)
    at_small = [r for r in kl if r.config.n == small]
    excluded = int(sum(len(s.kl_taus) - curve(r, "K2")[0].size for r in at_small))
    data = rise_curves(at_small, "K2", excluded_truncated_points=excluded)
    checks = [ctx.judge("early-stopping-K2", data, n=small, m=s.curve_m)]
    rises = [{"n": n, **{f"seed {r.config.seed}": float(curve_rise(r.K["K1"])[0]) for r in k1 if r.config.n == n}}
             for n in s.curve_ns]
    return Section("KL against training time (Fig. 3 analogue)", (
        f"Two-mode mixture mu = 3, m = {s.curve_m} random features, seed {s.seeds[0]}; K1 on the dense "
        f"grid, K2-K4 on the thin grid; star: early-stopping time of K1.\n\n" + markdown_table(rows, list(rows[0])),
        "Rise of K1 after its minimum, (K1(tau_max) - min) / min, at m = "
        f"{s.curve_m}:\n\n" + markdown_table(rises, list(rises[0])), *paths), tuple(checks),
        {"tau_curves": rows, "tau_curves_K1_rise": rises})
