"""The paper-experiments section: its claims on a tiny design, each check passing and failing on synthetic runs,
and resumable tasks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from verification.store.cache import ResultCache
from verification.claims import CLAIMS
from empirical.training.paper_runs import PaperRun, run_paper
from verification.designs.paper_runs import PaperDesign
from verification.store.runner import Runner
from verification.sections.base import Context
from verification.sections.paper_experiments import paper_experiments
from verification.designs.sweeps import QUICK
from verification.verdicts import VERDICTS

TINY = PaperDesign(seeds=(0, 1), epochs=6, eval_every=2, widths=(2, 4, 8), width_seeds=(0,), width_epoch=4,
                   width_cap=6, width_eval_every=2, flow_seeds=(0, 1), flow_epochs=4, flow_eval_every=2, n=64,
                   measures=("K2", "grid_kl", "grid_kl_wide", "mass_pos"), density_epochs=(2, 4))
PAPER_CLAIMS = [c for c in CLAIMS if c.startswith("paper-")]


def _ctx(tmp_path, **scale) -> Context:
    return Context(replace(QUICK, replicates=400, **scale), tmp_path,
                   Runner(ResultCache(tmp_path / "store"), show_progress=False))


def test_the_section_returns_all_its_claims_with_verdicts_of_the_six(tmp_path):
    ctx = _ctx(tmp_path, paper=TINY)
    section = paper_experiments(ctx)
    assert [c.name for c in section.checks] == PAPER_CLAIMS
    assert all(c.verdict in VERDICTS and c.statistic for c in section.checks)
    assert all(Path(p).exists() for p in section.content[1:])


def _run(seed, values, epochs=None):
    e = epochs if epochs is not None else [10.0 * i for i in range(len(values))]
    return {"task": {"seed": seed}, "records": [{"epoch": x, "K2": v} for x, v in zip(e, values)], "diverged": False}


def test_the_rise_check_can_pass_and_fail(tmp_path):
    """Figs. 3 and 8 on synthetic runs of 201 checkpoints: a 3x rise from the early window to the late one in
    every seed passes; a run that keeps falling, or a flat noisy one, does not."""
    import numpy as np

    from verification.sections.paper_experiments import rise_check

    ctx, e = _ctx(tmp_path), np.arange(0, 2001, 10.0)
    rng = np.random.default_rng(0)
    sizes = {"width": 16, "n": 1000, "mu": 3.0, "sde": "ve", "lr": 0.5, "epochs": 2000, "seeds": 4}
    rise = [_run(s, np.exp(np.log(3) * np.clip((e - 1000) / 700, 0, 1) + 0.1 * rng.standard_normal(e.size)), e)
            for s in range(4)]
    fall = [_run(s, np.exp(-e / 800 + 0.1 * rng.standard_normal(e.size)), e) for s in range(4)]
    flat = [_run(s, np.exp(0.3 * rng.standard_normal(e.size)), e) for s in range(4)]
    assert rise_check(ctx, "paper-fig3-sgd-minimum", rise, 2000, sizes).verdict == "consistent"
    assert rise_check(ctx, "paper-fig3-sgd-minimum", fall, 2000, sizes).verdict == "mechanism-not-observed"
    assert rise_check(ctx, "paper-fig3-sgd-minimum", flat, 2000, sizes).verdict != "consistent"


def test_tasks_resume_from_the_store(tmp_path, monkeypatch):
    tasks = [PaperRun(width=4, epochs=2, eval_every=1, n=32, seed=s, measures=("K2",)) for s in (0, 1)]
    runner = Runner(ResultCache(tmp_path), show_progress=False)
    first = runner.run_tasks(run_paper, tasks, [t.key() for t in tasks], "paper", "tiny")
    assert [len(r["records"]) for r in first] == [3, 3]

    def fail(task):
        raise AssertionError("a stored task ran again")

    again = runner.run_tasks(fail, tasks, [t.key() for t in tasks], "paper", "tiny")
    assert again == first
    assert run_paper(tasks[0])["records"] == first[0]["records"]  # deterministic on the CPU


def test_lemma2_on_trained_checkpoints_can_fail():
    """The exact section asserts K2 <= K1 on the trained networks' checkpoints too: one K2 above its K1 is a
    violation (a bug), and the count of those points is reported."""
    from verification.sections.exact import exact

    def run(pairs):
        runner = Runner(ResultCache(Path("/nonexistent-store")), show_progress=False)
        runner.checkpoint_pairs.extend(pairs)
        return {c.name: c for c in exact(Context(replace(QUICK, mutations=False), Path("."), runner)).checks}["K2<=K1-lemma2"]

    ok, bad = run([(1.0, 0.5), (2.0, 1.9)]), run([(1.0, 0.5), (2.0, 2.1)])
    assert ok.verdict == "holds" and ok.measured["points_trained_networks"] == 2
    assert bad.verdict == "violated"


def test_densities_are_stored_at_the_chosen_epochs_and_are_the_sampler_law():
    import numpy as np

    from empirical.kl import kl_sde
    from empirical.targets import two_mode
    from empirical.sde import sde_by_name

    task = PaperRun(width=4, epochs=4, eval_every=1, n=32, seed=0, measures=("K2",), density_epochs=(1, 3))
    out = run_paper(task)
    assert [r["epoch"] for r in out["records"] if "density" in r] == [1, 3]
    xs = np.asarray(out["density_x"])
    target = two_mode(task.mu, sde=sde_by_name(task.sde))
    for rec in out["records"]:
        if "density" in rec:
            q = np.asarray(rec["density"])
            assert q.min() >= 0.0
            # KL(p0 || q) by quadrature of the stored density on the display grid (which holds all but ~1e-5 of
            # p0; a briefly trained sampler spreads far beyond it), against the solver's K2 on its own cells
            p = target.pdf(1e-5, xs)
            assert abs(np.trapezoid(p * np.log(p / q), xs) - rec["K2"]) < 2e-3  # neighbouring epochs differ by 0.02


def test_the_flow_check_needs_its_controls_to_fail(tmp_path):
    from verification.sections.paper_experiments import flow_check

    def flow(sgd, controls):
        base = [1.0, 0.5, 0.3]
        return {"tau_sgd": [0.0, 1.0, 2.0], "K2_flow_sgd": base, "K2_sgd": [b * sgd for b in base],
                "K2_flow_gd": base, "K2_gd": base, "A_relerr_sgd": [0.0], "A_relerr_gd": [0.0],
                **{k: [b * c for b in base] for k, c in zip(("K2_flow_sgd_x0.5", "K2_flow_sgd_x2"), controls)}}

    ctx = _ctx(tmp_path)
    sizes = {"m": 16, "lr": 0.05, "rtol": 0.1, "seeds": 4}
    close = [flow(1.02 + 0.005 * k, (1.5 + 0.05 * k, 0.6)) for k in range(4)]
    assert flow_check(ctx, close, sizes).verdict == "holds"
    blind = [flow(1.02 + 0.005 * k, (1.05 + 0.005 * k, 0.6)) for k in range(4)]  # the control is within rtol too
    assert flow_check(ctx, blind, sizes).verdict == "inconclusive"
    far = [flow(1.3 + 0.01 * k, (1.5, 0.6)) for k in range(4)]
    assert flow_check(ctx, far, sizes).verdict == "violated"


def _runs(best_epochs, mu, density=None):
    """Synthetic stored runs: K2 least at each run's best epoch; at epoch 200 a stored sampler density."""
    import numpy as np

    x = np.linspace(-20, 20, 401)
    out = []
    for seed, best in enumerate(best_epochs):
        recs = [{"epoch": e, "K2": 1.0 + abs(e - best) / 100, "mass_pos": 0.5} for e in range(0, 201, 10)]
        if density is not None:
            recs[-1]["density"] = list(density(x, seed))
        out.append({"task": {"seed": seed, "mu": mu, "weights": [0.5, 0.5], "sde": "ve"}, "records": recs,
                    "diverged": False, "stopped": None, "density_x": list(x)})
    return out


