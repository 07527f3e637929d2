"""The held-out test of a bound with fitted constants (verification.calibrated.bound_test) and any user's bound through it
(verification.calibrated.user_bound), on synthetic laws whose answer is known: no engine runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from verification.calibrated.bound_test import (Points, Shape, binomial_size, columns_of, conformal_threshold, critical_count,
                                     identified, run_test, simulated_size)
from verification.calibrated.user_bound import check_on, parse_bound

TAUS = np.geomspace(1.0, 1e6, 13)


def _points(ns, ms, seeds, law, noise=0.0, rng=None, cell0=0):
    """Every (n, m, seed) a cell over the τ grid; y = law x a per-cell factor in [1 - noise, 1]."""
    rows = [(n, m, s, t) for n in ns for m in ms for s in seeds for t in TAUS]
    n, m, s, tau = (np.array(c, dtype=float) for c in zip(*rows))
    v = {"n": n, "m": m, "tau": tau, "mu": np.full(n.size, 3.0), "prior": np.zeros(n.size),
         "1/tau": 1 / tau, "1/sqrt(mn)": 1 / np.sqrt(m * n), "1/m": 1 / m, "1/n": 1 / n, "one": np.ones(n.size),
         "tau/(mn)": tau / (m * n)}
    cells = (np.searchsorted(np.unique(n), n) * 1000 + np.searchsorted(np.unique(m), m) * 100 + s + cell0).astype(int)
    factor = np.ones(n.size)
    if noise:
        per_cell = {c: 1 - noise * rng.uniform() for c in np.unique(cells)}
        factor = np.array([per_cell[c] for c in cells])
    return Points(v, law(v) * factor, cells)


def law(v):
    return 3 / v["tau"] + 2 / np.sqrt(v["m"] * v["n"]) + 0.1 / v["m"]


TRUE = Shape("true", columns_of(["1/tau", "1/sqrt(mn)", "1/m"]))
WRONG = Shape("1/n + 1/tau", columns_of(["1/n", "1/tau"]))  # too fast in n beyond the design
EXTRA = Shape("true + tau/(mn)", columns_of(["1/tau", "1/sqrt(mn)", "1/m", "tau/(mn)"]))


@pytest.fixture(scope="module")
def data():
    """A design with per-cell slack in [0.7, 1], held-out draws inside its range, and draws far beyond it (n up to
    512 at small m, where 1/sqrt(mn) is far above 1/n and the weakly identified 0.1/m matters)."""
    rng = np.random.default_rng(0)
    design = _points((4, 8, 16, 32), (8, 32, 128), range(5), law, 0.3, rng)
    inside = _points((8, 16), (32,), range(6), law, 0.3, rng, cell0=80_000)
    beyond = _points((256, 512), (8, 16), range(3), law, 0.3, rng, cell0=90_000)
    return design, inside, beyond


def test_conformal_rank_and_binomial_critical_count_are_the_textbook_ones():
    k, rank = conformal_threshold(np.arange(1.0, 60.0))
    assert rank == math.ceil(0.95 * 60) and k == rank
    for h in (6, 12, 24, 48):
        x = critical_count(h)
        assert binom.sf(x - 1, h, 0.05) <= 0.05 < binom.sf(x - 2, h, 0.05)
        assert binomial_size(h) <= 0.05


def test_the_true_shape_passes_and_a_too_optimistic_one_is_rejected(data):
    design, inside, beyond = data
    t = run_test(TRUE, design, inside)
    assert not t["rejected"] and t["draws_above"] == 0 and t["design_cells"] == 60
    w = run_test(WRONG, design, beyond)
    assert w["rejected"] and w["draws_above"] == w["held_out_draws"] == 12


def test_identification_flags_a_term_the_design_cannot_move(data):
    design, _, _ = data
    assert all(identified(TRUE, design).values())
    ident = identified(EXTRA, design)
    assert ident["tau/(mn)"] is False and ident["1/tau"] and ident["1/sqrt(mn)"]


def test_the_simulated_size_sees_when_extrapolation_makes_the_test_unsafe(data):
    """Inside the design the procedure's false-alarm rate is small. Far beyond it, the constants fitted on slack
    data undershoot the weakly identified 1/m term, so the true shape itself is often rejected; the simulation, a
    bound that holds exactly with the design's noise, measures that danger, and the rule is withheld."""
    from verification.rules import Fitted, FittedData, judge, rng_for

    design, inside, beyond = data
    assert simulated_size(TRUE, design, inside, 30, np.random.default_rng(1)) <= 0.05
    assert simulated_size(TRUE, design, beyond, 30, np.random.default_rng(1)) > 0.2
    out = judge(Fitted(), FittedData(TRUE, design, beyond, ((WRONG, True),), replicates=30), 0, rng_for("x"))
    assert out.verdict == "inconclusive" and out.size > 0.1 and "size" in out.reason


def test_the_fitted_rule_never_violates_with_an_unidentified_term(data):
    from verification.rules import Fitted, FittedData, judge, rng_for

    design, held, _ = data
    broken = Points(held.v, held.y * 5.0, held.cells)  # every held-out draw far above any fitted bound
    out = judge(Fitted(), FittedData(EXTRA, design, broken, ((WRONG, True),), replicates=10), 0, rng_for("t"))
    assert out.raw == "inconclusive" and "tau/(mn)" in out.reason
    out = judge(Fitted(), FittedData(TRUE, design, broken, ((WRONG, True),), replicates=10), 0, rng_for("t"))
    assert out.raw == "violated"


@pytest.mark.parametrize("text, match", [
    ("C1*x + C2", "unknown symbol"), ("tau**4/(m*n)", "no constant"), ("C1*C2/tau", "linear"),
    ("C1 +* tau", "not an expression"), ("", "give a sympy expression"), ("C1*log(tau - 1)", "not finite"),
    ("-C1*tau", "negative"),
])
def test_a_bad_bound_is_refused_naming_the_flag(text, match):
    design = _points((4,), (8,), range(1), law)
    with pytest.raises(ValueError, match="--bound") as err:
        check_on(parse_bound(text), design.v)
    assert match in str(err.value)


def test_a_parsed_bound_is_the_expression():
    s = parse_bound("C1*tau**4/(m*n) + C2/tau + C_mu*mu**2/m + KL_T")
    assert s.names == ("C1", "C2", "C_mu")
    v = {"n": np.array([2.0]), "m": np.array([4.0]), "tau": np.array([3.0]), "mu": np.array([2.0]),
         "KL_T": np.array([0.25])}
    T, off = s.matrix(v)
    np.testing.assert_allclose(T, [[81 / 8, 1 / 3, 1.0]])
    np.testing.assert_allclose(off, [0.25])


def test_cli_bad_bound_exits_2_naming_the_flag(capsys):
    from verification.cli import main

    assert main(["calibrate", "--bound", "C1*x"]) == 2
    err = capsys.readouterr().err
    assert "--bound" in err and "unknown symbol" in err and err.count("\n") == 1
    assert main(["calibrate"]) == 2 and "--theorem" in capsys.readouterr().err
