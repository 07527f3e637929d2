"""The paper's own experiments (Figs. 3-5, 8-11) as the authors ran them, measured exactly (issue 10;
docs/theory.md §10; the runs are :mod:`verification.paper_runs`).

K2 (the reverse-SDE sampler's KL) decides every verdict; the authors' 51-point grid metric is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from empirical.formats import markdown_table
from empirical.sde import sde_by_name
from empirical.targets import two_mode

from ..claims import CLAIMS, FLOW_RTOL
from ..figures import curves_plot, density_panels
from ..paper_runs import TIME_CONTROLS, experiment
from ..stats import t_interval
from ..verdicts import Check, interval_verdict, trend, trend_verdict
from .base import Context, Section

RISE_FACTOR = 2.0
"""A rise counts when it exceeds this many times the median change between neighbouring checkpoints."""


def _interval(values: Sequence[float]) -> tuple[float, float, float]:
    v = [float(x) for x in values if math.isfinite(x)]
    if len(v) >= 2:
        return t_interval(v)
    return (v[0] if v else float("nan"), float("nan"), float("nan"))


def rise_rule(epochs: Sequence[float], values: Sequence[float], factor: float = RISE_FACTOR) -> dict:
    """One seed's curve: its minimum, whether it is interior (neither the first nor the last checkpoint), the
    noise (median |change| between neighbouring checkpoints), the rise (mean of the values after the minimum
    minus the minimum), and ``passes``: interior and rise > factor x noise.

    Examples
    --------
    >>> from verification.sections.paper_experiments import rise_rule
    >>> rise_rule([0, 1, 2, 3, 4], [5.0, 4.0, 3.0, 2.0, 1.0])["passes"]  # monotone: minimum at the end
    False
    >>> rise_rule(range(7), [5.0, 1.0, 1.05, 1.1, 4.0, 4.2, 4.1])["passes"]  # dip, then rise well above the noise
    True
    """
    v = np.asarray(values, dtype=float)
    e = np.asarray(epochs, dtype=float)
    i = int(np.argmin(v))
    noise = float(np.median(np.abs(np.diff(v)))) if v.size > 1 else float("nan")
    interior = bool(0 < i < v.size - 1)
    rise = float(np.mean(v[i + 1:]) - v[i]) if interior else 0.0
    return {"min_epoch": float(e[i]), "min_value": float(v[i]), "interior": interior, "noise": noise, "rise": rise,
            "rise_over_noise": rise / noise if noise > 0 else float("inf") if rise > 0 else 0.0,
            "passes": bool(interior and rise > factor * noise)}


def seeds_verdict(passes: Sequence[bool], against: str = "mechanism-not-observed") -> str:
    """"consistent" when every seed passes; ``against`` when fewer than half do; "inconclusive" between, or
    without at least 2 seeds."""
    if len(passes) < 2:
        return "inconclusive"
    if all(passes):
        return "consistent"
    return against if sum(passes) < len(passes) / 2 else "inconclusive"


def rise_verdict(per_seed: Sequence[dict], against: str = "mechanism-not-observed") -> str:
    """:func:`seeds_verdict` of the seeds' :func:`rise_rule`."""
    return seeds_verdict([s["passes"] for s in per_seed], against)


def _both(verdicts: Sequence[str], against: str) -> str:
    """Two optimisers' verdicts as one: ``against`` if either is, "consistent" if both are, else "inconclusive"."""
    return against if against in verdicts else "consistent" if all(v == "consistent" for v in verdicts) else "inconclusive"


def _curve(run: dict, key: str) -> tuple[list[float], list[float]]:
    recs = run["records"]
    return [r["epoch"] for r in recs], [r[key] for r in recs]


def _usable(runs: Sequence[dict]) -> list[dict]:
    return [r for r in runs if not r["diverged"] and len(r["records"]) >= 3]


def rise_check(cid: str, runs: Sequence[dict], sizes: dict) -> Check:
    """The interior-minimum-and-rise claim of Fig. 3 or Fig. 8 on K2, per seed, with the authors' metric beside."""
    claim = CLAIMS[cid]
    good = _usable(runs)
    per_seed = [rise_rule(*_curve(r, "K2")) for r in good]
    grid = [rise_rule(*_curve(r, "grid_kl")) for r in good if "grid_kl" in r["records"][0]]
    mean, lo, hi = _interval([s["rise_over_noise"] for s in per_seed])
    measured = {"per_seed": per_seed, "passed": sum(s["passes"] for s in per_seed), "seeds": len(per_seed),
                "diverged": len(runs) - len(good), "min_epoch": [s["min_epoch"] for s in per_seed],
                "min_K2": [s["min_value"] for s in per_seed], "rise_over_noise_mean": mean,
                "rise_over_noise_ci95": [lo, hi], "rise_factor": RISE_FACTOR,
                "grid_kl_passed": sum(s["passes"] for s in grid), "grid_kl_min_epoch": [s["min_epoch"] for s in grid]}
    return Check(claim.id, claim.text(**sizes), measured, claim.predicted, rise_verdict(per_seed, claim.against),
                 claim.statistic)


