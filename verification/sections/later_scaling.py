"""Two items of the later-theories section (docs/theory.md §11.1): the d/n crossover (Merger & Goldt) with the
paper's dimension claim re-measured at n >= 8d, and the optimiser as the regulariser (Wu, Marion, Biau, Boyer)."""

from __future__ import annotations

import numpy as np

from ..output.formats import markdown_table

from ..figures import Series, band_plot, color, label, ordered_colors, seed_matrix
from ..statistics.growth import compare_growth
from ..designs.later_runs import ExactCurves, optimiser_runs, run_curves
from empirical.training.paper_runs import run_paper
from ..rules import Parts, WindowRise, growth_data, runs_from
from .base import Context, try_fit, slopes

N_OVER_D_MIN = 2
"""The d/n rates are fitted where n >= 2d (the regime n > d of the claim)."""
N_OVER_D_DIMENSION = 8
"""The paper's dimension claim is re-measured where n >= 8d, away from the d ~ n crossover."""


def _row(task: ExactCurves, r: dict) -> dict:
    k1 = float(np.min(r["K1"]))
    return {"n": task.n, "d": task.d, "seed": task.seed, "excess": k1 - r["K1_star"], "K1_es": k1,
            "K1_excess": k1 - r["kl_prior"], "K1_star": r["K1_star"]}


def _fit_text(name: str, x: list, y: list, s: list) -> str:
    f = try_fit(x, y, s)
    return f"{name}: {f.slope:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}]" if f is not None else f"{name}: too few points"


def d_over_n_data(n_sweep: list[dict], d_sweep: list[dict]) -> dict:
    """The d/n claims' data from rows with n, d, seed, ``excess`` (K1_es - K1*) and ``K1_excess`` (K1_es -
    KL(p_T‖π)): the per-seed slopes of log excess on log n (n >= 2d) and on log d (n >= 2d), and the growth
    rule's points at n >= 8d."""
    rn = [r for r in n_sweep if r["n"] >= N_OVER_D_MIN * r["d"]]
    rd = [r for r in d_sweep if r["n"] >= N_OVER_D_MIN * r["d"]]
    r8 = [r for r in d_sweep if r["n"] >= N_OVER_D_DIMENSION * r["d"]]
    return {"d-over-n-rate-n": slopes([r["n"] for r in rn], [r["excess"] for r in rn], [r["seed"] for r in rn]),
            "d-over-n-rate-d": slopes([r["d"] for r in rd], [r["excess"] for r in rd], [r["seed"] for r in rd]),
            "d-over-n-dimension-n8d": growth_data(r8, "K1_excess")}


def optimiser_parts(arms: dict, found: list[dict]) -> tuple[Parts, list[dict], dict]:
    """optimiser-rise-every-lr's data, one part per arm (the K2 runs of its usable seeds, the arm's own run
    length), a summary row per arm, and per arm the seeds' K2 curves (equal checkpoints only) for the figure."""
    items, summary, curves, i = [], [], {}, 0
    for name, ts in arms.items():
        got, i = found[i:i + len(ts)], i + len(ts)
        good = [r for r in got if not r["diverged"] and len(r["records"]) >= 3]
        data = runs_from([r["records"] for r in good], "K2", ts[0].epochs, [f"seed {r['task']['seed']}" for r in good])
        items.append((name, data))
        if good and len({len(r["records"]) for r in good}) == 1:
            curves[name] = np.array([[rec["K2"] for rec in r["records"]] for r in good])
        stat = WindowRise().measure(data) if good else {}
        summary.append({"arm": name, "epochs": ts[0].epochs, "diverged": len(got) - len(good),
                        "log K2 late/early (mean)": stat.get("mean", float("nan")),
                        "least K2 (mean)": float(np.mean([min(x["K2"] for x in r["records"]) for r in good]))
                        if good else float("nan")})
    return Parts(tuple(items)), summary, curves


