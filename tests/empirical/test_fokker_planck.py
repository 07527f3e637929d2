"""Reverse-SDE law (K2) by Fokker–Planck: conservation, order, closed-form references, and the reach of
the grid (equal cells over p_t0, geometric cells out to where the sampler spreads)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from empirical.rf.features import rf_score
from empirical.kl.fokker_planck import reverse_fokker_planck, start_cells
from empirical.kl import BOUNDARY_MASS_MAX, kl_cells, kl_sde, sde_law
from empirical.kl.grids import cell_average, space_edges
from empirical.quadrature import time_steps
from empirical.scores import exact_score
from empirical.sde import ou
from empirical.targets import two_mode
from references import (GAUSS, LINEAR, LinearScore, fitted_relu, kl_normal, linear_a, linear_b, linear_score_laws,
                        random_relu, relu_features)



@pytest.mark.parametrize("scheme", ["trbdf2", "euler"])
def test_mass_is_conserved_and_euler_stays_positive(scheme: str) -> None:
    score = random_relu(64, np.random.default_rng(4), scale=20.0)
    target = two_mode(3.0)
    law = sde_law(target, score, n_cells=300, n_steps=40, scheme=scheme)
    assert law.h.min() < 0.1 < 50.0 < law.h.max()  # the non-uniform grid: window and outer cells
    start_mass = np.sum(start_cells(law.edges) * law.h)
    assert law.mass == pytest.approx(start_mass, rel=1e-12)
    if scheme == "euler":
        assert np.all(law.q > 0)


def _l1_and_kl(scheme: str, n_cells: int, n_steps: int) -> tuple[float, float]:
    """Exact score started from p_T: the law at 0 must be p0 up to discretisation."""
    target = two_mode(3.0)
    law = sde_law(target, exact_score(target), n_cells=n_cells, n_steps=n_steps, scheme=scheme,
                  start_pdf=lambda x: target.pdf(target.sde.T, x))
    p0 = cell_average(lambda x: target.pdf(0.0, x), law.edges)
    return float(np.sum(np.abs(p0 - law.q) * law.h)), kl_cells(p0, law.q, law.h)


@pytest.mark.parametrize("scheme, order", [("trbdf2", 2), ("euler", 1)])
def test_exact_score_from_p_T_converges_at_the_scheme_order(scheme: str, order: int) -> None:
    errs = [_l1_and_kl(scheme, 200 * k, 25 * k) for k in (1, 2, 4)]
    l1 = np.array([e[0] for e in errs])
    kl = np.array([e[1] for e in errs])
    rates = np.log2(l1[:-1] / l1[1:])
    assert np.all(np.abs(rates - order) < 0.25), rates
    # KL is quadratic in the density error: it falls at twice the order, towards 0
    assert np.all(np.log2(kl[:-1] / kl[1:]) > 2 * order - 0.5) and np.all(kl > 0)


def test_linear_score_matches_gaussian_moment_odes() -> None:
    target = GAUSS
    (m, v), _ = linear_score_laws(target.sde, linear_a, linear_b, 0.0)
    errs = []
    for n_cells in (600, 1200):
        law = sde_law(target, LINEAR, n_cells=n_cells, n_steps=200)
        x, w = law.centres, law.q * law.h
        mean = np.sum(x * w)
        var = np.sum((x - mean) ** 2 * w) - np.sum(w * law.h**2) / 12  # cell-average second-moment bias
        errs.append((abs(mean - m), abs(var - v)))
    assert errs[1][1] < 3e-5 and errs[0][1] / errs[1][1] > 3.0  # second order in the cell width
    assert errs[1][0] < 1e-5
    assert kl_sde(target, LINEAR) == pytest.approx(kl_normal(0.5, 0.7, m, v), abs=5e-6)


def test_exact_score_from_prior_obeys_data_processing_and_converges() -> None:
    target = two_mode(3.0, sde=ou(1.0))  # short horizon: KL(p_T || pi) = 0.227, far from 0
    kl_t = target.kl_to_prior()
    coarse = kl_sde(target, exact_score(target), n_cells=400, n_steps=50)
    fine = kl_sde(target, exact_score(target), n_cells=1600, n_steps=200)
    assert fine <= kl_t and coarse <= kl_t
    assert abs(coarse - fine) < 1e-4


def test_bad_input_raises() -> None:
    target = two_mode(1.0)
    edges = space_edges(target, 0.0, 10)
    with pytest.raises(ValueError, match="scheme"):
        reverse_fokker_planck(target.sde, exact_score(target), edges, time_steps(0.0, 5.0, 3), np.ones(10), "cn")
    with pytest.raises(ValueError, match="q_start"):
        reverse_fokker_planck(target.sde, exact_score(target), edges, time_steps(0.0, 5.0, 3), np.ones(9))
    with pytest.raises(ValueError, match="t_nodes"):
        reverse_fokker_planck(target.sde, exact_score(target), edges, np.array([1.0, 0.5]), np.ones(10))
    with pytest.raises(ValueError, match="t0"):
        kl_sde(target, exact_score(target), t0=5.0)


# --- the reach of the grid: equal cells over p_t0, geometric cells out to where the sampler spreads ---

def _kl_to_gaussian(target, var: float) -> float:
    """KL(p0 ‖ N(0, var)) by adaptive quadrature (scipy), independent of every grid."""

    def integrand(x: float) -> float:
        p = float(target.pdf(0.0, np.array([x]))[0])
        return p * (np.log(p) + 0.5 * np.log(2 * np.pi * var) + x * x / (2 * var)) if p > 0 else 0.0

    lo, hi = target.support(0.0, tail=12.0)
    return integrate.quad(integrand, lo, hi, points=[-3.0, 3.0], epsabs=1e-13, epsrel=1e-13, limit=400)[0]


def _zero_model(m: int = 16) -> object:
    """The random-feature model (12) with A = 0, i.e. before any training: s ≡ 0."""
    return rf_score(relu_features(m, np.random.default_rng(0)), np.zeros((1, m)))


def test_zero_score_k2_matches_the_explicit_gaussian_law() -> None:
    # With s ≡ 0 the sampler dx = x ds + √2 dW̄ (s = T - t) is linear: from π its law at 0 is
    # N(0, 2 e^{2T} - 1), sd 210 for T = 5, so K2 = KL(p0 ‖ that Gaussian) (quadrature, no grid).
    target = two_mode(3.0)  # OU, T = 5: the measurement's setting
    var = 2.0 * np.exp(2.0 * target.sde.T) - 1.0
    ref = _kl_to_gaussian(target, var)
    k2, boundary = kl_sde(target, _zero_model(), n_steps=512, return_boundary_mass=True)
    assert boundary <= BOUNDARY_MASS_MAX
    # measured 3.0e-5 at 512 steps (6.1e-4 at the default 128): second order in time, the space error
    # is far smaller (it does not move when n_cells or growth change)
    assert k2 == pytest.approx(ref, abs=1e-4)
    law = sde_law(target, _zero_model(), n_steps=512)
    assert law.mass == pytest.approx(np.sum(start_cells(law.edges) * law.h), rel=1e-12, abs=0)
    assert law.edges[-1] >= 12 * np.sqrt(var) and law.edges[0] <= -12 * np.sqrt(var)
    # inside the window the law is the Gaussian's, to the same time-discretisation error
    window = np.abs(law.centres) < 13.0
    gauss = cell_average(lambda x: np.exp(-x * x / (2 * var)) / np.sqrt(2 * np.pi * var), law.edges)
    np.testing.assert_allclose(law.q[window], gauss[window], rtol=1e-4)
    # the old uniform grid over the window alone (reach 0) holds back 23 % of the mass at its walls
    assert sde_law(target, _zero_model(), reach=0.0).boundary_mass > 0.1


@pytest.mark.parametrize("kind", ["exact", "fitted"])
def test_outer_cells_leave_a_contained_k2_unchanged(kind: str) -> None:
    # A score that keeps the sampler inside the window: the outer cells hold (almost) no mass, the
    # window's cells are those of the uniform grid, so K2 must not move beyond round-off, and both
    # agree with a 2x-refined run to K2's discretisation error.
    target = two_mode(3.0)
    score = exact_score(target) if kind == "exact" else fitted_relu(target, 256, seed=0, ridge=1e-3)
    k2, boundary = kl_sde(target, score, return_boundary_mass=True)
    uniform = sde_law(target, score, reach=0.0)
    p = cell_average(lambda x: target.pdf(0.0, x), uniform.edges)
    assert boundary < 1e-30 and uniform.boundary_mass < 1e-12
    assert k2 == pytest.approx(kl_cells(p, uniform.q, uniform.h), rel=1e-9, abs=1e-12)
    assert abs(k2 - kl_sde(target, score, n_cells=2400, n_steps=256)) < 2e-5


def _rough_edges(n_cells: int) -> np.ndarray:
    """Edges over [-13, 13] whose widths alternate h, 2h: a grid as far from uniform as it gets."""
    w = np.where(np.arange(n_cells) % 2 == 0, 1.0, 2.0)
    return np.concatenate([[-13.0], -13.0 + np.cumsum(w * 26.0 / w.sum())])


def test_non_uniform_cells_converge_at_second_order() -> None:
    # Exact score from p_T: the law at 0 is p0 up to discretisation. On cells of alternating widths
    # the flux must use the distance between the cell centres: then the L1 error falls 4x per halving
    # of cells and steps (measured rates 1.98, 2.00); with a cell width in its place it falls only 2x.
    target = two_mode(3.0)
    errs = []
    for k in (1, 2, 4):
        edges = _rough_edges(200 * k)
        start = start_cells(edges, lambda x: target.pdf(target.sde.T, x))
        law = reverse_fokker_planck(target.sde, exact_score(target), edges, time_steps(0.0, 5.0, 25 * k), start)
        assert law.mass == pytest.approx(np.sum(start * law.h), rel=1e-12, abs=0)
        errs.append(float(np.sum(np.abs(cell_average(lambda x: target.pdf(0.0, x), edges) - law.q) * law.h)))
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(rates - 2) < 0.25), (errs, rates)


def test_reach_widens_for_a_sampler_that_spreads_beyond_the_zero_score_one() -> None:
    # s = 0.1 x pushes outwards harder than s = 0: drift 1.2 x, sd 546 at t = 0 against 210. The
    # default reach (12 x 210) leaves its tail at the walls; the widened one (x 4) holds it, and K2
    # matches the Gaussian law from the moment ODE.
    target = two_mode(3.0)
    outward = LinearScore(lambda t: 0.1, lambda t: 0.0)
    sd0 = np.sqrt(2.0 * np.exp(10.0) - 1.0)
    assert sde_law(target, outward, reach=12 * sd0).boundary_mass > BOUNDARY_MASS_MAX
    law = sde_law(target, outward)
    assert law.boundary_mass <= BOUNDARY_MASS_MAX and law.edges[-1] >= 48 * sd0
    (m, v), _ = linear_score_laws(target.sde, lambda t: 0.1, lambda t: 0.0, 0.0)
    assert abs(m) < 1e-12
    assert kl_sde(target, outward, n_steps=512) == pytest.approx(_kl_to_gaussian(target, v), abs=1e-4)


def test_k2_warns_and_reports_the_mass_when_the_widest_reach_is_too_small() -> None:
    # s = x: drift 3 x spreads π by e^{15}, beyond 64 x the default reach: truncated, and said so
    target = two_mode(3.0)
    with pytest.warns(RuntimeWarning, match="outer cells"):
        _, boundary = kl_sde(target, LinearScore(lambda t: 1.0, lambda t: 0.0), return_boundary_mass=True)
    assert boundary > BOUNDARY_MASS_MAX
