"""The generalisation gap I1 of (15): how it grows in τ (its local log-log slope against the bound's
τ³-τ⁴) and how it decays in n."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from empirical.formats import markdown_table
from empirical.measure import MeasureConfig

from ..claims import CLAIMS, fraction
from ..figures import curves_plot, loglog_fit_plot
from ..sweeps import k1_configs
from ..stats import t_interval
from ..verdicts import Check, rate_check
from .base import Context, Section, fit, fmt_fit, seeds_of

LATE_DECADES = 2.0
"""The late window of the τ grid (its last decades) where the local slope of I1 is read."""
SLOWEST_GENERALISATION_POWER = 3.0
"""The smallest power of τ among the simplified bound's generalisation terms (τ³/m²)."""


def slope_between(taus: np.ndarray, i1: np.ndarray, lo: float, hi: float) -> float:
    """d log I1 / d log τ between the grid points nearest to ``lo`` and ``hi`` (in log τ); NaN unless I1 > 0
    at both."""
    i, j = (int(np.argmin(np.abs(np.log(taus / t)))) for t in (lo, hi))
    if i == j or i1[i] <= 0 or i1[j] <= 0:
        return float("nan")
    return float(np.log(i1[j] / i1[i]) / np.log(taus[j] / taus[i]))


def local_slope(taus: np.ndarray, i1: np.ndarray, decades: float = LATE_DECADES) -> float:
    """The local slope over the last ``decades`` of the τ grid (:func:`slope_between`)."""
    return slope_between(taus, i1, taus[-1] / 10**decades, taus[-1])


def decade_slopes(taus: np.ndarray, i1: np.ndarray) -> list[float | None]:
    """Local slopes over consecutive decades of τ from the grid's start (None where I1 <= 0 at an end)."""
    out = []
    for k in range(int(np.floor(np.log10(taus[-1] / taus[0]) + 1e-9))):
        v = slope_between(taus, i1, taus[0] * 10**k, taus[0] * 10 ** (k + 1))
        out.append(v if np.isfinite(v) else None)
    return out


def growth_check(res, ns, predicted: float) -> tuple[Check, list[dict]]:
    """gap-grows-tau: the late-τ local slope of I1 per seed, a t interval at each n. "violated" if some
    interval lies wholly above ``predicted`` (faster than τ⁴), "mechanism-not-observed" if every interval
    lies wholly below the slowest generalisation power τ³ (I1 saturates), else "consistent"; "inconclusive"
    with fewer than 2 usable seeds at some n."""
    claim = CLAIMS["gap-grows-tau"]
    per_n, rows = {}, []
    for n in ns:
        slopes = [local_slope(r.taus, r.I1) for r in res if r.config.n == n]
        usable = [v for v in slopes if np.isfinite(v)]
        entry = {"late_slopes": slopes, "usable_seeds": len(usable)}
        if len(usable) >= 2:
            mean, lo, hi = t_interval(usable)
            entry.update(mean=mean, ci95=[lo, hi])
        per_n[str(n)] = entry
        first = next(r for r in res if r.config.n == n)
        mean_curve = np.mean([r.I1 for r in res if r.config.n == n], axis=0)
        rows.append({"n": n, **{f"1e{k}-1e{k + 1}": v for k, v in enumerate(decade_slopes(first.taus, mean_curve))}})
    cis = [v.get("ci95") for v in per_n.values()]
    if any(c is None for c in cis):
        verdict = "inconclusive"
    elif any(lo > predicted for lo, _ in cis):
        verdict = "violated"
    elif all(hi < SLOWEST_GENERALISATION_POWER for _, hi in cis):
        verdict = claim.against
    else:
        verdict = "consistent"
    check = Check(claim.id, claim.text(window=f"{LATE_DECADES:g}"), {"at_n": per_n}, {
        "slope_at_most": predicted, "mechanism_slope_at_least": SLOWEST_GENERALISATION_POWER}, verdict, claim.statistic.format(window=f"{LATE_DECADES:g}"))
    return check, rows


def gap(ctx: Context) -> Section:
    """I1 over τ and n at fixed m: the local log-log slope of I1 in τ at each n, and the exponent of n in
    |I1| at τ = ``scale.gap_tau``."""
    s = ctx.scale
    base = MeasureConfig(m=s.gap_m, m_ref_factor=0)
    taus = tuple(sorted(set(s.taus) | {s.gap_tau}))
    res = ctx.run([replace(c, taus=taus) for c in k1_configs(base, s, n=s.gap_ns)], "gap I1 (n sweep)")
    j = taus.index(s.gap_tau)
    curves = {n: np.mean([r.I1 for r in res if r.config.n == n], axis=0) for n in sorted(s.gap_ns)}
    check, rows = growth_check(res, sorted(s.gap_ns), CLAIMS["gap-grows-tau"].predicted)
    checks = [check]
    n = [r.config.n for r in res]
    i1 = [abs(r.I1[j]) for r in res]
    f = fit(n, i1, seeds_of(res))
    claim = CLAIMS["gap-shrinks-n"]
    checks.append(rate_check(claim.id, claim.text(tau=f"{s.gap_tau:g}"), f, claim.predicted, claim.statistic))
    linear = float(np.min([np.min(np.abs(v[v != 0])) for v in curves.values() if np.any(v != 0)]))
    paths = [curves_plot(taus, {f"n = {k}": v for k, v in curves.items()}, None, ctx.figure("gap_tau.png"), "tau",
                         "I1 (seed mean, signed)", f"Generalisation gap I1, m = {s.gap_m}", logx=True,
                         symlog=linear),
             loglog_fit_plot(np.array(n), {f"I1 at tau={s.gap_tau:g}": i1}, f, claim.predicted,
                             ctx.figure("gap_n.png"), "n", "|I1|", "Gap I1 vs n")]
    return Section("The generalisation gap I1 of (15)", (
        f"m = {s.gap_m}. Local log-log slope of the seed-mean I1 in tau per decade (the bound's generalisation "
        f"terms grow as tau^3 to tau^4; a slope near 0 is saturation):\n\n" + markdown_table(rows, list(rows[0])),
        f"I1 slope in n at tau = {s.gap_tau:g}: {fmt_fit(f)} (predicted <= {fraction(claim.predicted)}).", *paths),
        tuple(checks), {"gap": {"n": n, "I1_at_gap_tau": i1, "fit": [f.slope, f.ci_low, f.ci_high],
                                "local_slopes_per_decade": rows}})