def d_over_n(ctx: Context) -> tuple[list, list, dict]:
    """K1 - K1* (the excess over the model's optimum) against n at fixed d and against d at fixed n, fixed m; the
    growth rule on K1_es - KL(p_T||pi) at n >= 8d."""
    L, seeds = ctx.scale.later, ctx.scale.seeds
    tasks = {"n": [ExactCurves(n=n, m=L.dn_m, seed=s, taus=L.dn_taus, d=L.dn_d) for n in L.dn_ns for s in seeds],
             "d": [ExactCurves(n=L.dn_n, m=L.dn_m, seed=s, taus=L.dn_taus, d=d) for d in L.dn_ds for s in seeds]}
    rows = {k: [_row(t, r) for t, r in zip(ts, ctx.runner.run_tasks(run_curves, ts, [t.key() for t in ts], "later",
                                                                     f"later theories: d/n sweep in {k}"))]
            for k, ts in tasks.items()}
    rn = [r for r in rows["n"] if r["n"] >= N_OVER_D_MIN * r["d"]]
    rd = [r for r in rows["d"] if r["n"] >= N_OVER_D_MIN * r["d"]]
    r8 = [r for r in rows["d"] if r["n"] >= N_OVER_D_DIMENSION * r["d"]]
    data = d_over_n_data(rows["n"], rows["d"])
    checks = [ctx.judge("d-over-n-rate-n", data["d-over-n-rate-n"], d=L.dn_d, ns=sorted({r["n"] for r in rn}),
                        m=L.dn_m),
              ctx.judge("d-over-n-rate-d", data["d-over-n-rate-d"], n=L.dn_n, ds=sorted({r["d"] for r in rd}),
                        m=L.dn_m),
              ctx.judge("d-over-n-dimension-n8d", data["d-over-n-dimension-n8d"], n=L.dn_n,
                        ds=sorted({r["d"] for r in r8 if r["d"] >= 2}), m=L.dn_m)]
    small = [r for r in rows["n"] if r["n"] < r["d"]]
    lines = [_fit_text(f"exponent of n at d = {L.dn_d}, n >= {N_OVER_D_MIN}d", [r["n"] for r in rn],
                       [r["excess"] for r in rn], [r["seed"] for r in rn]),
             _fit_text(f"exponent of n at d = {L.dn_d}, n < d (memorising side)", [r["n"] for r in small],
                       [r["excess"] for r in small], [r["seed"] for r in small]),
             _fit_text(f"exponent of d at n = {L.dn_n}, d <= n/{N_OVER_D_MIN}", [r["d"] for r in rd],
                       [r["excess"] for r in rd], [r["seed"] for r in rd]),
             _fit_text(f"exponent of d of K1_es - KL(p_T||pi) at n = {L.dn_n}, d <= n/{N_OVER_D_DIMENSION}",
                       [r["d"] for r in r8 if r["d"] >= 2], [r["K1_excess"] for r in r8 if r["d"] >= 2],
                       [r["seed"] for r in r8 if r["d"] >= 2])]
    use = [r for r in r8 if r["d"] >= 2]
    if len({r["d"] for r in use}) >= 3:
        g = compare_growth([r["d"] for r in use], [r["K1_excess"] for r in use], [r["seed"] for r in use])
        lines.append("dAIC (exponential - polynomial) per seed at n >= 8d: " + ", ".join(f"{v:.1f}" for v in g.delta_aic))
    paths = []
    for k, xs, name in (("n", L.dn_ns, f"n at d = {L.dn_d}"), ("d", L.dn_ds, f"d at n = {L.dn_n}")):
        x, y = seed_matrix([r[k] for r in rows[k]], [r["excess"] for r in rows[k]], [r["seed"] for r in rows[k]])
        j, power = (0, 1.0) if k == "d" else (-1, -1.0)  # the point of the largest n/d, and the slope of d/n
        ref = {"d/n, through the seed mean at the largest n/d": list(np.nanmean(y[:, j]) * (x / x[j]) ** power)}
        paths.append(band_plot(x, [Series("K1_es - K1*", y, color("K1"))], ctx.figure(f"d_over_n_{k}.png"), label(k),
                               label("kl", "K1_es - K1* (excess over the model's optimum)"), f"The d/n sweep: {name}, "
                               f"m = {L.dn_m}", logx=True, logy=True, references=ref))
    table = [{"sweep": k, "n": n, "d": d, "n/d": n / d,
              "K1_es - K1*": float(np.mean([r["excess"] for r in rows[k] if (r["n"], r["d"]) == (n, d)])),
              "K1_es - KL(p_T||pi)": float(np.mean([r["K1_excess"] for r in rows[k] if (r["n"], r["d"]) == (n, d)]))}
             for k in ("n", "d") for n, d in sorted({(r["n"], r["d"]) for r in rows[k]})]
    text = (f"**The d/n crossover** (two-mode mixture mu = 3 along e1 in R^d, m = {L.dn_m} features, seeds "
            f"{list(seeds)}). K1* = min over theta of K1 (the population g^2 minimiser of the same features), so "
            "K1_es - K1* >= 0 is the KL excess of the early-stopped model over the model's optimum (K1's metric). "
            f"Rates fitted where n >= {N_OVER_D_MIN}d; the paper's dimension claim (polynomial in d) re-measured at "
            f"n = {L.dn_n} >= {N_OVER_D_DIMENSION}d, beside the dimension section's n = {ctx.scale.dim_n}.\n\n"
            + "\n".join(f"- {line}" for line in lines) + "\n\n" + markdown_table(table, list(table[0])))
    return checks, [text, *paths], {"d_over_n": {"n_sweep": rows["n"], "d_sweep": rows["d"]}}


