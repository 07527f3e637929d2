"""The ledger of the proof (``verification.sections.ledger``) on hand-made flows: a fitted line with its
negative controls, the exact Lemma 4 line, Lemma 5 as printed, and the untrained model's KL."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from empirical.measure import MeasureConfig, Measurement, make_target
from verification.store.cache import ResultCache
from verification.store.runner import Runner
from verification.sections.base import Context
from verification.sections.ledger import (fitted_check, i2_check, lemma5_check, split, untrained_kl)
from verification.designs.sweeps import QUICK


@pytest.fixture
def ctx(tmp_path):
    return Context(QUICK, tmp_path, Runner(ResultCache(tmp_path / "store"), show_progress=False))

NS = np.array([8.0, 16.0, 32.0, 128.0, 256.0, 512.0])
TAUS = np.geomspace(1.0, 1e3, 7)


SEEDS = 5


def _grid(law):
    """Five flows (seeds) at every n, each a cell of its own: 20 design cells, enough for a 95% conformal
    threshold (19 or more)."""
    n, seed, tau = (a.ravel() for a in np.meshgrid(NS, np.arange(SEEDS, dtype=float), TAUS, indexing="ij"))
    m = np.full(n.size, 64.0)
    pts = {"n": n, "m": m, "tau": tau, "mu": np.full(n.size, 3.0), "seed": seed,
           "cell": SEEDS * np.searchsorted(NS, n) + seed}
    pts["y"] = law(pts)
    return split(pts, "n")


def test_split_extrapolates_by_the_stated_factor():
    pts, design = _grid(lambda p: p["tau"] / p["n"])
    assert sorted(set(pts["n"][design])) == [8.0, 16.0, 32.0, 128.0]
    assert sorted(set(pts["n"][~design])) == [512.0]  # >= 4 x 128; 256 is dropped


def test_a_correct_line_holds_when_its_wrong_controls_fail(ctx):
    pts, design = _grid(lambda p: 0.5 * p["tau"] ** 2 / (p["m"] * p["n"]))
    paper = lambda p: [p["tau"] ** 2 / (p["m"] * p["n"])]
    too_fast = {f"n^-{k}": (lambda p, k=k: [p["tau"] ** 2 / (p["m"] * p["n"] ** k)]) for k in (1.5, 2, 3)}
    c = fitted_check(ctx, "ledger-I1", pts, design, paper, too_fast, {})
    assert c.verdict == "holds" and c.power == 1.0 and all(x["rejected"] for x in c.controls)
    assert c.measured["constants"]["c0"] == pytest.approx(0.5) and c.size == 0.0  # every design flow on the line
    assert c.measured["threshold"] == pytest.approx(1.0) and c.measured["identified"] == {"c0": True}


def test_a_scattered_design_widens_the_threshold_instead_of_failing_a_right_shape(ctx):
    """One of the 20 design flows lies 30% above the line the others sit on: left out, it is 1.3 x the line the
    rest fit, which sets the conformal threshold; the held-out flows of the right shape stay under it."""
    bump = lambda p: np.where((p["n"] == 16) & (p["seed"] == 1), 1.3, 1.0)  # noqa: E731
    pts, design = _grid(lambda p: 0.5 * p["tau"] ** 2 / (p["m"] * p["n"]) * bump(p))
    paper = lambda p: [p["tau"] ** 2 / (p["m"] * p["n"])]
    too_fast = {f"n^-{k}": (lambda p, k=k: [p["tau"] ** 2 / (p["m"] * p["n"] ** k)]) for k in (1.5, 2, 3)}
    c = fitted_check(ctx, "ledger-I1", pts, design, paper, too_fast, {})
    assert c.measured["threshold"] == pytest.approx(1.3) and c.measured["draws_above"] == 0
    assert c.verdict == "holds" and c.size <= 0.05


def test_controls_that_cannot_fail_make_the_line_inconclusive(ctx):
    pts, design = _grid(lambda p: 0.5 * p["tau"] ** 2 / (p["m"] * p["n"]))
    paper = lambda p: [p["tau"] ** 2 / (p["m"] * p["n"])]
    loose = {"no n decay": lambda p: [p["tau"] ** 2 / p["m"]], "constant": lambda p: [np.ones_like(p["n"])]}
    c = fitted_check(ctx, "ledger-I1", pts, design, paper, loose, {})
    assert c.verdict == "inconclusive" and c.power == 0.0


def test_a_line_too_optimistic_beyond_its_design_is_violated_with_where(ctx):
    pts, design = _grid(lambda p: p["tau"] / np.sqrt(p["n"]))
    c = fitted_check(ctx, "ledger-I1", pts, design, lambda p: [p["tau"] / p["n"]], {}, {})
    assert c.verdict == "violated" and c.measured["draws_above"] == SEEDS and c.size <= 0.05
    line = c.measured["line"]  # the plain domination test beside it, with where it failed
    assert line["failures"] > 0 and all(w["n"] == 512.0 and w["measured"] > w["bound"] for w in line["where"])


def _flow(m, seed, I2=None, theta_norm=None, taus=TAUS, independent=None):
    config = MeasureConfig(n=16, m=m, taus=tuple(taus), seed=seed, kl=("K1",), m_ref_factor=0)
    z = np.zeros(len(taus))
    i2 = z if I2 is None else np.asarray(I2, dtype=float)
    lemmas = {"empirical_flow": {"holds": True, "worst_ratio": {}, "theta_norm": list(theta_norm if theta_norm is not None else z)},
              "independent": {"holds": True, "worst_ratio": {}, "I2": list(i2 if independent is None else independent)}}
    return Measurement(config, {"K1": z + 1}, z, i2, float("nan"), lemmas,
                       {"theta_star_norm2": 2.0, "comparator_norm2": 2.0, "comparator_excess": 0.0, "loss_zero": 1.0,
                        "kl_prior": 0.0, "loss_star": 0.0, "loss_star_ref": 0.0}, {})


def test_ledger_I2_is_violated_by_a_broken_lemma_4(ctx):
    good = _flow(16, 0, I2=0.18 * 2.0 / (2 * TAUS))
    assert i2_check(ctx, [good]).verdict == "holds"
    broken = _flow(16, 1, I2=1.01 * 2.0 / (2 * TAUS))
    c = i2_check(ctx, [good, broken])
    assert c.verdict == "violated" and c.measured["max_ratio"] == pytest.approx(1.01, rel=1e-6)


def test_ledger_I2_is_violated_when_the_flow_and_the_independent_I2_disagree(ctx):
    """A flow whose decomposition reports a different I2 than the evaluation that does not use it (a flow run at
    the wrong speed, say) is caught even where both lie under Lemma 4."""
    off = _flow(16, 2, I2=0.1 * 2.0 / (2 * TAUS), independent=0.05 * 2.0 / (2 * TAUS))
    assert i2_check(ctx, [off]).verdict == "violated"


@pytest.mark.parametrize("growth, verdict", [(0.5, "violated"), (0.0, "consistent")])
def test_lemma5_as_stated_reads_the_exponent_of_m(ctx, growth, verdict):
    rng = np.random.default_rng(0)
    flows = [_flow(m, s, theta_norm=np.sqrt(TAUS / m) * m**growth * (1 + 0.01 * rng.standard_normal()))
             for m in (8, 32, 128, 512) for s in (0, 1, 2)]
    check, numbers = lemma5_check(ctx, flows, (0, 1, 2), tuple(TAUS))
    assert check.verdict == verdict and numbers["slope"] == pytest.approx(growth, abs=0.02)


def test_untrained_kl_matches_monte_carlo():
    config = MeasureConfig(n=16, m=16, taus=(1.0,), kl=("K1",), m_ref_factor=0)
    r = _flow(16, 0)
    target = make_target(config)
    x = target.sample(200_000, np.random.default_rng(1))
    v = 2.0 * np.exp(2.0 * config.T) - 1.0  # the zero-score reverse OU from N(0, 1): variance 2e^{2T} - 1
    terms = np.log(target.pdf(0.0, x)) + 0.5 * np.log(2 * np.pi * v) + x**2 / (2 * v)
    assert untrained_kl(r) == pytest.approx(terms.mean(), abs=5 * terms.std() / np.sqrt(x.size))


def test_a_broken_lemma_2_is_violated_and_fails_the_build(tmp_path, monkeypatch):
    from verification import report
    from verification.sections import exact, ledger
    from verification.designs.sweeps import QUICK
    from verification.sections.base import Section

    def exact_on(results):
        runner = Runner(ResultCache(tmp_path / "store"), show_progress=False)
        runner.history.extend(results)
        return {c.name: c for c in exact(Context(replace(QUICK, mutations=False), tmp_path, runner)).checks}

    k2_above = _flow(16, 0)
    k2_above.K["K2"] = k2_above.K["K1"] * 1.01
    checks = exact_on([k2_above])
    assert checks["K2<=K1-lemma2"].verdict == "violated"
    assert checks["K2<=K1-lemma2"].measured["max_K2_over_K1"] == pytest.approx(1.01)
    # A truncated sampler law measures another sampler: it is counted, not judged.
    k2_above.boundary_mass["K2"] = np.full(TAUS.size, 1e-3)
    cut = exact_on([k2_above])["K2<=K1-lemma2"]
    assert cut.verdict == "holds" and cut.measured["excluded_truncated_points"] == TAUS.size
    # K2 = +inf with K1 finite is a law the cells did not resolve (the true law is positive): counted, not judged;
    # a finite K2 above K1 beside it is still a violation.
    unresolved = _flow(16, 1)
    unresolved.K["K2"] = np.full(TAUS.size, np.inf)
    found = exact_on([unresolved])["K2<=K1-lemma2"]
    assert found.verdict == "holds" and found.measured["excluded_unresolved_points"] == TAUS.size
    assert found.measured["points"] == 0
    k2_above.boundary_mass["K2"] = np.zeros(TAUS.size)
    both = exact_on([unresolved, k2_above])["K2<=K1-lemma2"]
    assert both.verdict == "violated" and both.measured["excluded_unresolved_points"] == TAUS.size

    def one_section(ctx):
        ctx.runner.history.append(_flow(16, 0, I2=2.0 / TAUS))  # I2 above ||theta*||^2/(2 tau): Lemma 4 broken
        return Section("fake", ("",))

    monkeypatch.setattr(report, "ORDER", (one_section, ledger))  # the ledger runs on the history
    with pytest.raises(report.ExactCheckFailed, match="ledger-I2"):
        report.build(replace(QUICK, mutations=False), tmp_path, show_progress=False)
    assert (tmp_path / "results.json").is_file()  # written before raising
