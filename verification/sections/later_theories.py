"""Later theories of diffusion generalisation tested in the same exact engine (docs/theory.md §11, §11.1):
memorisation and generalisation times, finite noise draws, two disjoint halves, the d/n crossover, the optimiser
as the regulariser, and KL- against loss-optimal stopping. The d/n and optimiser items are in
:mod:`.later_scaling`."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..output.formats import markdown_table
from empirical.measure.gaussian_floor import gaussian_floor
from empirical.measure.halves import HalvesConfig
from empirical.measure import MeasureConfig, make_target, seeds as draw_seeds
from empirical.rf.features import draw_features
from empirical.rf.noise_draws import gram_spectra

from ..claims.registry import CLAIMS
from ..claims.later import MEMORISED_LEVEL, STOPPING_DECADES
from ..figures import Series, band_plot, color, label, ordered_colors, seed_matrix
from ..figures.plots import figure, save
from ..designs.later_runs import ExactCurves, halves_key, run_curves, run_halves
from ..statistics.later_stats import first_below, memorised_excess, tau_mem
from ..rules import Values
from ..rules.rise import curve_rise
from ..statistics.stats import smooth_argmin
from .base import Context, Section, curve, slopes
from .later_scaling import d_over_n, optimiser


def _dense(taus: tuple[float, ...], per_decade: int = 4) -> tuple[float, ...]:
    """A grid of ``per_decade`` points per decade spanning ``taus``."""
    lo, hi = math.log10(taus[0]), math.log10(taus[-1])
    return tuple(float(t) for t in np.logspace(lo, hi, int(round((hi - lo) * per_decade)) + 1))


def _geo(values) -> float:
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0], dtype=float)
    return float(np.exp(np.mean(np.log(v)))) if v.size else float("nan")


def tau_mem_data(rows: list[dict], tau_max: float) -> Values:
    """memorisation-tau-mem-vs-n's data: per seed, the slope of log τ_mem on log n over the n whose τ_mem lies on
    the grid; beside it the count of censored τ_mem per n, and per seed the slope with each censored τ_mem set to
    the grid's end ``tau_max`` (a lower bound on τ_mem, so a lower bound on the slope when the censored n are the
    largest; NaN for a seed where they are not)."""
    found = [r for r in rows if np.isfinite(r["tau_mem"])]
    censored = {str(k): sum(1 for r in rows if r["n"] == k and not np.isfinite(r["tau_mem"]))
                for k in sorted({r["n"] for r in rows})}
    bounded = slopes([r["n"] for r in rows], [r["tau_mem"] if np.isfinite(r["tau_mem"]) else tau_max for r in rows],
                     [r["seed"] for r in rows])
    ordered = [max([r["n"] for r in found if r["seed"] == s], default=0)
               < min([r["n"] for r in rows if r["seed"] == s and not np.isfinite(r["tau_mem"])], default=np.inf)
               for s in dict.fromkeys(r["seed"] for r in rows)]
    bounds = [v if ok else float("nan") for v, ok in zip(bounded.values, ordered)]
    return slopes([r["n"] for r in found], [r["tau_mem"] for r in found], [r["seed"] for r in found],
                  censored_beyond_grid=censored, slope_with_censored_at_grid_end=bounds)


def memorisation_k1_data(rows: list[dict]) -> Values:
    """noise-draws-memorisation-at-k1's data: per seed, the mean over n of e(k = 1) - e(k = ∞), e the memorised
    excess at the last τ where both laws were measured (``rows`` hold ``n``, ``seed``, ``k`` (None: ∞) and ``taus``,
    ``excess_kept`` on the τ whose law was resolved and not truncated); the differences and that τ per (n, seed) beside
    it."""
    e = {(r["k"], r["n"], r["seed"]): dict(zip(r["taus"], r["excess_kept"])) for r in rows}
    pairs = [(n, s) for (k, n, s) in e if k == 1 and (None, n, s) in e and set(e[(1, n, s)]) & set(e[(None, n, s)])]
    at = {p: max(set(e[(1, *p)]) & set(e[(None, *p)])) for p in pairs}
    diff = {p: e[(1, *p)][at[p]] - e[(None, *p)][at[p]] for p in pairs}
    seeds = list(dict.fromkeys(s for _, s in pairs))
    return Values(tuple(float(np.mean([v for (n, s), v in diff.items() if s == seed])) for seed in seeds),
                  {"excess_k1_minus_inf": [diff[p] for p in pairs], "at_tau": [at[p] for p in pairs],
                   "n": [n for n, _ in pairs], "seed": [s for _, s in pairs]})


def tau_gen_data(rows: list[dict]) -> Values:
    """memorisation-tau-gen-flat's data: per seed, the slope of log τ_gen on log n."""
    return slopes([r["n"] for r in rows], [r["tau_gen"] for r in rows], [r["seed"] for r in rows])


