"""The ridge comparator of Lemma 4 (empirical.rf.comparator): its solve against closed forms and a dense solver,
its norm's stability under the solver's rank cutoff (where the minimum-norm ‖θ*‖² is not stable), and its
growth in m."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from empirical.rf.comparator import RIDGE_REL, comparator, ridge
from empirical.rf.features import draw_features
from empirical.rf.loss import QuadraticLoss, population_loss
from empirical.measure import MeasureConfig, make_target, seeds

RCONDS = (1e-14, 1e-12, 1e-10, 1e-8)
TARGETS = (("gm", 4.0), ("bump", 1.5))


@functools.lru_cache(maxsize=None)
def _population(target: str, mu: float, m: int, seed: int = 100) -> QuadraticLoss:
    """The population loss of a measurement's configuration (its target, features and weighting)."""
    c = MeasureConfig(target=target, mu=mu, m=m, seed=seed)
    return population_loss(make_target(c), draw_features(m, 1, seeds(seed)[1], T=c.T), c.lam)


def _min_norm2(loss: QuadraticLoss, rcond: float) -> float:
    A = loss.minimizer(rcond)
    return float(np.sum(A * A) / loss.m)


def test_ridge_minimizer_against_a_dense_solve_and_a_closed_form():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    B1, B2 = X.T @ X / 40, rng.normal(size=(6, 2))
    loss = QuadraticLoss(B1, B2, 1.0)
    rho = 0.3
    theta = np.linalg.solve(B1 + rho * np.eye(6), B2)  # the normal equations of L̃ + ρ‖θ‖²
    np.testing.assert_allclose(loss.ridge_minimizer(rho), np.sqrt(6) * theta.T, rtol=1e-12)
    # a rank-one B1 = β u uᵀ: the component along u is g/(β + ρ), the rest is 0 whatever ρ
    u = np.array([0.6, 0.8])
    one = QuadraticLoss(2.0 * np.outer(u, u), 2.0 * u[:, None], 3.0)
    np.testing.assert_allclose(one.ridge_minimizer(0.5), np.sqrt(2) * (2.0 / 2.5) * u[None, :], rtol=1e-12)
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="rho"):
            loss.ridge_minimizer(bad)
    with pytest.raises(ValueError, match="rcond"):
        loss.ridge_minimizer(0.1, rcond=1.5)


def test_comparator_norm_excess_and_the_m_free_bound():
    loss = _population("gm", 4.0, 64)
    near = comparator(loss)
    assert near.rho == pytest.approx(RIDGE_REL * np.trace(loss.B1), rel=1e-15) == ridge(loss)
    # excess L̃(θ_ρ) - L̃(θ*) from the spectrum: Σ g² ρ² / (β (β + ρ)²) over the resolved eigenvalues
    beta, V = loss.spectrum
    g2 = np.sum((V.T @ loss.B2) ** 2, axis=1)
    keep = beta > loss.m * np.finfo(float).eps * beta.max()
    excess = np.sum(g2[keep] * near.rho ** 2 / (beta[keep] * (beta[keep] + near.rho) ** 2))
    assert near.excess == pytest.approx(excess, rel=1e-6, abs=1e-12)
    assert near.norm2 == pytest.approx(np.sum(g2 / (beta + near.rho) ** 2), rel=1e-9)
    # ρ‖θ_ρ‖² + L̃(θ_ρ) <= L̃(0) = c, the bound that holds at every m
    assert near.rho * near.norm2 + loss.value(near.A) <= loss.c * (1 + 1e-12)
    with pytest.raises(ValueError, match="trace"):
        ridge(QuadraticLoss(np.zeros((2, 2)), np.zeros((2, 1)), 1.0))


@pytest.mark.parametrize("target,mu", TARGETS)
@pytest.mark.parametrize("m", [128, 312])
def test_norm_as_used_is_stable_under_the_rank_cutoff(target, mu, m):
    """‖θ_ρ‖² moves < 1% across rank cutoffs 1e-14 ... 1e-8 of B1; the minimum-norm ‖θ*‖² it replaces moves
    by far more on the same loss (so this test can tell the two apart)."""
    loss = _population(target, mu, m)
    rho = ridge(loss)
    ridge_norms = np.array([float(np.sum(loss.ridge_minimizer(rho, r) ** 2) / m) for r in RCONDS])
    min_norms = np.array([_min_norm2(loss, r) for r in RCONDS])
    ridge_change = ridge_norms.max() / ridge_norms.min() - 1
    min_change = min_norms.max() / min_norms.min() - 1
    print(f"{target} m={m}: ridge norm2 {ridge_norms[0]:.4g}, change {ridge_change:.2e}; "
          f"min-norm {min_norms[0]:.3g}, change {min_change:.2f}")
    assert ridge_change < 0.01
    assert comparator(loss).norm2 == pytest.approx(ridge_norms[0], rel=0.01)  # the default (no cutoff) too
    assert min_change > 0.5


@pytest.mark.parametrize("target,mu", [TARGETS[0], pytest.param(*TARGETS[1], marks=pytest.mark.slow)])
def test_norm_is_bounded_in_m(target, mu):
    """‖θ_ρ‖² <= L̃(0)/ρ at every m (ρ = RIDGE_REL tr B1 does not depend on m), and the measured growth
    saturates: the exponent of m over m = 256 ... 1024 is below 0.25 (docs/theory.md §3.2); over the whole
    range it is printed beside the minimum-norm ‖θ*‖²'s."""
    ms = np.array([32, 64, 128, 256, 512, 1024])
    losses = [_population(target, mu, int(m)) for m in ms]
    norms = np.array([comparator(L).norm2 for L in losses])
    for L, n2 in zip(losses, norms):
        assert n2 <= L.c / ridge(L)
    rhos = np.array([ridge(L) for L in losses])
    assert rhos.max() / rhos.min() < 1.6  # tr B1 is a mean over features: no trend in m
    slope_all = np.polyfit(np.log(ms), np.log(norms), 1)[0]
    slope_large = np.polyfit(np.log(ms[3:]), np.log(norms[3:]), 1)[0]
    slope_min = np.polyfit(np.log(ms), np.log([_min_norm2(L, L.m * np.finfo(float).eps) for L in losses]), 1)[0]
    print(f"{target}: norm2 {np.round(norms).tolist()}, exponent of m {slope_all:.3f} over 32..1024, "
          f"{slope_large:.3f} over 256..1024; minimum-norm exponent {slope_min:.3f}")
    assert slope_large < 0.25


def test_a_measurement_records_the_comparator_of_its_population_loss():
    from empirical.measure import measure

    r = measure(MeasureConfig(n=16, m=32, taus=(1.0, 1e3, 1e6), kl=("K1",), m_ref_factor=0, seed=4))
    near = comparator(population_loss(make_target(r.config), r.features, r.config.lam))
    q = r.quantities
    assert (q["comparator_norm2"], q["comparator_excess"], q["ridge"]) == (near.norm2, near.excess, near.rho)
    assert q["loss_zero"] > q["loss_star"] and q["comparator_norm2"] <= q["loss_zero"] / q["ridge"]
    # ledger-I2 with this comparator on the measurement's own I2
    assert np.all(r.I2 <= q["comparator_excess"] + q["comparator_norm2"] / (2 * r.taus) + 1e-9)
    # the minimum-norm ‖θ*‖² is still recorded, for comparison only: larger, and moved by the rank cutoff
    assert q["theta_star_norm2"] > q["comparator_norm2"]