def _best(run: dict) -> dict:
    recs = run["records"]
    i = int(np.argmin([r["K2"] for r in recs]))
    return recs[i]


def _pairs(result: dict, opt: str) -> list[tuple[dict, dict]]:
    """The (µ = mu, µ = mu_far) runs of one optimiser with the same seed, neither diverged."""
    return [(a, b) for a, b in zip(result[opt], result[opt + "_far"])
            if not a["diverged"] and not b["diverged"] and a["records"] and b["records"]]


def modes_check(result: dict, sizes: dict) -> Check:
    """Figs. 4-5 and 9-10: the best K2 at µ = mu_far against µ = mu, paired by seed, for each optimiser."""
    claim = CLAIMS["paper-modes-shift-best-epoch"]
    measured, verdicts = {}, []
    for opt in ("sgd", "adam"):
        pairs = _pairs(result, opt)
        diffs = [math.log(_best(b)["K2"]) - math.log(_best(a)["K2"]) for a, b in pairs]
        mean, lo, hi = _interval(diffs)
        row = {"log_K2_ratio_per_seed": diffs, "mean": mean, "ci95": [lo, hi]}
        for label, runs in (("mu", [a for a, _ in pairs]), ("mu_far", [b for _, b in pairs])):
            best = [_best(r) for r in runs]
            row[label] = {"best_epoch": [b["epoch"] for b in best], "best_K2": [b["K2"] for b in best],
                          "mass_pos_at_best": [b.get("mass_pos") for b in best],
                          "grid_kl_at_best": [b.get("grid_kl") for b in best],
                          "grid_kl_wide_at_best": [b.get("grid_kl_wide") for b in best]}
        measured[opt] = row
        verdicts.append(interval_verdict(lo, hi, claim.against))
    return Check(claim.id, claim.text(**sizes), measured, claim.predicted, _both(verdicts, claim.against),
                 claim.statistic)


def best_epoch_check(result: dict, sizes: dict) -> Check:
    """Figs. 4-5 and 9-10: the epoch of the least K2 at µ = mu_far minus that at µ = mu, paired by seed; earlier
    (an interval wholly below 0) for both optimisers is consistent."""
    claim = CLAIMS["paper-modes-best-epoch-earlier"]
    measured, verdicts = {}, []
    for opt in ("sgd", "adam"):
        pairs = _pairs(result, opt)
        diffs = [_best(b)["epoch"] - _best(a)["epoch"] for a, b in pairs]
        mean, lo, hi = _interval(diffs)
        measured[opt] = {"epoch_diff_per_seed": diffs, "mean": mean, "ci95": [lo, hi],
                         "best_epoch_mu": [_best(a)["epoch"] for a, _ in pairs],
                         "best_epoch_mu_far": [_best(b)["epoch"] for _, b in pairs]}
        verdicts.append(interval_verdict(-hi, -lo, claim.against))
    return Check(claim.id, claim.text(**sizes), measured, claim.predicted, _both(verdicts, claim.against),
                 claim.statistic)


COLLAPSE = 0.4
"""A sampler has collapsed to one mode when |mass on x > 0 - 1/2| exceeds this (90 % of its mass on one side)."""


def collapse_check(result: dict, epoch: int, sizes: dict) -> Check:
    """Figs. 5 and 10: at ``epoch`` the µ = mu_far sampler's mode imbalance |mass(x > 0) - 1/2| per usable seed;
    :func:`seeds_verdict` per optimiser on imbalance > :data:`COLLAPSE`, both optimisers' verdicts combined."""
    claim = CLAIMS["paper-modes-collapse"]
    measured, verdicts = {"epoch": epoch, "collapse_above": COLLAPSE}, []
    for opt in ("sgd", "adam"):
        masses = [x["mass_pos"] for r in _usable(result[opt + "_far"]) for x in r["records"]
                  if x["epoch"] == epoch and "mass_pos" in x]
        imbalance = [abs(m - 0.5) for m in masses]
        measured[opt] = {"mass_pos": masses, "imbalance": imbalance, "collapsed": sum(b > COLLAPSE for b in imbalance),
                         "seeds": len(masses)}
        verdicts.append(seeds_verdict([b > COLLAPSE for b in imbalance], claim.against))
    verdict = (claim.against if all(v == claim.against for v in verdicts)
               else "consistent" if all(v == "consistent" for v in verdicts) else "inconclusive")
    return Check(claim.id, claim.text(**sizes), measured, claim.predicted, verdict, claim.statistic)


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


def width_check(runs: Sequence[dict], epoch: int, target: float, sizes: dict) -> Check:
    """Fig. 11: K2 at ``epoch`` falls with width (Kendall on the seed mean, log width)."""
    claim = CLAIMS["paper-fig11-width"]
    rows = width_summary(runs, epoch, target)
    ok = [r for r in rows if math.isfinite(r["K2_mean"])]
    measured = {"widths": [r["width"] for r in rows], "K2_mean": [r["K2_mean"] for r in rows],
                "first_epoch_K2_le_target": {str(r["width"]): ["never" if f is None else f
                                                               for f in r["first_epoch_K2_le_target"]] for r in rows},
                "diverged": {str(r["width"]): r["diverged"] for r in rows}, "epoch": epoch, "kl_target": target}
    if len(ok) < 3:
        return Check(claim.id, claim.text(**sizes), measured, claim.predicted, "inconclusive", claim.statistic)
    t = trend([math.log2(r["width"]) for r in ok], [r["K2_mean"] for r in ok], increasing=False)
    return Check(claim.id, claim.text(**sizes), {**measured, **t}, claim.predicted, trend_verdict(t, claim.against),
                 claim.statistic)


