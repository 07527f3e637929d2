"""Every claim of the paper as a test with a verdict (docs/theory.md §8.2), on a small design.

The report's own sweeps run at ``SMALL`` (about a minute on 2 cores); each check must not be
"fail". Trend claims need at least 5 points (Kendall's tau reaches p < 0.05 only from n = 5). Exact checks (Lemmas 4-5, K2 <= K1) failing make ``build`` raise. A claim the measurements
contradict at this design is a finding: it is marked xfail(strict=True) with the measured numbers,
so the test fails as soon as the finding no longer reproduces.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from verification.claims import CLAIMS
from verification.report import build
from verification.sweeps import QUICK

SMALL = replace(
    QUICK, name="small", seeds=(0, 1, 2), taus=tuple(10 ** (k / 3) for k in range(31)),
    kl_taus=tuple(10.0**k for k in range(0, 11, 2)), curve_ns=(16, 64), curve_m=128, rate_ns=(16, 32, 64, 128),
    m_sweep=(8, 16, 32, 64, 128), m_sweep_n=64, mu_sweep=(2.5, 3.0, 4.0, 6.0, 8.0), mu_n=64, mu_m=128,
    gap_ns=(16, 32, 64, 128), gap_m=128, bump_ns=(16, 32, 64), heldout=2,
)

FINDINGS: dict[str, str] = {
    "tau-es-vs-n": "finding: the measured early-stopping time grows much faster than n^(2/5) along m = n "
                   "(slope 1.83, 95% CI [0.80, 2.55] at this design; 1.45 [0.89, 1.85] in the quick report)",
    "modes-shift-tau": "finding: tau_es grows with mu instead of shrinking (seed-mean tau_es 2.8e7, 3.1e7, 3.6e7, "
                       "5.7e7, 1.7e8 at mu = 2.5, 3, 4, 6, 8, Kendall tau +1.0; n = 64, m = 128)",
    "theorem1-early-stopping": "finding: on the compact-support target K1 plateaus instead of rising after its "
                               "minimum (rise 2.2%, 0%, 0% over seeds at n = 16, m = 128; the check needs 5%)",
}


@pytest.fixture(scope="module")
def checks(tmp_path_factory) -> dict:
    result = build(SMALL, tmp_path_factory.mktemp("report"), show_progress=False)
    return {c.name: c for c in result["checks"]}


TESTED = [
    "lemmas-4-5-exact", "K2<=K1-lemma2", "early-stopping-K1", "early-stopping-K2", "rate-n-K1", "rate-n-K2",
    "tau-es-vs-n", "capacity-m", "I3-vs-m", "modes-shift-KL", "modes-shift-tau", "modes-shift-power",
    "gap-grows-tau", "gap-shrinks-n", "theorem1-rate-n", "theorem1-early-stopping",
    "calibrated-bound-theorem2", "calibrated-bound-theorem1",
]


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=FINDINGS[n])) if n in FINDINGS else n for n in TESTED
])
def test_claim(checks, name):
    check = checks[name]
    assert check.verdict in ("pass", "pass-with-slack"), f"{check.claim}: measured {check.measured}, predicted {check.predicted}"


def test_every_check_is_tested_and_is_a_claim_of_the_registry(checks):
    assert set(checks) == set(TESTED) == set(CLAIMS)
    assert list(checks) == list(CLAIMS)  # the report shows the claims in the registry's order
