"""The later-theories section (docs/theory.md §11): the Gaussian floor against independent evaluations, the exact
curves against the measurement and the score distance, the memorisation statistics, every claim passing and
failing on synthetic data through the section's own data builders, the optimiser arms' store keys, and the
section returning all its claims on a tiny design."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from empirical.rf.features import draw_features
from empirical.measure.gaussian_floor import gaussian_floor
from empirical.measure.halves import score_distance
from empirical.rf.loss import population_loss
from empirical.measure import make_target, measure, seeds
from empirical.rf.flow import gradient_flow
from empirical.rf.loss import empirical_loss
from empirical.targets import gaussian, two_mode
from verification.store.cache import ResultCache
from verification.claims import CLAIMS
from verification.claims.later import MEMORISED_LEVEL
from verification.designs.later_runs import ExactCurves, LaterDesign, optimiser_runs, run_curves
from verification.designs.mnist import Design
from verification.statistics.later_stats import first_below, log_crossing, memorised_excess, tau_mem
from empirical.training.paper_runs import PaperRun
from verification.designs.paper_runs import PaperDesign, runs
from verification.store.runner import Runner
import importlib

later = importlib.import_module("verification.sections.later_theories")  # the package exports a function of that name
scaling = importlib.import_module("verification.sections.later_scaling")
from verification.sections.base import Context
from verification.designs.sweeps import QUICK
from verification.verdicts import VERDICTS

LATER_CLAIMS = [c for c in CLAIMS if CLAIMS[c].section == "later_theories"]
PREFIXES = ("memorisation-", "noise-draws-", "halves-", "d-over-n-", "optimiser-", "stopping-")


def _ctx(tmp_path, **scale) -> Context:
    return Context(replace(QUICK, replicates=400, **scale), tmp_path,
                   Runner(ResultCache(tmp_path / "store"), show_progress=False))


# ---------------------------------------------------------------- the Gaussian floor


def _floor_by_monte_carlo(mu: float, draws: int = 2_000_000) -> tuple[float, float]:
    """E log p0(x) - log N(x; 0, 1 + mu^2) over x ~ p0, with its standard error (an independent evaluation)."""
    rng = np.random.default_rng(1)
    x = rng.choice([-mu, mu], size=draws) + rng.standard_normal(draws)
    logp = np.logaddexp(stats.norm.logpdf(x, -mu, 1.0), stats.norm.logpdf(x, mu, 1.0)) - math.log(2.0)
    v = logp - stats.norm.logpdf(x, 0.0, math.sqrt(1.0 + mu * mu))
    return float(v.mean()), float(v.std() / math.sqrt(draws))


@pytest.mark.parametrize("mu", [0.5, 2.5, 3.0])
def test_the_gaussian_floor_agrees_with_monte_carlo(mu):
    value, se = _floor_by_monte_carlo(mu)
    assert abs(gaussian_floor(two_mode(mu)) - value) < 4 * se + 1e-6


def test_the_gaussian_floor_has_the_separated_limit_and_the_papers_numbers():
    """For separated modes the entropy is log 2 + ½ log(2 pi e): the floor is ½ log(1 + mu²) - log 2 (the overlap
    is e^-50 at mu = 10); arXiv 2608.23938 quotes 0.31, 0.46 and 1.61 nats at mu = 2.5, 3, 10."""
    assert gaussian_floor(two_mode(10.0)) == pytest.approx(0.5 * math.log(101.0) - math.log(2.0), rel=1e-9)
    assert [round(gaussian_floor(two_mode(mu)), 2) for mu in (2.5, 3.0, 10.0)] == [0.31, 0.46, 1.61]
    assert gaussian_floor(gaussian(-1.0, 3.0)) < 1e-9  # a Gaussian target is its own best Gaussian
    with pytest.raises(ValueError, match="t must"):
        gaussian_floor(two_mode(3.0), t=-1.0)


# ---------------------------------------------------------------- exact curves


def test_exact_curves_are_the_measurements_K1_and_the_excess_is_the_score_distance_to_the_optimum():
    task = ExactCurves(n=12, m=24, seed=3, taus=(1.0, 1e3, 1e6))
    r = run_curves(task)
    c = task.config()
    assert np.allclose(r["K1"], measure(c).K["K1"], rtol=1e-10, atol=0)
    target = make_target(c)
    data_rng, fs = seeds(c.seed)
    x = target.sample(c.n, data_rng)
    f = draw_features(c.m, 1, fs, T=c.T)
    g2 = population_loss(target, f, "g2")
    A = gradient_flow(empirical_loss(x, f, target.sde, "std"), np.asarray(c.taus))
    distance = score_distance(g2, A, np.broadcast_to(g2.minimizer(), A.shape))
    assert np.allclose(np.asarray(r["K1"]) - r["K1_star"], distance, rtol=1e-6, atol=1e-10)
    std = population_loss(target, f, "std")
    assert np.allclose(r["heldout_loss"], std.value(A), rtol=1e-12)


# ---------------------------------------------------------------- memorisation statistics


def test_tau_mem_is_the_first_crossing_after_the_start_and_nan_when_censored():
    taus = [1e2, 1e3, 1e4, 1e5, 1e6]
    f = [0.5, 0.2, 0.25, 0.3, 0.45]  # above the level before the start (a misfit), then rising
    # excess (f - 0.2)/0.8: [0.375, 0, 0.0625, 0.125, 0.3125]; from index 1 the first >= 0.05 is index 2, between
    # 1e3 (0) and 1e4 (0.0625) at 0.8 of the way in log: 10^3.8
    assert tau_mem(taus, f, 0.2, start=1, level=0.05) == pytest.approx(10 ** 3.8, rel=1e-12)
    assert math.isnan(tau_mem(taus, [0.2] * 5, 0.2, start=0, level=0.05))
    assert log_crossing(taus, [0.1] * 5, 0.05, start=2) == 1e4  # already above at the start: the start itself
    assert memorised_excess([0.2], 0.2)[0] == 0.0
    with pytest.raises(ValueError, match="reference"):
        memorised_excess([0.5], 1.0)
    with pytest.raises(ValueError, match="taus"):
        log_crossing([1.0, 1.0], [0.0, 1.0], 0.5)


def test_first_below_needs_the_halves_to_stay_below():
    assert first_below([16, 64, 256], [0.1, 0.5, 0.01], [0.2, 0.1, 0.02]) == 256.0
    assert math.isnan(first_below([16, 64], [0.1, 0.5], [0.2, 0.1]))
    assert first_below([16, 64], [0.1, 0.05], [0.2, 0.1]) == 16.0


# ---------------------------------------------------------------- every claim passes and fails on synthetic data


def _noise(rng, size, sd=0.1):
    return np.exp(sd * rng.standard_normal(size))


def _mem_rows(tau_of_n, gen_of_n, loss_of_n, ns=(4, 8, 16, 32), seeds=(0, 1, 2, 3, 4), rng=None):
    rng = rng or np.random.default_rng(0)
    return [{"n": n, "seed": s, "tau_mem": tau_of_n(n) * _noise(rng, 1)[0], "tau_gen": gen_of_n(n) * _noise(rng, 1)[0],
             "tau_loss": loss_of_n(n) * _noise(rng, 1)[0]} for s in seeds for n in ns]


def test_the_memorisation_claims_pass_and_fail(tmp_path):
    """tau_mem ~ n passes, tau_mem ~ n^4 fails; a flat tau_gen passes, tau_gen ~ n fails; censored tau_mem are
    left out of the slope and bound it from below."""
    ctx = _ctx(tmp_path)
    sizes = {"m": 256, "ns": [4, 8, 16, 32], "level": MEMORISED_LEVEL, "margin": 0.2}
    good = _mem_rows(lambda n: 1e3 * n, lambda n: 1e4, lambda n: 1e4)
    bad = _mem_rows(lambda n: 10.0 * n ** 4, lambda n: 1e2 * n, lambda n: 1e2 * n)
    judge = lambda cid, data: ctx.judge(cid, data, **sizes).verdict  # noqa: E731
    assert judge("memorisation-tau-mem-vs-n", later.tau_mem_data(good, 1e12)) == "consistent"
    assert judge("memorisation-tau-mem-vs-n", later.tau_mem_data(bad, 1e12)) == "mechanism-not-observed"
    assert judge("memorisation-tau-gen-flat", later.tau_gen_data(good)) == "consistent"
    assert judge("memorisation-tau-gen-flat", later.tau_gen_data(bad)) == "mechanism-not-observed"
    censored = [dict(r, tau_mem=float("nan")) if r["n"] == 32 else r for r in bad]
    data = later.tau_mem_data(censored, 1e5)
    assert data.extra["censored_beyond_grid"] == {"4": 0, "8": 0, "16": 0, "32": 5}
    assert np.allclose(data.values, later.tau_mem_data([r for r in bad if r["n"] < 32], 1e5).values)
    assert all(b < v for b, v in zip(data.extra["slope_with_censored_at_grid_end"], data.values))  # 1e5 < 10 * 32^4


def test_the_stopping_claim_passes_and_fails(tmp_path):
    """The KL-optimal tau a decade and a half from the loss-optimal one passes; the two within a factor 1.3 fail."""
    ctx = _ctx(tmp_path)
    apart = _mem_rows(lambda n: 1.0, lambda n: 1e4 * n, lambda n: 10 ** 2.5 * n)
    close = _mem_rows(lambda n: 1.0, lambda n: 1e4 * n, lambda n: 1.3e4 * n)
    sizes = {"m": 256, "ns": [4, 8, 16, 32], "decades": 0.5}
    assert ctx.judge("stopping-kl-vs-loss", later.stopping_data(apart), **sizes).verdict == "consistent"
    assert ctx.judge("stopping-kl-vs-loss", later.stopping_data(close), **sizes).verdict == "mechanism-not-observed"


def test_the_noise_draws_claim_passes_and_fails(tmp_path):
    """A K1 rise that vanishes at k = 1 passes; one that doubles at k = 1 fails."""
    ctx, seeds = _ctx(tmp_path), (0, 1, 2, 3)
    rng = np.random.default_rng(2)
    smaller = {**{(None, s): 0.8 + 0.05 * rng.standard_normal() for s in seeds},
               **{(1, s): 0.02 + 0.01 * rng.random() for s in seeds}}
    larger = {**{(None, s): 0.8 + 0.05 * rng.standard_normal() for s in seeds},
              **{(1, s): 3.0 + 0.3 * rng.standard_normal() for s in seeds}}
    judge = lambda rise: ctx.judge("noise-draws-rise-at-k1", later.rise_data(rise, seeds), n=32, m=256).verdict  # noqa: E731
    assert judge(smaller) == "consistent"
    assert judge(larger) == "mechanism-not-observed"


def test_the_halves_claim_passes_and_fails(tmp_path):
    """D ~ 1/n passes (and the halves agree better than with p0 from the n where D falls below K1); D ~ n^0.7
    fails."""
    ctx, rng = _ctx(tmp_path), np.random.default_rng(3)
    ns = (16, 64, 256, 1024)
    rows = lambda p: [{"n": n, "seed": s, "D": 10.0 * n ** p * _noise(rng, 1)[0], "K1_halves": 0.8 * n ** -0.5}  # noqa: E731
                      for s in range(4) for n in ns]
    sizes = {"tau": "1e8", "ns": list(ns), "m": 256}
    good = later.halves_data(rows(-1.0))
    assert ctx.judge("halves-converge", good, **sizes).verdict == "consistent"
    assert set(good.extra["n_halves_agree_better_by_seed"].values()) == {256.0}  # 10/n < 0.8/sqrt(n) from n > 156
    assert ctx.judge("halves-converge", later.halves_data(rows(0.7)), **sizes).verdict == "mechanism-not-observed"


def _dn_rows(excess, ns, ds, seeds=(0, 1, 2, 3), growth=lambda d: d ** 1.5, rng=None):
    rng = rng or np.random.default_rng(4)
    return [{"n": n, "d": d, "seed": s, "excess": excess(n, d) * _noise(rng, 1, 0.05)[0],
             "K1_excess": growth(d) * _noise(rng, 1, 0.05)[0]} for s in seeds for n in ns for d in ds]


def test_the_d_over_n_claims_pass_and_fail(tmp_path):
    """K1 excess ~ d/n passes both rates; ~ n^-0.4 flat in d fails both; the growth part passes on a power of d and
    fails on an exponential."""
    ctx = _ctx(tmp_path)
    sizes = {"d": 8, "ns": [16, 64, 256], "m": 64, "n": 1024, "ds": [2, 4, 8, 16, 32, 64, 128]}
    ns, ds = (4, 16, 64, 256, 1024), (2, 4, 8, 16, 32, 64, 128, 2048)
    good = scaling.d_over_n_data(_dn_rows(lambda n, d: d / n, ns, (8,)), _dn_rows(lambda n, d: d / n, (1024,), ds))
    bad = scaling.d_over_n_data(_dn_rows(lambda n, d: n ** -0.4, ns, (8,)),
                                _dn_rows(lambda n, d: 0.1, (1024,), ds, growth=lambda d: np.exp(0.1 * d)))
    for cid in ("d-over-n-rate-n", "d-over-n-rate-d"):
        assert ctx.judge(cid, good[cid], **sizes).verdict == "consistent", cid
        assert ctx.judge(cid, bad[cid], **sizes).verdict == "mechanism-not-observed", cid
    assert good["d-over-n-rate-d"].extra["points"] == 4 * 7  # d <= n/2 only
    assert set(good["d-over-n-dimension-n8d"].d) == {2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0}  # n >= 8d only
    assert ctx.judge("d-over-n-dimension-n8d", good["d-over-n-dimension-n8d"], **sizes).verdict == "consistent"
    assert ctx.judge("d-over-n-dimension-n8d", bad["d-over-n-dimension-n8d"], **sizes).verdict == "violated"


def _runs(seeds, epochs, shape, rng):
    e = np.linspace(0, epochs, 101)
    return [{"task": {"seed": s}, "diverged": False,
             "records": [{"epoch": float(x), "K2": float(v)} for x, v in zip(e, shape(e / epochs) * _noise(rng, e.size))]}
            for s in seeds]


def test_the_optimiser_claim_passes_and_fails(tmp_path):
    """A 3x rise after mid-run in every arm passes; one arm that keeps falling (full batch) fails the conjunction."""
    ctx, rng = _ctx(tmp_path), np.random.default_rng(5)
    arms = optimiser_runs(QUICK.paper, (0.5, 0.1), (0, 1, 2))
    rise = lambda u: np.exp(np.log(3) * np.clip((u - 0.5) / 0.35, 0, 1))  # noqa: E731
    fall = lambda u: np.exp(-3 * u)  # noqa: E731
    sizes = {"lrs": [0.5, 0.1], "width": 16, "n": 1000, "mu": 3.0, "seeds": 3}
    found = [r for ts in arms.values() for r in _runs([t.seed for t in ts], ts[0].epochs, rise, rng)]
    parts, summary, curves = scaling.optimiser_parts(arms, found)
    assert [p for p, _ in parts.items] == list(arms) and len(summary) == 3 and len(curves) == 3
    assert ctx.judge("optimiser-rise-every-lr", parts, **sizes).verdict == "consistent"
    shapes = [rise, rise, fall]
    found = [r for (ts, f) in zip(arms.values(), shapes) for r in _runs([t.seed for t in ts], ts[0].epochs, f, rng)]
    assert ctx.judge("optimiser-rise-every-lr", scaling.optimiser_parts(arms, found)[0],
                     **sizes).verdict == "mechanism-not-observed"


# ---------------------------------------------------------------- the optimiser's tasks


def test_the_optimiser_arms_reuse_the_paper_runs_and_keep_old_keys():
    arms = optimiser_runs(QUICK.paper, (0.5, 0.1), (0, 2))
    paper = [r for r in runs(QUICK.paper)["sgd"] if r.seed in (0, 2)]
    assert [t.key() for t in arms["SGD lr 0.5"]] == [t.key() for t in paper]  # the paper section's stored runs
    assert "batch_size" not in PaperRun().key()  # runs stored before full batch existed keep their keys
    fb = arms["full-batch GD lr 0.5"][0]
    assert fb.batch_size is None and fb.key()["batch_size"] is None and fb.epochs == QUICK.paper.epochs * 32
    slow = arms["SGD lr 0.1"][0]
    assert slow.lr * slow.epochs == pytest.approx(0.5 * QUICK.paper.epochs) and slow.eval_every == 5 * 20
    with pytest.raises(ValueError, match="integer"):
        optimiser_runs(QUICK.paper, (0.5, 0.3), (0,))


def test_the_design_refuses_sweeps_that_cannot_be_judged():
    with pytest.raises(ValueError, match="dn_ds"):
        replace(QUICK.later, dn_ds=(4, 8))
    with pytest.raises(ValueError, match="noise_ks"):
        replace(QUICK.later, noise_ks=(4, None))
    with pytest.raises(ValueError, match="mem_ns"):
        replace(QUICK.later, mem_ns=(8,))


# ---------------------------------------------------------------- the section


TINY = LaterDesign(mem_ns=(4, 8), mem_m=16, mem_taus=(1e2, 1e5, 1e8), mem_k_taus=(1e2, 1e5), memd_d=2, memd_ns=(4, 8), memd_m=16,
                   memd_taus=(1e2, 1e5, 1e8), memd_samples=200, noise_n=8, noise_m=16, noise_ks=(1, None),
                   noise_t=0.1, halves_ns=(8, 16), halves_m=16, halves_taus=(1e6,), halves_mnist_fractions=(0.5, 1.0), dn_d=2, dn_ns=(4, 8), dn_n=32,
                   dn_ds=(2, 3, 4), dn_m=8, dn_taus=(1.0, 1e3, 1e6), opt_lrs=(0.5, 0.25), opt_seeds=(0, 1))
TINY_MNIST = Design(K=10, d=4, m=16, taus=(10.0, 1e4), seeds=(0, 1), n_pairs=2, min_size=100, samples=0)
TINY_PAPER = PaperDesign(seeds=(0, 1), epochs=6, eval_every=2, widths=(2,), width_seeds=(0,), width_epoch=4,
                         width_cap=6, width_eval_every=2, flow_seeds=(0,), flow_epochs=4, flow_eval_every=2, n=64,
                         measures=("K2",))


def test_the_section_returns_all_its_claims_with_verdicts_of_the_six(tmp_path):
    ctx = _ctx(tmp_path, later=TINY, paper=TINY_PAPER, seeds=(0, 1), taus=(1.0, 1e2, 1e4, 1e6),
               mnist_designs=(TINY_MNIST,))
    section = later.later_theories(ctx)
    assert sorted(c.name for c in section.checks) == sorted(LATER_CLAIMS) and len(section.checks) == len(LATER_CLAIMS)
    assert all(c.name.startswith(PREFIXES) and "arXiv" in c.source or c.name == "d-over-n-dimension-n8d"
               for c in section.checks)
    assert all(c.verdict in VERDICTS and c.statistic for c in section.checks)
    assert all(Path(p).exists() for p in section.content if isinstance(p, Path))
    assert set(section.data["later_theories"]) == {"memorisation", "memorisation_d", "noise_draws", "halves", "d_over_n",
                                                   "optimiser"}
    by_k = section.data["later_theories"]["memorisation"]["by_k"]
    assert {r["k"] for r in by_k} == {1, None} and len(by_k) == 2 * 2 * 2  # k x n x seed
    assert all(max(r["taus"]) <= TINY.mem_k_taus[-1] for r in by_k)
    mnist = section.data["later_theories"]["halves"]["mnist"]
    assert len(mnist["n"]) == 2 and all(len(v) == 2 and min(min(v)) > 0 for v in mnist["D_last_tau"].values())
    d_rows = section.data["later_theories"]["memorisation_d"]["rows"]
    assert len(d_rows) == 2 * 2 and all(len(r["se"]) == len(TINY.memd_taus) and max(r["se"]) < 0.05 for r in d_rows)


def test_memorisation_at_k1_data_pairs_each_n_and_seed_with_its_exact_noise_twin():
    # the last tau both laws resolved: 1e6 for (4, 0) (k = 1 lost 1e8), 1e8 elsewhere
    rows = [{"k": k, "n": n, "seed": s, "taus": taus, "excess_kept": e} for k, n, s, taus, e in (
        (None, 4, 0, [1e4, 1e6, 1e8], [0.0, 0.30, 0.9]), (1, 4, 0, [1e4, 1e6], [0.1, 0.50]),
        (None, 8, 0, [1e4, 1e8], [0.0, 0.10]), (1, 8, 0, [1e4, 1e6, 1e8], [0.0, 0.1, 0.20]),
        (None, 4, 1, [1e8], [0.40]), (1, 4, 1, [1e8], [0.30]), (None, 8, 1, [1e8], [0.20]), (1, 8, 1, [1e8], [0.20]),
        (4, 4, 0, [1e8], [0.90]))]  # a k = 4 row takes no part
    data = later.memorisation_k1_data(rows)
    assert np.allclose(data.values, [(0.20 + 0.10) / 2, (-0.10 + 0.0) / 2])
    assert sorted(zip(data.extra["n"], data.extra["seed"], data.extra["at_tau"])) == [
        (4, 0, 1e6), (4, 1, 1e8), (8, 0, 1e8), (8, 1, 1e8)]
    # a claim it must be able to contradict: k = 1 memorising much more in every seed is judged against it
    from verification.rules import judge, rng_for
    rule = CLAIMS["noise-draws-memorisation-at-k1"].rule
    more = [{**r, "excess_kept": [e + (0.3 if r["k"] == 1 else 0.0) for e in r["excess_kept"]]} for r in rows]
    assert judge(rule, later.memorisation_k1_data(more), 400, rng_for("t")).verdict in ("violated", "inconclusive")


def test_mnist_halves_data_averages_the_two_pairs_slopes_per_seed():
    n = [24, 48, 96]
    run = lambda D: {"n": n, "score_distance": [[9.0, d] for d in D]}  # noqa: E731 (the last tau is read)
    near = [run([0.8, 0.4, 0.2]), run([1.0, 0.25, 0.0625])]  # slopes -1 and -2
    far = [run([0.3, 0.3, 0.3]), run([0.1, 0.2, 0.4])]  # slopes 0 and +1
    data = later.mnist_halves_data({"near": near, "far": far})
    def slope(r):
        return stats.linregress(np.log(n), np.log([row[1] for row in r["score_distance"]])).slope
    expected = [(slope(a) + slope(b)) / 2 for a, b in zip(near, far)]
    assert np.allclose(data.values, expected) and np.allclose(data.values, [-0.5, -0.5])
    assert np.allclose(data.extra["slope_nearest_pair"], [-1, -2]) and np.allclose(data.extra["slope_farthest_pair"], [0, 1])
