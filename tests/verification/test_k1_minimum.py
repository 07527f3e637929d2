"""verification.designs.sweeps.k1_minimum: where the minimum of a K1 curve over its τ grid and τ = ∞ lies."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.measure import MeasureConfig, Measurement, measure
from verification.designs.sweeps import k1_minimum

TAUS = (1.0, 10.0, 100.0, 1000.0)


def _curve(k1, k1_inf, rounding=0.0, tail=None) -> Measurement:
    q = {"K1_inf": k1_inf, "K1_inf_rounding": rounding} if k1_inf is not None else {}
    if tail is not None:
        q.update(K1_tail=list(tail), K1_tail_tau=[1e4, 1e5, 1e6][:len(tail)])
    z = np.zeros(len(TAUS))
    return Measurement(MeasureConfig(n=8, m=8, taus=TAUS, kl=("K1",)), {"K1": np.asarray(k1, dtype=float)}, z, z,
                       float("nan"), {}, q, {})


@pytest.mark.parametrize("k1,k1_inf,rounding,where,tau,value", [
    ([4.0, 2.0, 1.5, 1.2], 1.2 + 1e-10, 0.0, "limit", np.inf, 1.2 + 1e-10),    # converged: the limit, exactly
    ([4.0, 2.0, 1.5, 1.2], 1.1, 0.0, "beyond-grid", 1000.0, 1.2),               # still falling at the end
    ([4.0, 2.0, 1.5, 1.2], 1.3, 0.0, "beyond-grid", 1000.0, 1.2),               # rises again after the grid
    ([4.0, 1.0, 1.5, 1.6], 1.6, 0.0, "interior", 10.0, 1.0),                    # early stopping inside the grid
    ([4.0, 1.0, 1.5, 1.6], 0.5, 0.0, "beyond-grid", 10.0, 1.0),                 # ... but the limit is lower still
    ([1.0, 2.0, 1.5, 1.6], 1.6, 0.0, "start", 1.0, 1.0),
    ([4.0, 2.0, 1.5, 1.2], 1.25, 0.06, "limit", np.inf, 1.25),                  # within K1_inf's own rounding
    ([4.0, 2.0, 1.5, 1.2], None, 0.0, "beyond-grid", 1000.0, 1.2),              # older numerics: grid alone
])
def test_classification(k1, k1_inf, rounding, where, tau, value):
    got = k1_minimum(_curve(k1, k1_inf, rounding))
    assert (got.where, got.tau, got.value) == (where, tau, value)


@pytest.mark.parametrize("tail,k1_inf,where,tau,value", [
    ([1.15, 1.1, 1.1], 1.1, "limit", np.inf, 1.1),               # falls past the grid to the limit: the limit
    ([1.15, 1.05, 1.08], 1.1, "past-grid", 1e5, 1.05),           # dips past the grid and turns: found there
    ([1.15, 1.12, 1.11], 1.1, "beyond-grid", 1e6, 1.11),         # still falling at the tail's end: not resolved
    ([1.25, 1.3, 1.3], 1.3, "interior", 1000.0, 1.2),            # the last grid point, the tail rising: a minimum
])
def test_the_tail_past_the_grid_decides(tail, k1_inf, where, tau, value):
    got = k1_minimum(_curve([4.0, 2.0, 1.5, 1.2], k1_inf, 0.0, tail))
    assert (got.where, got.tau, got.value) == (where, tau, value)


def test_tolerance_is_at_least_the_k1_rounding():
    assert k1_minimum(_curve([4.0, 2.0, 1.5, 1.2], 1.2, 0.0)).tolerance == pytest.approx(1.2e-9)
    assert k1_minimum(_curve([4.0, 2.0, 1.5, 1.2], 1.2, 1e-3)).tolerance == 1e-3
    with pytest.raises(ValueError, match="finite"):
        k1_minimum(_curve([4.0, np.nan, 1.5, 1.2], 1.2))


def test_a_measured_curve_that_reaches_its_limit_and_one_that_stops_early():
    limit = measure(MeasureConfig(n=512, m=8, taus=(1.0, 1e2, 1e4, 1e8, 1e12), kl=("K1",), m_ref_factor=0))
    got = k1_minimum(limit)
    assert got.where == "limit" and got.value == limit.K1_inf and got.value <= limit.K["K1"].min() + got.tolerance
    early = measure(MeasureConfig(n=8, m=64, taus=(1.0, 1e2, 1e4, 1e6, 1e8, 1e10), kl=("K1",), m_ref_factor=0))
    got = k1_minimum(early)
    assert got.where == "interior" and got.value == early.K["K1"].min() < early.K1_inf
