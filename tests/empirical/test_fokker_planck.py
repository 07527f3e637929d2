"""Reverse-SDE law (K2) by Fokker–Planck: conservation, order, and closed-form references."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.kl.fokker_planck import reverse_fokker_planck, start_cells
from empirical.kl import kl_cells, kl_sde, sde_law
from empirical.kl.grids import cell_average, space_edges
from empirical.quadrature import time_steps
from empirical.scores import exact_score
from empirical.sde import ou
from empirical.targets import two_mode
from references import GAUSS, LINEAR, kl_normal, linear_a, linear_b, linear_score_laws, random_relu



@pytest.mark.parametrize("scheme", ["trbdf2", "euler"])
def test_mass_is_conserved_and_euler_stays_positive(scheme: str) -> None:
    score = random_relu(64, np.random.default_rng(4), scale=20.0)
    target = two_mode(3.0)
    law = sde_law(target, score, n_cells=300, n_steps=40, scheme=scheme)
    start_mass = start_cells(law.edges).sum() * law.h
    assert law.q.sum() * law.h == pytest.approx(start_mass, rel=1e-12)
    if scheme == "euler":
        assert np.all(law.q > 0)


def _l1_and_kl(scheme: str, n_cells: int, n_steps: int) -> tuple[float, float]:
    """Exact score started from p_T: the law at 0 must be p0 up to discretisation."""
    target = two_mode(3.0)
    law = sde_law(target, exact_score(target), n_cells=n_cells, n_steps=n_steps, scheme=scheme,
                  start_pdf=lambda x: target.pdf(target.sde.T, x))
    p0 = cell_average(lambda x: target.pdf(0.0, x), law.edges)
    return float(np.abs(p0 - law.q).sum() * law.h), kl_cells(p0, law.q, law.h)


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
        x = 0.5 * (law.edges[:-1] + law.edges[1:])
        mean = np.sum(x * law.q) * law.h
        var = np.sum((x - mean) ** 2 * law.q) * law.h - law.h**2 / 12  # cell-average second-moment bias
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
