"""Verdict rules of ``verification.verdicts`` on hand-made cases: the six words, rates (the CI of an
exponent against the prediction), trends (Kendall's tau with a p-value) and the early-stopping rise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verification.stats import t_interval
from verification.verdicts import (RANK, VERDICTS, Check, best_verdict, inequality_check, rise_statistic, rise_verdict,
                                   trend, trend_check, trend_verdict, upper_bound_verdict)


def test_the_six_verdicts():
    assert VERDICTS == ("holds", "consistent", "holds-with-slack", "violated", "mechanism-not-observed",
                        "inconclusive")
    assert set(RANK) == set(VERDICTS)


def test_check_validates_verdict_statistic_and_power():
    Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "holds-with-slack", "a slope")
    with pytest.raises(ValueError, match="verdict must be one of"):
        Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "pass", "a slope")
    with pytest.raises(ValueError, match="statistic"):
        Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "consistent", "")
    with pytest.raises(ValueError, match="power"):
        Check("b", "bound", 1, 1, "holds", "ratio", power=1.5)


def test_check_json_has_power_and_controls_only_where_they_exist():
    plain = Check("a", "claim", 1, 2, "holds", "ratio").to_json()
    assert "power" not in plain and "controls" not in plain and plain["statistic"] == "ratio"
    fitted = Check("b", "claim", 1, 2, "inconclusive", "ratio", power=0.4,
                   controls=({"shape": "1/n", "rejected": False},)).to_json()
    assert fitted["power"] == 0.4 and fitted["controls"] == [{"shape": "1/n", "rejected": False}]


@pytest.mark.parametrize(
    "ci, predicted, verdict",
    [
        ((-0.5, -0.3), -0.4, "consistent"),  # covers the prediction
        ((-0.4, -0.3), -0.4, "consistent"),  # boundary counts as covering
        ((-0.7, -0.5), -0.4, "holds-with-slack"),  # decays faster than the bound: slack, not a failure
        ((-0.35, -0.2), -0.4, "violated"),  # decays slower than the bound allows
        ((3.0, 3.5), 4.0, "holds-with-slack"),  # gap grows in tau slower than tau^4
        ((4.2, 4.8), 4.0, "violated"),
    ],
)
def test_upper_bound_verdict(ci, predicted, verdict):
    assert upper_bound_verdict(ci, predicted) == verdict


@given(st.floats(-3, 3), st.floats(0, 2), st.floats(-3, 3), st.floats(0, 3))
def test_faster_measured_decay_never_worsens_the_verdict(lo, width, predicted, shift):
    before = upper_bound_verdict((lo, lo + width), predicted)
    after = upper_bound_verdict((lo - shift, lo + width - shift), predicted)
    assert RANK[after] >= RANK[before]


@pytest.mark.parametrize("ci, match", [((0.1, -0.1), "low <= high"), ((np.nan, 0.0), "finite")])
def test_upper_bound_verdict_rejects_bad_ci(ci, match):
    with pytest.raises(ValueError, match=match):
        upper_bound_verdict(ci, -0.4)


def test_a_broken_inequality_is_violated():
    assert inequality_check("lemma", "lhs <= rhs", False, {"max_ratio": 1.2}, {"ratio_at_most": 1}, "ratio").verdict \
        == "violated"
    assert inequality_check("lemma", "lhs <= rhs", True, {}, {}, "ratio").verdict == "holds"


def test_t_interval_matches_the_textbook_formula():
    v = np.array([0.9, 1.3, 1.1, 0.7, 1.0])
    mean, lo, hi = t_interval(v)
    half = 2.7764451051977987 * v.std(ddof=1) / np.sqrt(5)  # t_{0.975, 4}
    assert mean == pytest.approx(1.0) and (lo, hi) == pytest.approx((1.0 - half, 1.0 + half))
    with pytest.raises(ValueError, match="one per seed"):
        t_interval([1.0])


def test_trend_needs_the_predicted_sign_and_significance():
    x = np.arange(6.0)
    rising = np.array([1.0, 1.1, 1.3, 1.2, 1.6, 1.9])
    assert trend(x, rising, increasing=True)["trend"]
    t = trend(x, rising, increasing=False)
    assert not t["trend"] and t["against"]  # significant, the other way
    assert not trend(x, rising, increasing=True)["monotone"]  # reported beside, not required
    flat = np.array([1.0, 1.2, 0.9, 1.1, 1.0, 1.05])
    assert not trend(x, flat, increasing=True)["trend"] and not trend(x, flat, increasing=True)["against"]
    assert not trend(x[:4], rising[:4], increasing=True)["trend"]  # 4 points never reach p < 0.05


def test_trend_verdicts():
    assert trend_verdict({"trend": True, "against": False}) == "consistent"
    assert trend_verdict({"trend": False, "against": True}) == "violated"
    assert trend_verdict({"trend": False, "against": True}, "mechanism-not-observed") == "mechanism-not-observed"
    assert trend_verdict({"trend": False, "against": False}) == "inconclusive"


def test_trend_check_records_the_statistic_and_the_prediction():
    c = trend_check("capacity-m", "KL falls with m", [8, 16, 32, 64, 128], [0.9, 0.5, 0.3, 0.2, 0.1], False,
                    {"m": [8, 16, 32, 64, 128]}, "Kendall tau")
    assert c.verdict == "consistent" and c.predicted == {"decreasing": True} and c.statistic == "Kendall tau"
    assert c.measured["kendall_tau"] == pytest.approx(-1.0) and c.measured["p_value"] < 0.05
    assert trend_check("x", "y", [1, 2, 3, 4, 5], [0.9, 0.5, 0.3, 0.2, 0.1], True, {}, "tau").verdict == "violated"


def test_rise_is_seen_only_when_every_seed_dips_and_rises_beyond_its_accuracy():
    tau = np.geomspace(1.0, 1e4, 9)
    dip = 1.0 / tau + tau / 1e3          # minimum near τ = 30, then a rise
    plateau = 1.0 / tau + 1e-3           # falls, then stays flat: no early-stopping benefit
    stat = rise_statistic([(tau, dip), (tau, 1.2 * dip + tau / 1e4), (tau, 0.9 * dip)])
    assert all(stat["rises"]) and stat["rise_ci95"][0] > 0 and rise_verdict(stat) == "consistent"
    flat = rise_statistic([(tau, dip), (tau, plateau), (tau, plateau)])
    assert flat["rises"] == [True, False, False] and rise_verdict(flat) == "mechanism-not-observed"
    # A rise below the measurement's accuracy is a plateau: 1e-12 relative counts for K1 only if above rtol.
    tiny = plateau.copy()
    tiny[-1] = tiny[-2] * (1 + 1e-6)
    assert rise_statistic([(tau, tiny)])["rises"] == [True]
    assert rise_statistic([(tau, tiny)], rtol=1e-3)["rises"] == [False]
    assert rise_verdict(rise_statistic([(tau, dip)])) == "consistent"  # one seed: still an exact answer
    assert rise_verdict(rise_statistic([(tau[:2], dip[:2])])) == "inconclusive"  # no curve of 3 points


def test_best_verdict_prefers_the_most_favourable():
    assert best_verdict(["violated", "consistent", "holds-with-slack"]) == "holds-with-slack"
    assert best_verdict(["violated", "violated"]) == "violated"
