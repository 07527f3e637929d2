"""Every claim of the paper as a test with a verdict (docs/theory.md §8.2), on a small design.

The report's own sweeps run at ``SMALL`` (about a minute on 2 cores); each check must not be
"fail". Trend claims need at least 5 points (Kendall's tau reaches p < 0.05 only from n = 5). Exact checks (Lemmas 4-5, K2 <= K1) failing make ``build`` raise. A claim the measurements
contradict at this design is a finding: it is marked xfail(strict=True) with the measured numbers,
so the test fails as soon as the finding no longer reproduces.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from verification.claims import CLAIMS
from verification.mnist import Design
from verification.paper_runs import PaperDesign
from verification.report import build
from verification.sweeps import QUICK

SMALL = replace(
    QUICK, name="small", seeds=(0, 1, 2), taus=tuple(10 ** (k / 3) for k in range(31)),
    kl_taus=tuple(10.0**k for k in range(0, 11, 2)), curve_ns=(16, 64), curve_m=128, rate_ns=(16, 32, 64, 128),
    m_sweep=(8, 16, 32, 64, 128), m_sweep_n=64, mu_sweep=(2.5, 3.0, 4.0, 6.0, 8.0), mu_n=64, mu_m=128,
    gap_ns=(16, 32, 64, 128), gap_m=128, bump_ns=(16, 32, 64), heldout=2,
    mnist_designs=(Design(K=10, d=8, m=64, taus=(10.0, 1e3, 1e5), seeds=(0, 1, 2, 3, 4), n_pairs=6, min_size=100,
                          samples=4),),
    paper=PaperDesign(seeds=(0, 1, 2), epochs=40, eval_every=5, widths=(2, 4, 8, 16, 32), width_seeds=(0,),
                      width_epoch=20, width_cap=40, width_eval_every=5, flow_seeds=(0, 1, 2), flow_epochs=20,
                      flow_eval_every=5, n=256, measures=("K2", "grid_kl", "grid_kl_wide", "mass_pos"),
                      density_epochs=(5, 20, 35)),
)

SUPPORTS = ("holds", "consistent", "holds-with-slack")
"""The verdicts that do not contradict the paper (docs/theory.md §8)."""

FINDINGS: dict[str, str] = {
    "early-stopping-K1": "mechanism-not-observed: along m = n, K1 rises after its minimum at every seed for "
                         "n = 32, 64, 128 but plateaus at one seed of n = 16 (rises 18%, 5.7%, 1.5e-12)",
    "tau-es-vs-n": "inconclusive: the slope of tau_es in n is 1.72, 95% t interval [-0.99, 4.43] over 3 seeds: it "
                   "holds both the prescription 2/5 and tau_mem ~ n",
    "modes-shift-tau": "mechanism-not-observed: tau_es grows with mu instead of shrinking (geometric means 1.4e7, "
                       "1.5e7, 1.8e7, 3.9e7, 1.6e8 at mu = 2.5, 3, 4, 6, 8; Kendall tau +1.0; n = 64, m = 128)",
    "gap-grows-tau": "mechanism-not-observed: I1 saturates in tau; its slope over the last two decades is 0.008 "
                     "[0.002, 0.015] at n = 16, far below the generalisation terms' tau^3-tau^4",
    "theorem1-early-stopping": "mechanism-not-observed: on the compact-support target K1 plateaus after its minimum "
                               "(rises 2.2%, 0%, 0% over seeds at n = 16, m = 128)",
    "calibrated-bound-theorem2": "inconclusive at this design: 2 held-out draws (6 points) under the bound, 0 of 5 "
                                 "named controls rejected",
    "calibrated-bound-theorem1": "inconclusive at this design: 2 held-out draws (6 points) under the bound, 1 of 5 "
                                 "named controls rejected",
    "lemma5-as-stated": "violated: max_tau ||theta(tau)|| / sqrt(tau/m) grows as m^0.54 [0.43, 0.64] at n = 64 in "
                        "the flows' time; in the A-flow's time s = m tau the exponent is 0.04 [-0.07, 0.14] "
                        "(docs/theory.md §3.1)",
    "dimension-poly-vs-exp-I1": "inconclusive: at fixed m = 32 (n = 32) I1 at tau_es is flat in d = 2..128 (exponent "
                                "0.017 [-0.050, 0.084]; dAIC -0.4, -1.8, -0.4, and the exponential control is not "
                                "called exponential either: power 0); with m = 4d it grows as d^0.84 [0.53, 1.14] "
                                "(dAIC 14-17, polynomial)",
    "mnist-gap": "inconclusive at this design (K = 10, d = 8, m = 64, 5 seeds): farthest minus nearest gap -0.008 "
                 "[-0.116, 0.100] nats/dim (per seed 0.049, -0.028, -0.147, 0.009, 0.076)",
    "mnist-gap-vs-distance": "inconclusive at this design: Kendall tau of the gap against centre distance 0.60, "
                             "p = 0.14 over 6 pairs (0.20, p = 0.72 against distance / spread)",
    "paper-fig3-sgd-minimum": "mechanism-not-observed at this design (40 epochs, n = 256): 0 of 3 seeds rise after "
                              "their K2 minimum (epochs 40, 40, 30; K2 0.272, 0.304, 0.282); rise / noise 0.32 "
                              "[-1.06, 1.70]",
    "paper-fig8-adam-minimum": "mechanism-not-observed at this design: K2 still falls at the last epoch (40) in every "
                               "seed (K2 0.611, 0.656, 0.522)",
    "paper-modes-best-epoch-earlier": "inconclusive at this design (40 epochs, n = 256): with SGD the best epochs at "
                                      "mu = 15 are 40, 20, 30 against 40, 40, 30 at mu = 3 (difference -6.7 [-35, 22]); "
                                      "with Adam 35 [22, 47] epochs earlier",
    "paper-modes-collapse": "mechanism-not-observed at this design: at epoch 35 no mu = 15 sampler has collapsed to one "
                            "mode (mass on x > 0: 0.529-0.537 with SGD, 0.499-0.524 with Adam)",
    "paper-fig11-width": "inconclusive at this design: K2 at epoch 20 is 0.758, 0.337, 0.371, 0.331, 0.377 at widths "
                         "2-32 (Kendall tau -0.20, p = 0.82); no width reaches K2 <= 0.1 by epoch 40",
    "paper-metric-agreement": "inconclusive at this design: Spearman rho of the grid metric against K2 is 0.98, 0.93, "
                              "0.79 (SGD) and 0.10, -0.17, -0.74 (Adam); mean 0.31 [-0.42, 1.04]",
}


@pytest.fixture(scope="module")
def checks(tmp_path_factory) -> dict:
    result = build(SMALL, tmp_path_factory.mktemp("report"), show_progress=False)
    return {c.name: c for c in result["checks"]}


TESTED = list(CLAIMS)


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=FINDINGS[n])) if n in FINDINGS else n for n in TESTED
])
def test_claim(checks, name):
    check = checks[name]
    assert check.verdict in SUPPORTS, f"{check.claim}: {check.verdict}; measured {check.measured}, predicted {check.predicted}"


def test_every_check_is_tested_and_is_a_claim_of_the_registry(checks):
    assert set(checks) == set(CLAIMS)
    assert list(checks) == list(CLAIMS)  # the report shows the claims in the registry's order


def test_every_check_states_its_statistic_and_a_verdict_of_the_six(checks):
    from verification.verdicts import VERDICTS

    assert all(c.statistic and c.verdict in VERDICTS for c in checks.values())


def test_each_negative_control_is_rejected_or_the_check_is_inconclusive(checks):
    fitted = [c for c in checks.values() if c.controls is not None]
    assert {c.name for c in fitted} >= {"calibrated-bound-theorem1", "calibrated-bound-theorem2", "ledger-I1",
                                         "ledger-I3"}
    for c in fitted:
        named = [x for x in c.controls if x["named"]]
        assert c.power == pytest.approx(np.mean([x["rejected"] for x in named]))
        assert c.verdict == "inconclusive" or all(x["rejected"] for x in named), (c.name, c.controls)
