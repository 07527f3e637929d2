"""The paper's own experiments (Figs. 3-5, 8-11) as the authors ran them, measured exactly (docs/theory.md §10;
the runs are :mod:`verification.designs.paper_runs`).

K2 (the reverse-SDE sampler's KL) decides every verdict; the authors' 51-point grid metric is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from ..output.formats import markdown_table
from empirical.sde import sde_by_name
from empirical.targets import two_mode

from ..claims.registry import CLAIMS, FLOW_RTOL
from ..figures import Series, band_plot, color, density_panels, label
from empirical.training.paper_runs import TIME_CONTROLS

from ..designs.paper_runs import experiment
from ..rules import Densities, Parts, Profile, Values, WindowRise, runs_from
from ..verdicts import Check
from .base import Context, Section


def _curve(run: dict, key: str) -> tuple[list[float], list[float]]:
    recs = run["records"]
    return [r["epoch"] for r in recs], [r[key] for r in recs]


def _usable(runs: Sequence[dict]) -> list[dict]:
    return [r for r in runs if not r["diverged"] and len(r["records"]) >= 3]


def rise_check(ctx: Context, cid: str, runs: Sequence[dict], epochs: int, sizes: dict) -> Check:
    """Fig. 3 or Fig. 8: K2 from the early window to the late one (windows fixed in advance), per seed; the same
    statistic on the authors' grid metric reported beside."""
    good = _usable(runs)
    labels = [f"seed {r['task']['seed']}" for r in good]
    beside = {}
    if good and "grid_kl" in good[0]["records"][0]:
        grid = WindowRise().measure(runs_from([r["records"] for r in good], "grid_kl", epochs, labels))
        beside = {"grid_kl_log_ratio_per_seed": grid["log_ratio_per_seed"], "grid_kl_mean": grid["mean"],
                  "grid_kl_ci95": grid["ci95"]}
    minima = [min(zip(*_curve(r, "K2")), key=lambda x: x[1]) for r in good]
    data = runs_from([r["records"] for r in good], "K2", epochs, labels)
    data = replace(data, extra={"diverged": len(runs) - len(good), "min_epoch": [m[0] for m in minima],
                                "min_K2": [m[1] for m in minima], **beside})
    return ctx.judge(cid, data, **sizes)


def _best(run: dict) -> dict:
    recs = run["records"]
    i = int(np.argmin([r["K2"] for r in recs]))
    return recs[i]


def _pairs(result: dict, opt: str) -> list[tuple[dict, dict]]:
    """The (µ = mu, µ = mu_far) runs of one optimiser with the same seed, neither diverged."""
    return [(a, b) for a, b in zip(result[opt], result[opt + "_far"])
            if not a["diverged"] and not b["diverged"] and a["records"] and b["records"]]


def modes_check(ctx: Context, result: dict, sizes: dict) -> Check:
    """Figs. 4-5 and 9-10: the best K2 at µ = mu_far against µ = mu, paired by seed, one part per optimiser."""
    items = []
    for opt in ("sgd", "adam"):
        pairs = _pairs(result, opt)
        diffs = [math.log(_best(b)["K2"]) - math.log(_best(a)["K2"]) for a, b in pairs]
        extra = {}
        for label, runs in (("mu", [a for a, _ in pairs]), ("mu_far", [b for _, b in pairs])):
            best = [_best(r) for r in runs]
            extra[label] = {"best_epoch": [b["epoch"] for b in best], "best_K2": [b["K2"] for b in best],
                            "mass_pos_at_best": [b.get("mass_pos") for b in best],
                            "grid_kl_at_best": [b.get("grid_kl") for b in best],
                            "grid_kl_wide_at_best": [b.get("grid_kl_wide") for b in best]}
        items.append((opt, Values(tuple(diffs), extra)))
    return ctx.judge("paper-modes-shift-best-epoch", Parts(tuple(items)), **sizes)


def best_epoch_check(ctx: Context, result: dict, epochs: int, sizes: dict) -> Check:
    """Figs. 4-5 and 9-10: (best epoch at µ = mu_far - best epoch at µ = mu) / epochs, paired by seed, one part per
    optimiser; earlier (an interval wholly below 0) for both is consistent."""
    items = []
    for opt in ("sgd", "adam"):
        pairs = _pairs(result, opt)
        diffs = [(_best(b)["epoch"] - _best(a)["epoch"]) / epochs for a, b in pairs]
        items.append((opt, Values(tuple(diffs), {"epoch_diff_per_seed": [d * epochs for d in diffs],
                                                 "best_epoch_mu": [_best(a)["epoch"] for a, _ in pairs],
                                                 "best_epoch_mu_far": [_best(b)["epoch"] for _, b in pairs]})))
    return ctx.judge("paper-modes-best-epoch-earlier", Parts(tuple(items)), **sizes)