def agreement_check(runs: Sequence[dict], sizes: dict) -> Check:
    """Spearman's rho between the authors' grid metric and K2 over each run's checkpoints after epoch 0; the mean
    rho over runs with a t interval."""
    claim = CLAIMS["paper-metric-agreement"]
    rhos = []
    for r in _usable(runs):
        recs = [x for x in r["records"] if x["epoch"] > 0]
        if len(recs) >= 3:
            rho = spearmanr([x["grid_kl"] for x in recs], [x["K2"] for x in recs]).statistic
            if math.isfinite(rho):
                rhos.append(float(rho))
    mean, lo, hi = _interval(rhos)
    verdict = interval_verdict(lo, hi, claim.against)
    return Check(claim.id, claim.text(**sizes), {"rho_per_run": rhos, "mean": mean, "ci95": [lo, hi], "runs": len(rhos)},
                 claim.predicted, verdict, claim.statistic)


def flow_check(flows: Sequence[dict], sizes: dict) -> Check:
    """Minibatch DSM SGD on the RF model against the exact flow at τ = lr x steps: max relative K2 difference."""
    claim = CLAIMS["paper-discrete-vs-flow"]

    def worst(f: dict, kind: str, flow: str) -> float:
        return max(abs(a - b) / b for a, b in zip(f[f"K2_{kind}"], f[flow]))

    sgd, gd = [worst(f, "sgd", "K2_flow_sgd") for f in flows], [worst(f, "gd", "K2_flow_gd") for f in flows]
    controls = {f"x{c:g}": [worst(f, "sgd", f"K2_flow_sgd_x{c:g}") for f in flows] for c in TIME_CONTROLS}
    measured = {"max_rel_K2_diff_sgd": sgd, "max_rel_K2_diff_gd": gd,
                "control_max_rel_K2_diff_sgd": controls,
                "max_rel_A_err_sgd": [max(f["A_relerr_sgd"]) for f in flows],
                "max_rel_A_err_gd": [max(f["A_relerr_gd"]) for f in flows],
                "tau_max_sgd": flows[0]["tau_sgd"][-1] if flows else None, "rtol": FLOW_RTOL}
    if not flows:
        verdict = "inconclusive"
    elif max(sgd) > FLOW_RTOL:
        verdict = claim.against
    else:
        verdict = "holds" if all(max(v) > FLOW_RTOL for v in controls.values()) else "inconclusive"
    return Check(claim.id, claim.text(**sizes), measured, claim.predicted, verdict, claim.statistic)


def _mean_curve(runs: Sequence[dict], key: str) -> tuple[list[float], np.ndarray]:
    good = _usable(runs)
    length = min(len(r["records"]) for r in good)
    return ([r["epoch"] for r in good[0]["records"][:length]],
            np.mean([[x[key] for x in r["records"][:length]] for r in good], axis=0))


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
    return density_panels(path, panels, label="epoch {:g}",
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
    checks = [rise_check("paper-fig3-sgd-minimum", result["sgd"], {**base, "lr": d.sgd_lr}),
              rise_check("paper-fig8-adam-minimum", result["adam"], {**base, "lr": d.adam_lr}),
              modes_check(result, {**base, "mu_far": d.mu_far}),
              best_epoch_check(result, {**base, "mu_far": d.mu_far}),
              collapse_check(result, max(d.density_epochs), {**base, "mu_far": d.mu_far, "late": max(d.density_epochs)}),
              width_check(result["width"], d.width_epoch, d.kl_target,
                          {"widths": list(d.widths), "epoch": d.width_epoch, "cap": d.width_cap,
                           "seeds": len(d.width_seeds), "target": d.kl_target}),
              agreement_check(result["sgd"] + result["adam"], base),
              flow_check(result["flow"], {"m": d.flow_m, "lr": d.flow_lr, "rtol": FLOW_RTOL, "seeds": len(d.flow_seeds)})]
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
            epochs, k2 = _mean_curve(result[name], "K2")
            curves = {"K2 (reverse SDE), seed mean": k2, "authors' grid metric, seed mean": _mean_curve(result[name], "grid_kl")[1]}
            for r in _usable(result[name]):
                curves[f"K2 seed {r['task']['seed']}"] = [x["K2"] for x in r["records"][:len(epochs)]]
            paths.append(curves_plot(epochs, curves, None, ctx.figure(f"paper_{name}_curves.png"), "epoch", "KL",
                                     f"{name.upper()} lr {lr:g}, width {d.width}, mu = {d.mu:g} (Fig. {3 if name == 'sgd' else 8})",
                                     logy=True))
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
