"""Calibrated bounds on held-out draws (docs/theory.md §8.3): the design and the held-out draws, the
negative controls, and the verdict rule.

The constants in verification/data/ were fitted by ``diffgen calibrate`` on a design with a fresh seed
(< 10000) per cell; the held-out draws use seeds >= 10000 and extrapolate beyond the design in n, m and
τ, so a bound whose shape is wrong can fail them. The synthetic tests run no engine: term matrices come
from a known law.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from verification import controls as ctl
from verification import heldout
from verification.calibration import Calibration
from verification.claims import simplified


@pytest.mark.parametrize("theorem", [1, 2])
def test_design_has_a_fresh_seed_per_cell_disjoint_from_the_heldout_seeds(theorem):
    design = heldout.calibration_design(theorem)
    cells = {}
    for c in design:
        cells.setdefault(c.seed, set()).add((c.n, c.m, c.mu))
    # one seed per cell (n, m, mu, replicate); both configurations of a cell (K1 dense, K2 at 3 tau) share it
    assert all(len(v) == 1 for v in cells.values())
    n_cells = len(heldout.DESIGN_NM) ** 2 * len(heldout.DESIGN_MUS[theorem]) * heldout.DESIGN_REPLICATES
    assert len(cells) == n_cells == len(design) // 2
    assert all(0 <= s < heldout.HELDOUT_SEED0 for s in cells)
    draws = heldout.heldout_design(theorem, 16)
    seeds = [c.seed for c in draws]
    assert len(set(seeds)) == len(seeds) and min(seeds) >= heldout.HELDOUT_SEED0
    assert not set(seeds) & set(cells)
    # the two theorems' draws are seeded independently
    assert set(seeds) != {c.seed for c in heldout.heldout_design(3 - theorem, 16)}


@pytest.mark.parametrize("theorem", [1, 2])
def test_heldout_draws_extrapolate_within_the_hypotheses(theorem):
    design = heldout.calibration_design(theorem)
    n_max = max(max(c.n, c.m) for c in design)
    n_min = min(min(c.n, c.m) for c in design)
    tau_max = max(t for c in design for t in c.taus)
    assert heldout.HELDOUT_NM[1] >= 4 * n_max and heldout.HELDOUT_TAU[1] > tau_max
    draws = heldout.heldout_design(theorem, 16)
    ns, ms = [c.n for c in draws], [c.m for c in draws]
    taus = [t for c in draws for t in c.taus]
    assert max(ns) > 2 * n_max and max(ms) > 2 * n_max and min(ns) < n_min and min(ms) < n_min
    assert max(taus) > tau_max and sum(t > tau_max for t in taus) >= 4
    assert all(isinstance(v, int) and v >= 1 for v in ns + ms) and min(taus) >= 1.0
    lo, hi = heldout.MU_RANGE[theorem]
    assert all(lo <= c.mu <= hi for c in draws)
    # every held-out point satisfies the theorem's hypotheses (Theorem 2: mu > sqrt(log(1/delta^2)), default delta)
    values = {k: np.array([getattr(c, k) for c in draws for _ in c.taus], dtype=float) for k in ("n", "m", "mu")}
    values["tau"] = np.array(taus)
    if theorem == 1:
        values.pop("mu")
    simplified(theorem).evaluate_terms(check_hypotheses=True, L_star=0.0, L_bar=0.0, KL_T=0.0, **values)


def test_verdict_rule_and_power_over_the_named_controls_only():
    named = [{"named": True, "rejected": r} for r in (True, True, True, False, False)]
    own = [{"named": False, "rejected": True}] * 2
    assert heldout.verdict(0, named + own) == ("holds", 0.6)
    assert heldout.verdict(1, named + own) == ("violated", 0.6)
    two = [{"named": True, "rejected": r} for r in (True, True, False, False, False)]
    assert heldout.verdict(0, two + own) == ("inconclusive", 0.4)  # own controls do not count
    assert heldout.verdict(0, own) == ("inconclusive", 0.0)
    half = [{"named": True, "rejected": r} for r in (True, False)]
    assert heldout.verdict(0, half)[0] == "inconclusive"  # power must exceed 0.5


def _synthetic_variables(n, m, tau, mu):
    n, m, tau, mu = (np.asarray(a, dtype=float) for a in (n, m, tau, mu))
    return {"n": n, "m": m, "tau": tau, "mu": mu, "norm2": np.ones_like(n), "opt": 1 / tau,
            "prior": np.zeros_like(n)}


def _true_law(v):
    return 3 / v["tau"] + 2 / np.sqrt(v["m"] * v["n"]) + 0.1 / v["m"]


TRUE_SHAPE = ctl.Control("true", "3/tau + 2/sqrt(mn) + 0.1/m", False, (
    ("1/tau", lambda v: 1 / v["tau"]), ("1/sqrt(mn)", lambda v: 1 / np.sqrt(v["m"] * v["n"])),
    ("1/m", lambda v: 1 / v["m"])))


def test_synthetic_law_wrong_controls_are_rejected_the_true_shape_is_not():
    theorem = 2
    grid = [(n, m, t, mu) for n in heldout.DESIGN_NM for m in heldout.DESIGN_NM for t in heldout.DESIGN_TAUS
            for mu in heldout.DESIGN_MUS[theorem]]
    design = _synthetic_variables(*zip(*grid))
    draws = heldout.heldout_design(theorem, 64)  # synthetic points are free: more draws than the report's
    held = _synthetic_variables(*zip(*[(c.n, c.m, t, c.mu) for c in draws for t in c.taus]))
    # measurements lie under the true law (it is an upper envelope): 0.5 to 0.99 of it on held-out draws
    y_design = _true_law(design)
    y_held = _true_law(held) * np.random.default_rng(0).uniform(0.5, 0.99, held["n"].size)

    true_fit = ctl.fit(TRUE_SHAPE, design, y_design)
    np.testing.assert_allclose(list(true_fit.constants.values()), [3, 2, 0.1], rtol=1e-6)
    assert np.all(y_held <= true_fit.bound(held))  # the true shape extrapolates

    found = []
    for c in ctl.controls(theorem)[:5]:  # the named five; their columns need only n, m, tau, mu, opt
        f = ctl.fit(c, design, y_design)
        assert np.all(f.bound(design) >= y_design)  # each control dominates the whole design ...
        found.append({"shape": c.shape, "named": c.named, "rejected": bool(np.any(y_held > f.bound(held)))})
    rejected = {f["shape"] for f in found if f["rejected"]}
    # ... but shapes too optimistic beyond the design fail the extrapolated draws: no decay in n and m, the
    # n-rate 1/n where the truth has 1/sqrt(mn), far too fast a decay in mn. (tau^4 n/m and mu^2 are looser
    # than this law almost everywhere: a one-sided test cannot see that, docs/theory.md §8.4.)
    assert {"c0 + c1 ||theta*||^2/tau", "c0/n + c1 ||theta*||^2/tau", "c sqrt(tau)/(mn)"} <= rejected
    assert heldout.verdict(0, found) == ("holds", len(rejected) / 5)


def _fake(n, m, taus, K1, K2, mass, seed=10_001, mu=3.0):
    return SimpleNamespace(config=SimpleNamespace(n=n, m=m, taus=tuple(taus), mu=mu, seed=seed),
                           K={"K1": np.asarray(K1, float), "K2": np.asarray(K2, float)},
                           quantities={"loss_star": 0.0, "loss_star_ref": 0.0, "kl_prior": 0.0, "comparator_norm2": 1.0},
                           boundary_mass={"K2": np.asarray(mass, float)})


def test_heldout_test_reports_failures_and_leaves_out_truncated_points():
    names = heldout.term_names(2)
    cal = Calibration({k: (1.0 if k == "opt" else 0.0) for k in names}, names,
                      design=[{"n": 8, "m": 8, "tau": 1.0, "mu": 2.5}])
    # bound = 1/tau; the second tau is above it but truncated, the third is above it and counts
    r = _fake(5, 7, (1.0, 10.0, 100.0), [0.5, 0.5, 0.5], [0.4, 0.6, 0.4], [0.0, 1e-3, 1e-9])
    fits = [ctl.ControlFit(c, {k: 1e9 for k in c.names}) for c in ctl.controls(2)]
    test = heldout.heldout_test(2, [r], cal, fits)
    m = test["measured"]
    assert (m["points"], m["excluded_truncated_K2"], m["dominated"]) == (2, 1, 1)
    assert m["failures"] == [{"n": 5, "m": 7, "tau": 100.0, "mu": 3.0, "seed": 10_001, "measured": 0.5, "bound": 0.01}]
    assert test["verdict"] == "violated" and test["power"] == 0.0
    assert len(test["controls"]) == len(ctl.controls(2)) and not any(c["rejected"] for c in test["controls"])
    assert {"shape", "rejected", "named", "violations", "constants"} <= set(test["controls"][0])


def test_controls_save_load_round_trip(tmp_path):
    fits = [ctl.ControlFit(c, {k: float(i + 1) for k in c.names}) for i, c in enumerate(ctl.controls(1))]
    ctl.save(1, fits, "diffgen calibrate --theorem 1", {"n": [8]}, [1, 2], directory=tmp_path, wall_s=1.0)
    back, prov = ctl.load(1, directory=tmp_path)
    assert [f.constants for f in back] == [f.constants for f in fits]
    assert prov["command"] == "diffgen calibrate --theorem 1" and prov["seeds"] == [1, 2] and prov["commit"]
    with pytest.raises(ValueError, match="no controls file"):
        ctl.load(2, directory=tmp_path)


def test_missing_constants_file_is_inconclusive(monkeypatch, tmp_path):
    from verification.runner import Runner
    from verification.sections.base import Context
    from verification.sections.calibrated import calibrated
    from verification.sweeps import QUICK

    def missing(theorem):
        raise ValueError(f"no calibration named 'theorem{theorem}_constants'")

    monkeypatch.setattr(heldout, "load", missing)
    section = calibrated(Context(QUICK, tmp_path, Runner(None, False)))
    assert [c.verdict for c in section.checks] == ["inconclusive", "inconclusive"]
    assert all("error" in c.measured for c in section.checks)


@pytest.mark.parametrize("theorem", [1, 2])
def test_calibration_files_are_complete_with_provenance(theorem):
    cal = heldout.load(theorem)
    assert set(cal.constants) == set(heldout.term_names(theorem)) and all(v >= 0 for v in cal.constants.values())
    assert cal.command == f"diffgen calibrate --theorem {theorem}" and cal.commit and cal.created
    assert max(cal.seeds) < heldout.HELDOUT_SEED0
    assert sorted(cal.seeds) == sorted({c.seed for c in heldout.calibration_design(theorem)})
    fits, prov = ctl.load(theorem)
    assert [f.control.key for f in fits] == [c.key for c in ctl.controls(theorem)]
    assert prov["command"] == cal.command and prov["seeds"] == cal.seeds and prov["design"]


FROZEN_DRAWS = 6
FINDING_THEOREM2 = (
    "finding: the calibrated Theorem 2 bound is violated on these held-out draws (n = 2, m = 245, mu = 3.37, seed "
    "1370525872: K1 2.32 at tau 1.9e5 and 4.13 at tau 5.8e6 against a bound of 0.44; the fitted generalisation "
    "constants are 0, so nothing in the bound grows with tau or 1/n, while K1 does at n = 2), and the named "
    "controls c tau^4 n/m, c sqrt(tau)/(mn) and c mu^2 are not rejected by them (power 0.4)")


@pytest.mark.parametrize("theorem", [
    pytest.param(2, marks=pytest.mark.xfail(strict=True, reason=FINDING_THEOREM2)), 1])
def test_frozen_named_controls_are_rejected_or_the_check_is_inconclusive(theorem):
    """On a small held-out design (K1 only, which is max(K1, K2) by Lemma 2): every named control of the
    frozen calibration is rejected, or the check does not claim "holds" or "violated" with power behind it."""
    from verification.runner import Runner

    draws = [replace(c, kl=("K1",)) for c in heldout.heldout_design(theorem, FROZEN_DRAWS)]
    results = Runner(None, False).run_all(draws, "held-out")
    fits, _ = ctl.load(theorem)
    test = heldout.heldout_test(theorem, results, heldout.load(theorem), fits)
    named = [c for c in test["controls"] if c["named"]]
    assert len(named) == 5
    assert all(c["rejected"] for c in named) or test["verdict"] == "inconclusive", \
        f"verdict {test['verdict']}, controls {[(c['shape'], c['rejected']) for c in named]}, " \
        f"failures {test['measured']['failures']}"