def collapse_check(ctx: Context, result: dict, epoch: int, sizes: dict) -> Check:
    """Figs. 5 and 10: the number of modes of the µ = mu_far sampler's exact density at ``epoch`` per usable seed,
    one part per optimiser; the mass on x > 0 reported beside."""
    items = []
    for opt in ("sgd", "adam"):
        runs = [r for r in _usable(result[opt + "_far"]) if "density_x" in r]
        dens, masses, labels, p0 = [], [], [], ()
        for r in runs:
            hit = [x for x in r["records"] if x["epoch"] == epoch and "density" in x]
            if not hit:
                continue
            xs = tuple(float(v) for v in r["density_x"])
            dens.append((xs, tuple(float(v) for v in hit[0]["density"])))
            masses.append(hit[0].get("mass_pos"))
            labels.append(f"seed {r['task']['seed']}")
            if not p0:
                target = two_mode(r["task"]["mu"], tuple(r["task"]["weights"]), sde=sde_by_name(r["task"]["sde"]))
                p0 = tuple(float(v) for v in target.pdf(0.0, np.asarray(xs)))
        items.append((opt, Densities(tuple(dens), p0, tuple(labels), {"mass_pos": masses, "epoch": epoch})))
    return ctx.judge("paper-modes-collapse", Parts(tuple(items)), **sizes)


def width_summary(runs: Sequence[dict], epoch: int, target: float) -> list[dict]:
    """Per width: K2 at ``epoch`` per seed (NaN when the run diverged or stopped before), and the first epoch
    with K2 <= ``target`` per seed (None: never, within the run)."""
    by_width: dict[int, list[dict]] = {}
    for r in runs:
        by_width.setdefault(r["task"]["width"], []).append(r)
    rows = []
    for w in sorted(by_width):
        at, first = [], []
        for r in by_width[w]:
            hit = [x["K2"] for x in r["records"] if x["epoch"] == epoch]
            at.append(float(hit[0]) if hit and not r["diverged"] else float("nan"))
            reach = [x["epoch"] for x in r["records"] if x["K2"] <= target]
            first.append(int(reach[0]) if reach else None)
        finite = [v for v in at if math.isfinite(v)]
        rows.append({"width": w, "K2_at_epoch": at, "K2_mean": float(np.mean(finite)) if finite else float("nan"),
                     "first_epoch_K2_le_target": first, "diverged": sum(r["diverged"] for r in by_width[w])})
    return rows


def width_check(ctx: Context, runs: Sequence[dict], epoch: int, target: float, sizes: dict) -> Check:
    """Fig. 11: K2 at ``epoch`` falls with width over the widths that train (Kendall on the seed mean); widths whose
    every run diverged are left out and named, diverged runs counted."""
    rows = width_summary(runs, epoch, target)
    ok = [r for r in rows if any(math.isfinite(v) for v in r["K2_at_epoch"])]
    diverged = {str(r["width"]): r["diverged"] for r in rows if r["diverged"]}
    extra = {"widths_all": [r["width"] for r in rows], "widths_left_out": [r["width"] for r in rows if r not in ok],
             "first_epoch_K2_le_target": {str(r["width"]): ["never" if f is None else f
                                                            for f in r["first_epoch_K2_le_target"]] for r in rows},
             "diverged": diverged, "epoch": epoch, "kl_target": target}
    seeds = max((len(r["K2_at_epoch"]) for r in ok), default=0)
    matrix = tuple(tuple(r["K2_at_epoch"][i] if i < len(r["K2_at_epoch"]) else float("nan") for r in ok)
                   for i in range(seeds))
    text = {**sizes, "widths": [r["width"] for r in ok],
            "diverged": ", ".join(f"width {w}: {k}" for w, k in diverged.items()) or "none"}
    return ctx.judge("paper-fig11-width", Profile(tuple(float(r["width"]) for r in ok), matrix, extra), **text)


def agreement_check(ctx: Context, runs: Sequence[dict], sizes: dict) -> Check:
    """Spearman's rho between the authors' grid metric and K2 over each run's checkpoints after epoch 0."""
    rhos = []
    for r in _usable(runs):
        recs = [x for x in r["records"] if x["epoch"] > 0]
        if len(recs) >= 3:
            rho = spearmanr([x["grid_kl"] for x in recs], [x["K2"] for x in recs]).statistic
            if math.isfinite(rho):
                rhos.append(float(rho))
    return ctx.judge("paper-metric-agreement", Values(tuple(rhos), {"runs": len(rhos)}), **sizes)


