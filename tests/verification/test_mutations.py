"""Engine mutations (verification.mutations): each deliberate fault is caught by at least one exact check on
the fixed set of measurements, the unmutated engine trips none, and no mutation outlives its block."""

from __future__ import annotations

import warnings

import pytest

import empirical.rf.flow
import empirical.kl.fokker_planck
import empirical.kl.score_bound
import empirical.measure.run
from verification.mutations import MUTATIONS, caught_line, exact_failures, measure_set, run_mutations

EXPECTED = {  # a check that must be among those catching each mutation (the reason it is caught)
    "K1 x 2": "independent:K1_quadrature",
    "K1 x 1/2": "K2<=K1",
    "sampler: probability-flow drift": "K2<=K1",
    "sampler: score x 1.5": "K2<=K1",
    "flow at 0.5x speed": "independent:I2_agreement",
    "flow at 2x speed": "independent:I2_agreement",
    "time unit: A-flow (tau/m)": "independent:I2_agreement",
    "time unit: s = m tau": "empirical_flow:lemma5",
    "Lemma 4 on the wrong flow": "population_flow:lemma4",
}


def _engine() -> tuple:
    return (empirical.rf.flow.flow_factor, empirical.kl.score_bound._quadratic,
            empirical.kl.fokker_planck._generator, empirical.measure.run.lemma_checks)


@pytest.fixture(scope="module")
def baseline() -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return exact_failures(measure_set())


def test_no_check_fires_without_a_mutation(baseline):
    assert baseline == []


def test_the_registry_holds_every_named_fault():
    assert set(MUTATIONS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_is_caught(name):
    before = _engine()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        (row,) = run_mutations([name])
    print(f"{name}: caught by {row['caught_by']}")
    assert row["mutation"] == name and EXPECTED[name] in row["caught_by"]
    assert _engine() == before  # the fault is gone after its block


def test_bad_names_and_the_summary_line():
    with pytest.raises(ValueError, match="names"):
        run_mutations(["K1 x 3"])
    assert caught_line([{"mutation": "a", "caught_by": ["K2<=K1"]}]) == "engine mutations caught: 1 of 1"