def optimiser(ctx: Context) -> tuple[list, list, dict]:
    """The paper's Fig. 3 network at several SGD learning rates (fixed lr x epochs) and by full-batch gradient
    descent: the window rise of K2 per arm."""
    L, paper = ctx.scale.later, ctx.scale.paper
    arms = optimiser_runs(paper, L.opt_lrs, L.opt_seeds)
    tasks = [t for ts in arms.values() for t in ts]
    found = ctx.runner.run_tasks(run_paper, tasks, [t.key() for t in tasks], "paper",
                                 "later theories: optimiser arms")
    parts, summary, curves = optimiser_parts(arms, found)
    checks = [ctx.judge("optimiser-rise-every-lr", parts, lrs=list(L.opt_lrs), width=paper.width, n=paper.n,
                        mu=paper.mu, seeds=len(L.opt_seeds))]
    x = [rec["epoch"] for rec in found[0]["records"]]
    series = [Series(name, y, c, "minmax") for (name, y), c in zip(curves.items(), ordered_colors(len(arms)))
              if y.shape[1] == len(x)]
    paths = []
    if series:
        paths.append(band_plot(x, series, ctx.figure("optimiser_K2.png"),
                               label("epoch", f"epoch of the lr {L.opt_lrs[0]:g} run at the same lr x steps"),
                               label("kl", "K2"), "Fig. 3 network: learning rates and full batch", logx=False,
                               logy=True))
    text = (f"**The optimiser** (the authors' Swish network, width {paper.width}, n = {paper.n}, mu = {paper.mu}, "
            f"{paper.sde.upper()} SDE, seeds {list(L.opt_seeds)}). SGD (batch 32) at lr {list(L.opt_lrs)} with "
            f"epochs scaled so that lr x epochs is the paper run's ({paper.epochs} epochs at lr {L.opt_lrs[0]:g}); "
            "full-batch DSM gradient descent at the same lr x steps (fresh (t, z) each step). The window rule "
            "(docs/theory.md §8.2b) per arm, windows at the same fractions of each run.\n\n"
            + markdown_table(summary, list(summary[0])))
    return checks, [text, *paths], {"optimiser": summary}