def flow_check(ctx: Context, flows: Sequence[dict], sizes: dict) -> Check:
    """Minibatch DSM SGD on the RF model against the exact flow at τ = lr x steps: per seed the max relative K2
    difference over checkpoints, within the tolerance; its power against the flow at 0.5 x τ."""

    def worst(f: dict, kind: str, flow: str) -> float:
        return max(abs(a - b) / b for a, b in zip(f[f"K2_{kind}"], f[flow]))

    sgd = [worst(f, "sgd", "K2_flow_sgd") for f in flows]
    controls = {f"x{c:g}": [worst(f, "sgd", f"K2_flow_sgd_x{c:g}") for f in flows] for c in TIME_CONTROLS}
    extra = {"max_rel_K2_diff_gd": [worst(f, "gd", "K2_flow_gd") for f in flows],
             "control_max_rel_K2_diff_sgd": controls, "control": controls.get("x0.5", []),
             "max_rel_A_err_sgd": [max(f["A_relerr_sgd"]) for f in flows],
             "max_rel_A_err_gd": [max(f["A_relerr_gd"]) for f in flows],
             "tau_max_sgd": flows[0]["tau_sgd"][-1] if flows else None}
    return ctx.judge("paper-discrete-vs-flow", Values(tuple(sgd), extra), **sizes)


def _seed_curves(runs: Sequence[dict], key: str) -> tuple[list[float], np.ndarray]:
    """The epochs every usable run reached and ``key`` at them, one row per run."""
    good = _usable(runs)
    length = min(len(r["records"]) for r in good)
    return ([r["epoch"] for r in good[0]["records"][:length]],
            np.array([[x[key] for x in r["records"][:length]] for r in good], dtype=float))


def density_figure(result: dict, opt: str, path) -> Path | None:
    """Figs. 4-5 / 9-10 for one optimiser: a panel per µ with p0 and the first usable seed's sampler density
    (the reverse SDE's law, the law K2 measures) at each checkpoint that stored one."""
    panels = []
    for name in (opt, opt + "_far"):
        runs = [r for r in _usable(result[name]) if "density_x" in r]
        if not runs:
            continue
        run = runs[0]
        recs = [x for x in run["records"] if "density" in x]
        xs = np.asarray(run["density_x"])
        mu = run["task"]["mu"]
        target = two_mode(mu, tuple(run["task"]["weights"]), sde=sde_by_name(run["task"]["sde"]))
        panels.append((mu, {"x0": xs, "p0": target.pdf(0.0, xs), "tau": [x["epoch"] for x in recs],
                            "x": [xs] * len(recs), "q": [x["density"] for x in recs], "seed": run["task"]["seed"]}))
    if not panels:
        return None
    return density_panels(path, panels, label_format="epoch {:g}",
                          title=f"mu = {{mu}}: {opt.upper()}, seed {{seed}}, reverse-SDE sampler")


def mass_rows(result: dict, epochs: Sequence[int]) -> list[dict]:
    """Per run group and density epoch: seed means of K2 and of the sampler's mass on x > 0 (Figs. 4-5, 9-10)."""
    rows = []
    for name in ("sgd", "adam", "sgd_far", "adam_far"):
        good = _usable(result[name])
        for e in epochs:
            recs = [x for r in good for x in r["records"] if x["epoch"] == e]
            if recs and "mass_pos" in recs[0]:
                rows.append({"run": name, "epoch": e, "seeds": len(recs),
                             "K2 (mean)": float(np.mean([x["K2"] for x in recs])),
                             "mass x>0 (mean)": float(np.mean([x["mass_pos"] for x in recs])),
                             "mass x>0 (min, max)": f"{min(x['mass_pos'] for x in recs):.3f}, "
                                                    f"{max(x['mass_pos'] for x in recs):.3f}"})
    return rows