def stopping_data(rows: list[dict]) -> Values:
    """stopping-kl-vs-loss's data: per seed, the mean over n of |log10 τ_gen - log10 τ_loss| (decades); the signed
    differences per (n, seed) beside it."""
    seeds = list(dict.fromkeys(r["seed"] for r in rows))
    gap = {s: [abs(math.log10(r["tau_gen"] / r["tau_loss"])) for r in rows if r["seed"] == s] for s in seeds}
    return Values(tuple(float(np.mean(g)) for g in gap.values()),
                  {"log10_kl_minus_loss": [math.log10(r["tau_gen"] / r["tau_loss"]) for r in rows],
                   "n": [r["n"] for r in rows], "seed": [r["seed"] for r in rows]})


def rise_data(rise: dict, seeds) -> Values:
    """noise-draws-rise-at-k1's data: per seed, log(1 + rise at k = 1) - log(1 + rise at k = ∞) from ``rise``
    keyed by (k, seed), k None for ∞."""
    by_k = {("inf" if k is None else str(k)): [rise[(k, s)] for s in seeds] for k in dict.fromkeys(k for k, _ in rise)}
    return Values(tuple(math.log1p(rise[(1, s)]) - math.log1p(rise[(None, s)]) for s in seeds), {"rise_by_k": by_k})


def halves_data(rows: list[dict]) -> Values:
    """halves-converge's data: per seed, the slope of log D on log n; beside it, per seed, the smallest n of the
    sweep from which D stays below the better half's K1 - KL(p_T‖π)."""
    seeds = list(dict.fromkeys(r["seed"] for r in rows))
    agree = {str(s): first_below(*([r[k] for r in rows if r["seed"] == s] for k in ("n", "D", "K1_halves")))
             for s in seeds}
    return slopes([r["n"] for r in rows], [r["D"] for r in rows], [r["seed"] for r in rows],
                  n_halves_agree_better_by_seed=agree)


