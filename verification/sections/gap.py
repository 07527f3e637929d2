"""The generalisation gap I1 of (15): how it moves in τ (its local log-log slope per decade, described, not
judged) and how it decays in n (claim gap-shrinks-n).

I1 = L̃(θ̂_n(τ)) - L̃(θ(τ)) is the difference of the population loss along two flows that both converge, so it
is signed (at large n it changes sign between decades) and tends to a constant as τ → ∞ by construction. The
bound's τ³-τ⁴ is an upper bound's shape, tested as such by ledger-I1 (I1 under c1 τ⁴/(mn) + c2 τ³/m²); a claim
that I1 itself grows like it (the former gap-grows-tau, read over the last two decades of the grid where both
flows have converged) could not come out otherwise, and is not made (docs/theory.md §8.2)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..output.formats import markdown_table
from empirical.measure import MeasureConfig

from ..claims.registry import CLAIMS, fraction
from ..figures import Series, band_plot, label, loglog_fit_plot, ordered_colors
from ..designs.sweeps import k1_configs
from .base import Context, Section, fit, fmt_fit, seeds_of, slopes


def slope_between(taus: np.ndarray, i1: np.ndarray, lo: float, hi: float) -> float:
    """d log I1 / d log τ between the grid points nearest to ``lo`` and ``hi`` (in log τ); NaN unless I1 > 0
    at both."""
    i, j = (int(np.argmin(np.abs(np.log(taus / t)))) for t in (lo, hi))
    if i == j or i1[i] <= 0 or i1[j] <= 0:
        return float("nan")
    return float(np.log(i1[j] / i1[i]) / np.log(taus[j] / taus[i]))


def decade_slopes(taus: np.ndarray, i1: np.ndarray) -> list[float | None]:
    """Local slopes over consecutive decades of τ from the grid's start (None where I1 <= 0 at an end)."""
    out = []
    for k in range(int(np.floor(np.log10(taus[-1] / taus[0]) + 1e-9))):
        v = slope_between(taus, i1, taus[0] * 10**k, taus[0] * 10 ** (k + 1))
        out.append(v if np.isfinite(v) else None)
    return out


def slope_rows(res, ns) -> list[dict]:
    """Per n, the local log-log slope of the seed-mean I1 over each decade of τ (None where I1 <= 0 at an end)."""
    rows = []
    for n in ns:
        first = next(r for r in res if r.config.n == n)
        mean_curve = np.mean([r.I1 for r in res if r.config.n == n], axis=0)
        rows.append({"n": n, **{f"1e{k}-1e{k + 1}": v for k, v in enumerate(decade_slopes(first.taus, mean_curve))}})
    return rows


def gap(ctx: Context) -> Section:
    """I1 over τ and n at fixed m: the local log-log slope of I1 in τ at each n, and the exponent of n in
    |I1| at τ = ``scale.gap_tau``."""
    s = ctx.scale
    base = MeasureConfig(m=s.gap_m, m_ref_factor=0)
    taus = tuple(sorted(set(s.taus) | {s.gap_tau}))
    res = ctx.run([replace(c, taus=taus) for c in k1_configs(base, s, n=s.gap_ns)], "gap I1 (n sweep)")
    j = taus.index(s.gap_tau)
    curves = {n: np.mean([r.I1 for r in res if r.config.n == n], axis=0) for n in sorted(s.gap_ns)}
    rows = slope_rows(res, sorted(s.gap_ns))
    n = [r.config.n for r in res]
    i1 = [abs(r.I1[j]) for r in res]
    f = fit(n, i1, seeds_of(res))
    claim = CLAIMS["gap-shrinks-n"]
    checks = [ctx.judge("gap-shrinks-n", slopes(n, i1, seeds_of(res)), tau=f"{s.gap_tau:g}")]
    linear = float(np.min([np.min(np.abs(v[v != 0])) for v in curves.values() if np.any(v != 0)]))
    series = [Series(f"n = {k}", np.array([r.I1 for r in res if r.config.n == k]), col, "minmax")
              for k, col in zip(curves, ordered_colors(len(curves)))]
    paths = [band_plot(taus, series, ctx.figure("gap_tau.png"), label("tau"), label("loss7", "I1, signed"),
                       f"Generalisation gap I1, m = {s.gap_m}", logx=True, symlog=linear),
             loglog_fit_plot(np.array(n), i1, f, claim.predicted, ctx.figure("gap_n.png"), label("n"),
                             label("loss7", "|I1|"), "Gap I1 vs n", quantity="I1", name=f"|I1| at tau = {s.gap_tau:g}")]
    return Section("The generalisation gap I1 of (15)", (
        f"m = {s.gap_m}. Local log-log slope of the seed-mean I1 in tau per decade (described, not judged: I1 is "
        "signed and tends to a constant once both flows converge; the bound's generalisation terms grow as tau^3 to "
        "tau^4, an upper bound tested by ledger-I1):\n\n" + markdown_table(rows, list(rows[0])),
        f"I1 slope in n at tau = {s.gap_tau:g}: {fmt_fit(f)} (predicted <= {fraction(claim.predicted)}).", *paths),
        tuple(checks), {"gap": {"n": n, "I1_at_gap_tau": i1, "fit": [f.slope, f.ci_low, f.ci_high],
                                "local_slopes_per_decade": rows}})
