"""K1 at τ = ∞ (Measurement.K1_inf): the empirical flow's limit from 0, against the closed-form flow at a τ
where every resolved component has converged and against an independent solve (QR with column pivoting)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import linalg

from empirical.rf.features import rf_score
from empirical.rf.flow import gradient_flow
from empirical.kl import kl_score_bound
from empirical.rf.loss import empirical_loss, population_loss
from empirical.measure import MeasureConfig, Measurement, make_target, measure


def _references(r: Measurement) -> tuple[float, float]:
    """(K1 of the flow at τ = 25 / (smallest resolved eigenvalue of B̂1), where e^{-2βτ} <= e^{-50} on every
    resolved component; K1 at the minimum-norm minimiser by scipy's gelsy, same cutoff)."""
    c = r.config
    target = make_target(c)
    emp = empirical_loss(r.x_train, r.features, target.sde, c.lam, t0=c.t0)
    g2 = population_loss(target, r.features, "g2", t0=c.t0)
    cut = c.m * np.finfo(float).eps
    beta, _ = emp.spectrum
    tau = 25.0 / beta[beta > cut * beta.max()].min()
    by_qr = np.sqrt(c.m) * linalg.lstsq(emp.B1, emp.B2, cond=cut, lapack_driver="gelsy")[0].T
    k1 = kl_score_bound(target, rf_score(r.features, np.stack([gradient_flow(emp, [tau])[0], by_qr])), c.t0, loss=g2)
    return float(k1[0]), float(k1[1])


@pytest.mark.parametrize("n,m,mu", [(16, 16, 3.0), (16, 128, 4.0)])
def test_k1_inf_is_the_flows_limit_and_an_independent_solves(n, m, mu):
    r = measure(MeasureConfig(n=n, m=m, mu=mu, taus=(1.0, 1e4), kl=("K1",), m_ref_factor=0, seed=0))
    by_flow, by_qr = _references(r)
    rounding = r.quantities["K1_inf_rounding"]
    print(f"m={m}: K1_inf {r.K1_inf:.12g}, flow {by_flow / r.K1_inf - 1:.1e}, gelsy {by_qr / r.K1_inf - 1:.1e}, "
          f"rounding {rounding / r.K1_inf:.1e}")
    assert by_flow == pytest.approx(r.K1_inf, rel=1e-9)
    assert abs(by_qr - r.K1_inf) <= 10 * max(rounding, 1e-9 * r.K1_inf)
    assert 0 <= rounding < 1e-6 * r.K1_inf
    assert not np.isclose(r.K["K1"][-1], r.K1_inf, rtol=1e-6)  # τ = 1e4 is not yet the limit


def test_k1_inf_round_trips_and_is_nan_for_older_numerics():
    r = measure(MeasureConfig(n=8, m=8, taus=(1.0,), kl=("K1",), m_ref_factor=0))
    obj = json.loads(json.dumps(r.to_json()))
    assert Measurement.from_json(obj).K1_inf == r.K1_inf
    del obj["quantities"]["K1_inf"]
    assert np.isnan(Measurement.from_json(obj).K1_inf)