def memorisation(ctx: Context) -> tuple[list, list, dict]:
    """The memorisation sweep: K2 and the exact memorised fraction at each τ (1-D), the held-out loss along the
    flow on a dense grid; τ_gen, τ_mem, τ of the least held-out loss per (n, seed). Checks memorisation-*,
    stopping-kl-vs-loss."""
    L, seeds = ctx.scale.later, ctx.scale.seeds
    configs = [MeasureConfig(n=n, m=L.mem_m, taus=L.mem_taus, kl=("K1", "K2"), m_ref_factor=0, memorisation=True,
                             seed=s) for n in L.mem_ns for s in seeds]
    res = ctx.run(configs, "later theories: memorisation (K2, memorised fraction)")
    tasks = [ExactCurves(n=c.n, m=c.m, seed=c.seed, taus=_dense(L.mem_taus)) for c in configs]
    flows = ctx.runner.run_tasks(run_curves, tasks, [t.key() for t in tasks], "later",
                                 "later theories: held-out loss along the flow")
    rows = [{**_memorised_row(r), "tau_loss": smooth_argmin(np.asarray(f["tau"]), np.asarray(f["heldout_loss"])),
             "tau_es_K1": smooth_argmin(np.asarray(f["tau"]), np.asarray(f["K1"]))} for r, f in zip(res, flows)]
    finite = [k for k in L.noise_ks if k is not None]
    k_configs = [replace(c, noise_draws=k, taus=L.mem_k_taus) for k in finite for c in configs]
    k_rows = [_memorised_row(r, L.mem_k_taus) for r in res]  # k = infinity: the same exact flows, on the k grid
    k_rows += [_memorised_row(r) for r in ctx.run(k_configs, "later theories: memorisation with k noise draws")]
    censored = {str(k): sum(1 for r in rows if r["n"] == k and not np.isfinite(r["tau_mem"])) for k in L.mem_ns}
    sizes = {"m": L.mem_m, "ns": list(L.mem_ns)}
    checks = [ctx.judge("memorisation-tau-mem-vs-n", tau_mem_data(rows, L.mem_taus[-1]), level=MEMORISED_LEVEL,
                        **sizes),
              ctx.judge("memorisation-tau-gen-flat", tau_gen_data(rows), margin=CLAIMS["memorisation-tau-gen-flat"]
                        .predicted["within"], **sizes),
              ctx.judge("stopping-kl-vs-loss", stopping_data(rows), decades=STOPPING_DECADES, **sizes),
              ctx.judge("noise-draws-memorisation-at-k1", memorisation_k1_data(k_rows), **sizes)]
    by_k = [{"k": "inf" if k is None else k, **{f"tau_mem n = {n}": _geo(r["tau_mem"] for r in k_rows
                                                                           if r["k"] == k and r["n"] == n)
                                                 for n in L.mem_ns},
             "tau_mem beyond grid": sum(1 for r in k_rows if r["k"] == k and not np.isfinite(r["tau_mem"])),
             "memorised excess at the last tau (mean)": float(np.mean([r["excess_kept"][-1] for r in k_rows
                                                                        if r["k"] == k]))}
            for k in [None, *finite]]
    floor = gaussian_floor(make_target(configs[0]))
    table = [{"n": k, "tau_gen (geo. mean)": _geo(r["tau_gen"] for r in rows if r["n"] == k),
              "tau_mem (geo. mean of found)": _geo(r["tau_mem"] for r in rows if r["n"] == k),
              "tau_mem beyond grid": censored[str(k)],
              "tau of least held-out loss": _geo(r["tau_loss"] for r in rows if r["n"] == k),
              "tau_es of K1": _geo(r["tau_es_K1"] for r in rows if r["n"] == k),
              "least K2": float(np.mean([r["K2_min"] for r in rows if r["n"] == k])),
              "p0's memorised fraction": float(np.mean([r["fraction_p0"] for r in rows if r["n"] == k]))}
             for k in L.mem_ns]
    cols = ordered_colors(len(L.mem_ns))
    by_n = {k: [r for r in rows if r["n"] == k] for k in L.mem_ns}
    paths = [band_plot(L.mem_taus, [Series(f"n = {k}", np.array([r["excess"] for r in by_n[k]]), cols[i], "minmax")
                                    for i, k in enumerate(L.mem_ns)], ctx.figure("memorised_fraction.png"),
                       label("tau"), label("share", "memorised excess (f - f0)/(1 - f0)"),
                       f"Memorised fraction beyond p0's own (m = {L.mem_m})", logx=True, logy=False,
                       references={f"level {MEMORISED_LEVEL:g} (tau_mem)": [MEMORISED_LEVEL] * len(L.mem_taus)}),
             band_plot(L.mem_taus, [Series(f"n = {k}", np.array([r["K2"] for r in by_n[k]]), cols[i], "minmax")
                                    for i, k in enumerate(L.mem_ns)], ctx.figure("later_K2_tau.png"), label("tau"),
                       label("kl", "sampler KL K2"), f"K2 over training time (m = {L.mem_m})", logx=True, logy=True,
                       references={f"Gaussian floor KL(p0||N(0, 1 + mu^2)) = {floor:.3f}": [floor] * len(L.mem_taus)})]
    text = (f"**Memorisation and stopping** (1-D two-mode mixture mu = 3, m = {L.mem_m}, n = {list(L.mem_ns)}, "
            f"seeds {list(seeds)}; K2 and the memorised fraction exactly at tau = {L.mem_taus[0]:g} ... "
            f"{L.mem_taus[-1]:g}, one per decade or finer). A draw is memorised when its nearest training point is "
            "closer than 1/3 of the second nearest; in 1-D about a third of p0's own draws are, so the fraction f is "
            f"read against p0's f0. tau_mem: the first tau at or after the K2 minimum where (f - f0)/(1 - f0) >= "
            f"{MEMORISED_LEVEL:g}; beyond the grid it is censored and left out of the slope (counted). tau_gen: the "
            "smooth argmin of K2. The held-out denoising loss is the population loss (7) along the same flow "
            "(exact; on a grid of 4 taus per decade). The Gaussian floor KL(p0 || N(0, 1 + mu^2)) = "
            f"{floor:.4f} nats (arXiv 2608.23938: 0.46) is the K2 of a model that learns only p0's two moments."
            + (f" With each censored tau_mem set to the grid's end {L.mem_taus[-1]:g} (a lower bound), the per-seed "
               "slopes of log tau_mem on log n are at least "
               + ", ".join(f"{v:.2f}" for v in checks[0].measured.get("slope_with_censored_at_grid_end", [])) + "."
               if any(censored.values()) else "") + "\n\n" + markdown_table(table, list(table[0]))
            + "\n\nThe same sweep with k noise draws per training point (the finite-k loss, `diffgen measure "
              "--noise-draws K`; same samples and features; tau_mem as above, geometric mean over seeds of the found "
              "ones):\n\n" + markdown_table(by_k, list(by_k[0])))
    return checks, [text, *paths], {"memorisation": {"rows": rows, "taus": list(L.mem_taus), "gaussian_floor": floor,
                                                     "by_k": [{k: r[k] for k in ("k", "n", "seed", "tau_mem", "taus",
                                                                                 "excess_kept")} for r in k_rows]}}


