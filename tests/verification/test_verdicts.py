"""Checks (verification.verdicts): the six words, the fields every check carries, and make_check applying a
claim's rule; the rules themselves are tested in test_rules.py."""

from __future__ import annotations

import numpy as np
import pytest

from verification.claims import CLAIMS
from verification.rules import Inequality, Values
from verification.statistics.stats import t_interval
from verification.verdicts import SUPPORTING, VERDICTS, Check, make_check


def test_the_six_verdicts():
    assert VERDICTS == ("holds", "consistent", "holds-with-slack", "violated", "mechanism-not-observed",
                        "inconclusive")
    assert set(SUPPORTING) < set(VERDICTS)


def test_check_validates_verdict_statistic_size_and_power():
    Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "holds-with-slack", "a slope", size=0.02, power=0.9)
    with pytest.raises(ValueError, match="verdict must be one of"):
        Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "pass", "a slope")
    with pytest.raises(ValueError, match="statistic"):
        Check("kl-rate", "KL ≲ n^-2/5", -0.5, -0.4, "consistent", "")
    with pytest.raises(ValueError, match="power"):
        Check("b", "bound", 1, 1, "holds", "ratio", power=1.5)
    with pytest.raises(ValueError, match="size"):
        Check("b", "bound", 1, 1, "holds", "ratio", size=-0.1)


def test_check_json_carries_rule_size_power_and_alternative():
    plain = Check("a", "claim", 1, 2, "holds", "ratio", rule="exact", size=0.0, power=None,
                  alternative="none").to_json()
    assert plain["rule"] == "exact" and plain["size"] == 0.0 and plain["power"] is None
    assert "controls" not in plain and "reason" not in plain and plain["raw_verdict"] == "holds"
    fitted = Check("b", "claim", 1, 2, "inconclusive", "ratio", rule="fitted", size=0.3, power=0.4,
                   reason="holds withheld", raw_verdict="holds", controls=({"shape": "1/n", "rejected": False},))
    d = fitted.to_json()
    assert d["power"] == 0.4 and d["controls"] == [{"shape": "1/n", "rejected": False}]
    assert d["reason"] == "holds withheld" and d["raw_verdict"] == "holds"


def test_make_check_applies_the_claims_rule():
    slow = make_check(CLAIMS["rate-n-K1"], Values([-0.1, -0.12, -0.08, -0.11, -0.09]), 500)
    assert slow.verdict == "violated" and slow.rule == "rate" and slow.size <= 0.05 and slow.power > 0.8
    assert slow.predicted == pytest.approx(-0.4) and "n^(-2/5)" in slow.claim
    exact = make_check(CLAIMS["K2<=K1-lemma2"], Inequality(False, {"max_K2_over_K1": 1.2}), 10)
    assert exact.verdict == "violated" and exact.power is None and exact.size == 0.0


def test_a_mechanism_claim_is_never_violated():
    """A contrary trend of something an upper bound only allows is a mechanism not observed."""
    from verification.rules import Profile

    rising = Profile((8.0, 16, 32, 64, 128, 256), tuple((1.0, 1.3, 1.7, 2.2, 2.9, 3.8) for _ in range(3)))
    c = make_check(CLAIMS["capacity-m"], rising, 500, n=64)
    assert c.verdict == "mechanism-not-observed" and CLAIMS["capacity-m"].contradicts == "mechanism"


def test_t_interval_matches_the_textbook_formula():
    v = np.array([0.9, 1.3, 1.1, 0.7, 1.0])
    mean, lo, hi = t_interval(v)
    half = 2.7764451051977987 * v.std(ddof=1) / np.sqrt(5)  # t_{0.975, 4}
    assert mean == pytest.approx(1.0) and (lo, hi) == pytest.approx((1.0 - half, 1.0 + half))
    with pytest.raises(ValueError, match="one per seed"):
        t_interval([1.0])
