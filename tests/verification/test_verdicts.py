"""Verdict rules of ``verification.verdicts`` on hand-made cases: rates (the CI of an exponent against the
prediction) and trends (Kendall's tau with a p-value)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verification.verdicts import Check, minimum_check, trend, trend_check, upper_bound_verdict


def test_check_validates_verdict():
    Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "pass-with-slack")
    with pytest.raises(ValueError, match="verdict must be one of"):
        Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "ok")


@pytest.mark.parametrize(
    "ci, predicted, verdict",
    [
        ((-0.5, -0.3), -0.4, "pass"),  # covers the prediction
        ((-0.4, -0.3), -0.4, "pass"),  # boundary counts as covering
        ((-0.7, -0.5), -0.4, "pass-with-slack"),  # decays faster than the bound: slack, not a failure
        ((-0.35, -0.2), -0.4, "fail"),  # decays slower than the bound allows
        ((3.0, 3.5), 4.0, "pass-with-slack"),  # gap grows in tau slower than tau^4
        ((4.2, 4.8), 4.0, "fail"),
    ],
)
def test_upper_bound_verdict(ci, predicted, verdict):
    assert upper_bound_verdict(ci, predicted) == verdict


@given(st.floats(-3, 3), st.floats(0, 2), st.floats(-3, 3), st.floats(0, 3))
def test_faster_measured_decay_never_worsens_the_verdict(lo, width, predicted, shift):
    rank = {"fail": 0, "pass": 1, "pass-with-slack": 2}
    before = upper_bound_verdict((lo, lo + width), predicted)
    after = upper_bound_verdict((lo - shift, lo + width - shift), predicted)
    assert rank[after] >= rank[before]


@pytest.mark.parametrize("ci, match", [((0.1, -0.1), "low <= high"), ((np.nan, 0.0), "finite")])
def test_upper_bound_verdict_rejects_bad_ci(ci, match):
    with pytest.raises(ValueError, match=match):
        upper_bound_verdict(ci, -0.4)


def test_trend_needs_the_predicted_sign_and_significance():
    x = np.arange(6.0)
    rising = np.array([1.0, 1.1, 1.3, 1.2, 1.6, 1.9])
    assert trend(x, rising, increasing=True)["trend"]
    assert not trend(x, rising, increasing=False)["trend"]  # the wrong sign fails however strong
    assert not trend(x, rising, increasing=True)["monotone"]  # reported beside, not required
    flat = np.array([1.0, 1.2, 0.9, 1.1, 1.0, 1.05])
    assert not trend(x, flat, increasing=True)["trend"]  # no significant trend fails too
    assert not trend(x[:4], rising[:4], increasing=True)["trend"]  # 4 points never reach p < 0.05


def test_trend_check_records_the_statistic_and_the_prediction():
    c = trend_check("capacity-m", "KL falls with m", [8, 16, 32, 64, 128], [0.9, 0.5, 0.3, 0.2, 0.1], False,
                    {"m": [8, 16, 32, 64, 128]})
    assert c.verdict == "pass" and c.predicted == {"decreasing": True}
    assert c.measured["kendall_tau"] == pytest.approx(-1.0) and c.measured["p_value"] < 0.05
    assert trend_check("x", "y", [1, 2, 3, 4, 5], [0.9, 0.5, 0.3, 0.2, 0.1], True, {}).verdict == "fail"


def test_minimum_check_needs_an_interior_minimum_on_every_curve():
    tau = np.geomspace(1.0, 1e4, 9)
    dip = 1.0 / tau + tau / 1e3          # minimum near τ = 30, both ends well above it
    plateau = 1.0 / tau + 1e-3           # falls, then stays flat: no early-stopping benefit
    predicted = {"interior_minimum": True}
    ok = minimum_check("es", "dips", [(tau, dip), (tau, 2 * dip)], predicted, {"extra": 1})
    assert ok.verdict == "pass" and ok.measured["with_interior_minimum"] == 2 and ok.measured["extra"] == 1
    assert minimum_check("es", "dips", [(tau, dip), (tau, plateau)], predicted).verdict == "fail"