def _memorised_row(r, on: tuple[float, ...] | None = None) -> dict:
    """τ_gen, τ_mem and the memorised excess of one 1-D memorisation measurement (K2 and the exact fraction), read
    on the τ whose K2 law was not truncated and whose K2 is finite (an overfitted score's law can vanish where p0 has
    mass: K2 = +inf, which has no argmin to smooth), and only those of ``on`` when given (the flows are exact, so a
    measurement on a finer grid gives, at the τ of ``on``, the numbers of one made on ``on``)."""
    tau, k2 = curve(r, "K2")
    chosen = np.isfinite(k2) & (True if on is None else np.isin(tau, on))
    tau, k2 = tau[chosen], k2[chosen]
    on_grid = np.ones(r.taus.size, dtype=bool) if on is None else np.isin(r.taus, on)
    keep = np.isin(r.taus[on_grid], tau)
    frac = np.asarray(r.memorised_fraction)[on_grid]
    ref = float(r.quantities["memorised_fraction_target"])
    start = int(np.argmin(k2)) if k2.size else 0
    excess = memorised_excess(frac, ref)
    return {"n": r.config.n, "seed": r.config.seed, "k": r.config.noise_draws,
            "tau_gen": smooth_argmin(tau, k2) if k2.size >= 3 else float("nan"), "K2_min": float(np.min(k2)),
            "tau_mem": tau_mem(tau, frac[keep], ref, start, MEMORISED_LEVEL),
            "fraction_p0": ref, "excess": excess.tolist(), "taus": tau.tolist(), "excess_kept": excess[keep].tolist(),
            "K2": np.asarray(r.K["K2"])[on_grid].tolist(), "truncated": int(np.sum(~keep))}