def paper_experiments(ctx: Context) -> Section:
    """Figs. 3, 4-5, 8, 9-10, 11 and the RF model against its flow, at the scale's :class:`PaperDesign`."""
    d = ctx.scale.paper
    result = experiment(ctx.runner, d, "paper experiments")
    ctx.runner.checkpoint_pairs.extend((rec["K1"], rec["K2"]) for name, runs in result.items() if name != "flow"
                                       for r in runs for rec in r.get("records", [])
                                       if rec.get("K1") is not None and rec.get("K2") is not None)  # Lemma 2, exact section
    base = {"width": d.width, "n": d.n, "epochs": d.epochs, "seeds": len(d.seeds), "mu": d.mu, "sde": d.sde}
    checks = [rise_check(ctx, "paper-fig3-sgd-minimum", result["sgd"], d.epochs, {**base, "lr": d.sgd_lr}),
              rise_check(ctx, "paper-fig8-adam-minimum", result["adam"], d.epochs, {**base, "lr": d.adam_lr}),
              modes_check(ctx, result, {**base, "mu_far": d.mu_far}),
              best_epoch_check(ctx, result, d.epochs, {**base, "mu_far": d.mu_far}),
              collapse_check(ctx, result, max(d.density_epochs), {**base, "mu_far": d.mu_far,
                                                                  "late": max(d.density_epochs)}),
              width_check(ctx, result["width"], d.width_epoch, d.kl_target,
                          {"epoch": d.width_epoch, "cap": d.width_cap, "seeds": len(d.width_seeds),
                           "target": d.kl_target}),
              agreement_check(ctx, result["sgd"] + result["adam"], base),
              flow_check(ctx, result["flow"], {"m": d.flow_m, "lr": d.flow_lr, "rtol": FLOW_RTOL,
                                               "seeds": len(d.flow_seeds)})]
    rows = []
    for name in ("sgd", "adam", "sgd_far", "adam_far"):
        for r in result[name]:
            if not r["records"]:
                continue
            b, last = _best(r), r["records"][-1]
            rows.append({"run": name, "mu": r["task"]["mu"], "seed": r["task"]["seed"], "best epoch": b["epoch"],
                         "best K2": b["K2"], "mass x>0 at best": b.get("mass_pos", float("nan")),
                         "last K2": last["K2"], "last grid KL": last.get("grid_kl", float("nan")),
                         "last grid KL (wide)": last.get("grid_kl_wide", float("nan")), "diverged": r["diverged"]})
    wrows = [{"width": r["width"], "K2 at epoch (seed mean)": r["K2_mean"],
              "first epoch K2 <= target": ", ".join("never" if f is None else str(f) for f in r["first_epoch_K2_le_target"]),
              "diverged": r["diverged"]} for r in width_summary(result["width"], d.width_epoch, d.kl_target)]
    paths = []
    for name, lr in (("sgd", d.sgd_lr), ("adam", d.adam_lr)):
        if _usable(result[name]):
            epochs, k2 = _seed_curves(result[name], "K2")
            series = [Series("K2 (reverse-SDE sampler)", k2, color("K2"), "minmax")]
            if "grid_kl" in _usable(result[name])[0]["records"][0]:
                series.append(Series("authors' grid metric", _seed_curves(result[name], "grid_kl")[1], color("grid_kl"),
                                     "minmax", seeds=None))
            paths.append(band_plot(epochs, series, ctx.figure(f"paper_{name}_curves.png"), label("epoch"), label("kl"),
                                   f"{name.upper()} lr {lr:g}, width {d.width}, mu = {d.mu:g} (Fig. {3 if name == 'sgd' else 8})",
                                   logx=False, logy=True))
    for opt in ("sgd", "adam"):
        fig = density_figure(result, opt, ctx.figure(f"paper_{opt}_densities.png"))
        if fig is not None:
            paths.append(fig)
    mrows = mass_rows(result, d.density_epochs)
    text = (f"The authors' configuration (docs/theory.md §10): Swish network of width {d.width} (output x 1/16 / sigma_t), "
            f"{d.sde.upper()} SDE, n = {d.n} points of 1/2 N(-mu, 1) + 1/2 N(mu, 1), DSM with one t and one z per sample "
            f"per epoch, batch 32, SGD lr {d.sgd_lr:g} or Adam lr {d.adam_lr:g}, {d.epochs} epochs, checkpoints every "
            f"{d.eval_every} epochs, seeds {list(d.seeds)} (data and model). K2 decides; the authors' grid metric "
            "([-10, 10], 51 nodes, t0 = 0.065) and the same metric on a grid covering the modes ([-mu - 10, mu + 10], "
            "'wide') are beside it; the figures use K2 and the authors' grid.\n\n" + markdown_table(rows, list(rows[0]))
            + (f"\n\nFigs. 4-5 and 9-10: the sampler at epochs {list(d.density_epochs)}, seed means over the usable "
               "runs (a sampler that fits both modes of the symmetric target has mass 0.5 on x > 0; the density "
               "figures show the first seed).\n\n" + markdown_table(mrows, list(mrows[0])) if mrows else "")
            + f"\n\nFig. 11: SGD, widths {list(d.widths)}, seeds {list(d.width_seeds)}, K2 at epoch {d.width_epoch}; "
            f"each run stops once that value and its first epoch with K2 <= {d.kl_target:g} are known (cap "
            f"{d.width_cap} epochs; 'never' = not reached by the cap or the stop).\n\n" + markdown_table(wrows, list(wrows[0]))
            + f"\n\nThe random-feature model (12), m = {d.flow_m}, OU: minibatch DSM SGD (lr {d.flow_lr:g}) and full-batch "
            "gradient descent on the exact empirical loss against the exact flow at tau = lr x steps.")
    return Section("The paper's experiments as the authors ran them (Figs. 3-5, 8-11)", (text, *paths), tuple(checks),
                   {"paper_experiments": {"design": {k: v for k, v in vars(d).items()}, "checks": [c.name for c in checks]}})
