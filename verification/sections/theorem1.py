"""Theorem 1 on its own target, two compactly supported C¹ bumps: the n-rate along m = n and early stopping."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from empirical.measure import MeasureConfig

from ..claims.registry import CLAIMS, fraction
from ..figures import label, loglog_fit_plot
from ..designs.sweeps import early_stopped, k1_configs, resolved
from .base import Context, Section, fit, fmt_fit, seeds_of, slopes
from .tau_curves import rise_curves


def theorem1(ctx: Context) -> Section:
    """K1 along m = n on the bump target (the exponent of n in the early-stopped K1), and K1 against τ at
    the smallest n with m = ``scale.curve_m`` (the rise after its minimum, over seeds)."""
    s = ctx.scale
    base = MeasureConfig(target="bump", m_ref_factor=0)
    res = ctx.run([replace(c, m=c.n) for c in k1_configs(base, s, n=s.bump_ns)], "Theorem 1 target (bump), m = n")
    n = [r.config.n for r in res]
    k_es = [early_stopped(r)[1] for r in res]
    f = fit(n, k_es, seeds_of(res))
    claim = CLAIMS["theorem1-rate-n"]
    known = [i for i, r in enumerate(res) if resolved(r)]  # a minimum beyond the grid is not measured
    checks = [ctx.judge("theorem1-rate-n", slopes([n[i] for i in known], [k_es[i] for i in known],
                                                  [seeds_of(res)[i] for i in known],
                                                  minima_beyond_grid=len(res) - len(known)))]
    small = ctx.run(k1_configs(base, s, n=(min(s.bump_ns),), m=(s.curve_m,)), "Theorem 1 target, tau curves")
    checks.append(ctx.judge("theorem1-early-stopping", rise_curves(small, "K1"), n=min(s.bump_ns), m=s.curve_m))
    path = loglog_fit_plot(np.array(n), k_es, f, claim.predicted, ctx.figure("theorem1_rate_n.png"),
                           label("n", "n, with m = n"), label("kl", "early-stopped K1"),
                           "Theorem 1 target: early-stopped KL vs n", quantity="K1", name="K1 at tau_es")
    return Section("Theorem 1: compactly supported target", (
        f"Two C1 bumps (1 - y^2)^2 of half-width 1 at +-{base.mu}; m = n. Slope {fmt_fit(f)} (predicted <= "
        f"{fraction(claim.predicted)}).", path), tuple(checks))