def memorisation_d(ctx: Context) -> tuple[list, list, dict]:
    """The memorisation sweep in d dimensions: K1 and the sampled memorised fraction at each τ; τ_mem per (n, seed)
    from the K1 minimum on. Check memorisation-tau-mem-vs-n-d."""
    L, seeds = ctx.scale.later, ctx.scale.seeds
    configs = [MeasureConfig(n=n, m=L.memd_m, d=L.memd_d, taus=L.memd_taus, kl=("K1",), m_ref_factor=0,
                             memorisation=True, memorisation_samples=L.memd_samples, seed=s)
               for n in L.memd_ns for s in seeds]
    res = ctx.run(configs, f"later theories: memorisation in d = {L.memd_d} (sampled)")
    rows = []
    for r in res:
        ref = float(r.quantities["memorised_fraction_target"])
        start = int(np.argmin(r.K["K1"]))
        rows.append({"n": r.config.n, "seed": r.config.seed, "fraction_p0": ref,
                     "tau_mem": tau_mem(r.taus, r.memorised_fraction, ref, start, MEMORISED_LEVEL),
                     "excess": memorised_excess(r.memorised_fraction, ref).tolist(),
                     "se": np.asarray(r.standard_errors["memorised_fraction"]).tolist()})
    sizes = {"d": L.memd_d, "m": L.memd_m, "ns": list(L.memd_ns)}
    checks = [ctx.judge("memorisation-tau-mem-vs-n-d", tau_mem_data(rows, L.memd_taus[-1]), level=MEMORISED_LEVEL,
                        samples=L.memd_samples, **sizes)]
    censored = {n: sum(1 for r in rows if r["n"] == n and not np.isfinite(r["tau_mem"])) for n in L.memd_ns}
    table = [{"n": n, "tau_mem (geo. mean of found)": _geo(r["tau_mem"] for r in rows if r["n"] == n),
              "tau_mem beyond grid": censored[n],
              "memorised excess at the last tau": float(np.mean([r["excess"][-1] for r in rows if r["n"] == n])),
              "largest standard error of the excess": float(max(r["se"][-1] for r in rows if r["n"] == n)) / (
                  1.0 - float(np.mean([r["fraction_p0"] for r in rows if r["n"] == n]))),
              "p0's memorised fraction": float(np.mean([r["fraction_p0"] for r in rows if r["n"] == n]))}
             for n in L.memd_ns]
    cols = ordered_colors(len(L.memd_ns))
    path = band_plot(L.memd_taus, [Series(f"n = {n}", np.array([r["excess"] for r in rows if r["n"] == n]), cols[i],
                                          "minmax") for i, n in enumerate(L.memd_ns)],
                     ctx.figure("memorised_fraction_d.png"), label("tau"),
                     label("share", "memorised excess (f - f0)/(1 - f0)"),
                     f"Memorised fraction beyond p0's own, d = {L.memd_d} (m = {L.memd_m}, sampled)", logx=True,
                     logy=False, references={f"level {MEMORISED_LEVEL:g} (tau_mem)": [MEMORISED_LEVEL] * len(L.memd_taus)})
    text = (f"**Memorisation in d = {L.memd_d}** (two-mode mixture mu = 3 along e1, m = {L.memd_m}, n = "
            f"{list(L.memd_ns)}, seeds {list(seeds)}). The memorised fractions of the reverse-SDE sampler and of "
            f"p0 are sampled ({L.memd_samples} draws per tau, Euler-Maruyama; binomial standard errors), tau_mem "
            "read from the K1 minimum on (K2 is exact only in 1-D), censored beyond the grid as in 1-D.\n\n"
            + markdown_table(table, list(table[0])))
    return checks, [text, path], {"memorisation_d": {"rows": rows, "taus": list(L.memd_taus)}}