def test_the_mode_checks_can_fail_and_pass(tmp_path):
    import numpy as np

    from verification.sections.paper_experiments import best_epoch_check, collapse_check

    ctx = _ctx(tmp_path)
    sizes = {"width": 16, "n": 64, "epochs": 200, "seeds": 4, "mu": 3.0, "sde": "ve", "mu_far": 15.0, "late": 200}
    one = lambda x, s: np.exp(-(x - 0.3 * s) ** 2 / 60)  # noqa: E731  (one broad bump)
    two = lambda x, s: np.exp(-(x - 15) ** 2 / 2) + np.exp(-(x + 15) ** 2 / 2)  # noqa: E731
    near, early, late = [150, 160, 170, 155], [10, 20, 30, 15], [200, 190, 200, 180]
    result = {"sgd": _runs(near, 3.0), "adam": _runs(near, 3.0), "sgd_far": _runs(early, 15.0, one),
              "adam_far": _runs(early, 15.0, one)}
    assert best_epoch_check(ctx, result, 200, sizes).verdict == "consistent"
    assert collapse_check(ctx, result, 200, sizes).verdict == "consistent"
    later = {**result, "adam_far": _runs(late, 15.0, two)}
    assert best_epoch_check(ctx, later, 200, sizes).verdict == "violated"
    check = collapse_check(ctx, later, 200, sizes)  # SGD one mode, Adam holds both: not for both
    assert check.verdict == "mechanism-not-observed"
    assert [p["modes_per_seed"] for p in check.measured["parts"]] == [[1, 1, 1, 1], [2, 2, 2, 2]]