def noise_draws(ctx: Context) -> tuple[list, list, dict]:
    """K1 curves with k noise draws per point (k = ∞ exact), the late rise per k; Gram spectra at one t."""
    s, L = ctx.scale, ctx.scale.later
    configs = [MeasureConfig(n=L.noise_n, m=L.noise_m, taus=s.taus, kl=("K1",), m_ref_factor=0, noise_draws=k,
                             seed=seed) for k in L.noise_ks for seed in s.seeds]
    res = ctx.run(configs, "later theories: finite noise draws (K1)")
    rise = {(r.config.noise_draws, r.config.seed): float(curve_rise(r.K["K1"])[0]) for r in res}
    data = rise_data(rise, s.seeds)
    per_k = data.extra["rise_by_k"]
    checks = [ctx.judge("noise-draws-rise-at-k1", data, n=L.noise_n, m=L.noise_m)]
    key = {"kind": "gram-spectra", "later": 1, "n": L.noise_n, "m": L.noise_m, "ks": [k or 0 for k in L.noise_ks],
           "t": L.noise_t, "seed": s.seeds[0]}

    def compute() -> dict:
        c = configs[0]
        data_rng, feature_seed = draw_seeds(c.seed)
        x = make_target(c).sample(c.n, data_rng)
        spectra = gram_spectra(x, draw_features(c.m, 1, feature_seed, T=c.T), L.noise_ks, seed=c.seed, t=L.noise_t)
        return {("inf" if k is None else str(k)): v.tolist() for k, v in spectra.items()}

    spectra = ctx.runner.cached(key, compute)
    ranks = {k: int(np.sum(np.asarray(v) > 1e-10 * max(v))) for k, v in spectra.items()}
    fig, ax = figure(label("count", "eigenvalue index"), label("loss7", "eigenvalue of B1"),
                     f"Gram spectra at t = {L.noise_t:g} (n = {L.noise_n}, m = {L.noise_m}, seed {s.seeds[0]})",
                     logx=True, logy=True)
    for (k, v), c in zip(spectra.items(), ordered_colors(len(spectra))):
        v = np.asarray(v)
        ax.plot(np.arange(1, v.size + 1)[v > 0], v[v > 0], color=c, label=f"k = {k} (rank {ranks[k]})")
    path = save(fig, ax, ctx.figure("gram_spectra.png"))
    ks = list(per_k)
    k1 = {k: np.array([[float(v) for v in r.K["K1"]] for r in res if str(r.config.noise_draws or "inf") == k])
          for k in ks}
    curves = band_plot(s.taus, [Series(f"k = {k}", k1[k], c, "minmax") for k, c in zip(ks, ordered_colors(len(ks)))],
                       ctx.figure("noise_draws_K1.png"), label("tau"), label("kl", "K1"),
                       f"K1 with k noise draws per point (n = {L.noise_n}, m = {L.noise_m})", logx=True, logy=True)
    table = [{"k": k, "late rise of K1 (mean over seeds)": float(np.mean(per_k[k])),
              f"Gram rank at t = {L.noise_t:g}": ranks[k]} for k in ks]
    text = (f"**Finite noise draws** (n = {L.noise_n}, m = {L.noise_m}, k = {ks}; the engine is exact in the noise, "
            "k = inf). The late rise is (K1(tau_max) - min K1)/min K1 on the dense tau grid, same sample and "
            "features for every k. The Gram spectra of the empirical loss at one diffusion time (where the "
            "two-bulk theory applies) have rank at most n k (numerical rank above 1e-10 of the largest in the table); "
            "no gap separates two bulks in 1-D, and no verdict is given on them.\n\n"
            + markdown_table(table, list(table[0])))
    return checks, [text, curves, path], {"noise_draws": {"rise": per_k, "gram_ranks": ranks, "spectra": spectra}}


def two_halves(ctx: Context) -> tuple[list, list, dict]:
    """The two-halves sweep in n: D at the last τ, K1 of each half, the KL between the samplers."""
    L, seeds = ctx.scale.later, ctx.scale.seeds
    configs = [HalvesConfig(n=n, m=L.halves_m, taus=L.halves_taus, seed=s) for n in L.halves_ns for s in seeds]
    res = ctx.runner.run_tasks(run_halves, configs, [halves_key(c) for c in configs], "later",
                               "later theories: two halves")
    rows = [{"n": c.n, "seed": c.seed, "D": r["score_distance"][-1],
             "K1_halves": min(r["K1_half1"][-1], r["K1_half2"][-1]) - r["kl_prior"],
             "kl_between": r.get("kl_between", [float("nan")])[-1]} for c, r in zip(configs, res)]
    tau = L.halves_taus[-1]
    data = halves_data(rows)
    agree = data.extra["n_halves_agree_better_by_seed"]
    checks = [ctx.judge("halves-converge", data, tau=f"{tau:g}", ns=list(L.halves_ns), m=L.halves_m)]
    x, d = seed_matrix([r["n"] for r in rows], [r["D"] for r in rows], [r["seed"] for r in rows])
    _, k = seed_matrix([r["n"] for r in rows], [r["K1_halves"] for r in rows], [r["seed"] for r in rows])
    path = band_plot(x, [Series("score distance D of the halves", d, color("K2")),
                         Series("K1 - KL(p_T||pi), the better half", k, color("K1"))],
                     ctx.figure("halves_n.png"), label("n"), label("kl"), f"Two halves at tau = {tau:g}", logx=True,
                     logy=True)
    table = [{"n": n, "D": float(np.mean([r["D"] for r in rows if r["n"] == n])),
              "K1 - KL(p_T||pi), better half": float(np.mean([r["K1_halves"] for r in rows if r["n"] == n])),
              "KL(q1 || q2)": float(np.mean([r["kl_between"] for r in rows if r["n"] == n]))} for n in L.halves_ns]
    text = (f"**Two halves** (m = {L.halves_m}, tau = {tau:g}; each half holds n/2 points, the same features). "
            "D = 1/2 int g^2 E_{p_t}|s1 - s2|^2 dt, K1's weighting; beside it each half's K1 less KL(p_T||pi) (the "
            "same integral against the true score). Smallest n of the sweep from which the halves agree better with "
            f"each other than the better one with p0 (D < K1 - KL), per seed: {agree}.\n\n"
            + markdown_table(table, list(table[0])))
    mnist_checks, mnist_content, mnist_data = _mnist_halves(ctx)
    return ([*checks, *mnist_checks], [text, path, *mnist_content],
            {"halves": {"rows": rows, "tau": tau, "n_agree_better": agree, "mnist": mnist_data}})


def mnist_halves_data(result: dict) -> Values:
    """halves-converge-mnist's data: per seed, the mean over the nearest and the farthest pair of the slope of log D
    at the last τ on log n; the slopes per pair beside it."""
    slope = {name: [float(np.polyfit(np.log(r["n"]), np.log([row[-1] for row in r["score_distance"]]), 1)[0])
                    for r in result[name]] for name in ("near", "far")}
    return Values(tuple((a + b) / 2 for a, b in zip(slope["near"], slope["far"])),
                  {"slope_nearest_pair": slope["near"], "slope_farthest_pair": slope["far"]})


def _mnist_halves(ctx: Context) -> tuple[list, list, dict]:
    """Two halves on the MNIST nearest and farthest pair (the scale's first MNIST design). Check
    halves-converge-mnist."""
    from ..designs.mnist import halves_experiment

    design, fractions = ctx.scale.mnist_designs[0], ctx.scale.later.halves_mnist_fractions
    result = halves_experiment(ctx.runner, design, fractions)
    data = mnist_halves_data(result)
    first = result["near"][0]
    tau = first["tau"][-1]
    checks = [ctx.judge("halves-converge-mnist", data, tau=f"{tau:g}", ns=first["n"], K=design.K, d=design.d,
                        m=design.m)]
    series = [Series(f"{name} pair {result['pairs'][i]}",
                     np.array([[row[-1] for row in r["score_distance"]] for r in result[key]]), c)
              for i, (name, key, c) in enumerate((("nearest", "near", color("K1")), ("farthest", "far", color("K2"))))]
    path = band_plot(first["n"], series, ctx.figure("halves_mnist_n.png"), label("n"),
                     label("kl", "score distance D of the halves"),
                     f"Two halves on MNIST pairs at tau = {tau:g} (K = {design.K}, d = {design.d}, m = {design.m})",
                     logx=True, logy=True)
    table = [{"n": n, **{f"D, {name} pair": float(np.mean([r["score_distance"][i][-1] for r in result[key]]))
                         for name, key in (("nearest", "near"), ("farthest", "far"))}}
             for i, n in enumerate(first["n"])]
    text = (f"**Two halves on real digits** (MNIST nearest pair {result['pairs'][0]} and farthest pair "
            f"{result['pairs'][1]} of the K = {design.K} clustering, {result['size']} digits per subset, the pair's "
            f"split and PCA basis of the MNIST section, d = {design.d}, m = {design.m}, tau = {tau:g}). The first n "
            "training digits are cut into halves; D weights the two scores' difference by the pair's held-out digits "
            "(noised exactly), since p0 is known only through them. Per-seed slopes of log D on log n: nearest "
            + ", ".join(f"{v:.2f}" for v in data.extra["slope_nearest_pair"]) + "; farthest "
            + ", ".join(f"{v:.2f}" for v in data.extra["slope_farthest_pair"]) + ".\n\n"
            + markdown_table(table, list(table[0])))
    return checks, [text, path], {"result": {k: result[k] for k in ("pairs", "size")},
                                  "n": first["n"], "tau": tau,
                                  "D_last_tau": {k: [[row[-1] for row in r["score_distance"]] for r in result[k]]
                                                 for k in ("near", "far")}}


def later_theories(ctx: Context) -> Section:
    """Every item of docs/theory.md §11.1 with its claims (verification.claims, ids memorisation-*, noise-draws-*,
    halves-*, d-over-n-*, optimiser-*, stopping-*)."""
    checks, content, data = [], [], {}
    for item in (memorisation, memorisation_d, noise_draws, two_halves, d_over_n, optimiser):
        c, text, d = item(ctx)
        checks += c
        content += text
        data.update(d)
    return Section("Later theories (docs/theory.md §11)", tuple(content), tuple(checks), {"later_theories": data})
