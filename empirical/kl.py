"""KL(p_{t0} ‖ p_θ) in 1-D, four ways (THEORY §4); t0 = 0 gives KL(p0 ‖ p_θ).

- K1 ``kl_score_bound``: the score bound of Lemma 2 (Song, Durkan, Murray, Ermon 2021, Thm 1),
  ½ ∫_{t0}^T g² E_{p_t}(∇log p_t - s_θ)² dt + KL(p_T ‖ π).
- K2 ``kl_sde``: KL to the law of the reverse-SDE sampler (3) started from π, by Fokker–Planck.
- K3 ``kl_ode``: KL to the law of the probability-flow ODE sampler (4), by Remark 3.
- K4 ``kl_integrated``: KL to p_{0,θ} ∝ exp(∫ s_{t0,θ}) exactly as (11).

Every reference density is p_{t0}, the law the samplers approximate at the time they stop, so
that K2 ≤ K1 is exactly Lemma 2. Default discretisation errors on ``two_mode(3)`` with a fitted
m = 1024 random-ReLU score: K1 ~1e-6, K2 ~1e-5, K3 ~1e-4, K4 ~1e-8 (tests/test_kl.py); far
smaller for smooth scores. The grids must resolve p_{t0}: a cell width below a tenth of its
narrowest scale (diffused point masses at small t0 need more cells than the default).
"""

from __future__ import annotations

import time
import warnings
from typing import Callable

import numpy as np
from scipy import integrate

from .flow_ode import probability_flow
from .fokker_planck import FPSolution, reverse_fokker_planck, start_cells
from .grids import cell_average, check_int, check_t0, gauss_legendre_sqrt, space_edges, time_grid
from .score_models import ScoreModel
from .targets import GaussianMixture1D


_P_FLOOR = 1e-30
_UNDERFLOW_MASS = 1e-15
_SDE_STEPS = 128


def kl_cells(p: np.ndarray, q: np.ndarray, h: float) -> float:
    """Σ_i h p_i log(p_i / q_i) for cell averages: the KL of the two coarse-grained laws.

    By the data-processing inequality it is at most the KL of the densities; the gap is O(h²).
    Cells with p_i < 1e-30 max(p) are left out: for any q_i above the smallest double their
    terms add up to less than 1e-26 (p_i log(p_i/q_i) < 745 p_i), while there q_i is below the
    solvers' round-off and may come out <= 0. Kept cells whose q_i underflowed to <= 0 while
    holding less than ``_UNDERFLOW_MASS`` of p in total are evaluated at q_i = the smallest normal
    double (their terms then add at most 709 x that mass); more mass there makes the KL +inf.
    """
    mask = p >= _P_FLOOR * np.max(p)
    under = mask & (q <= 0)
    if np.any(under):
        if h * np.sum(p[under]) >= _UNDERFLOW_MASS:
            return float("inf")
        q = np.where(under, np.finfo(float).tiny, q)
    return float(h * np.sum(p[mask] * np.log(p[mask] / q[mask])))


def _kl_nodes(logp: np.ndarray, logq: np.ndarray, x: np.ndarray) -> float:
    """∫ p (log p - log q) dx by the trapezoid rule on nodes (spectral for smooth, Gaussian-tailed p)."""
    return float(integrate.trapezoid(np.exp(logp) * (logp - logq), x))


def score_error(target: GaussianMixture1D, score: ScoreModel, t: float, n_x: int = 801,
                tail: float = 10.0) -> float:
    """E_{p_t}(∇log p_t - s_θ(t, ·))² by the trapezoid rule on ``n_x`` nodes over support(p_t)."""
    x = np.linspace(*target.support(t, tail=tail), n_x)
    return float(integrate.trapezoid(target.pdf(t, x) * (target.score(t, x) - score(t, x)) ** 2, x))


def kl_score_bound(target: GaussianMixture1D, score: ScoreModel, t0: float = 0.0, n_panels: int = 8,
                   order: int = 8, n_x: int = 801, tail: float = 10.0) -> float:
    """K1 = ½ ∫_{t0}^T g(t)² E_{p_t}(∇log p_t - s_θ)² dt + KL(p_T ‖ π) (Lemma 2).

    Time: composite Gauss–Legendre in u with t = t0 + u² (``n_panels`` × ``order`` nodes);
    space: ``score_error``. KL(p_T ‖ π) by ``target.kl_to_prior`` (adaptive quadrature).
    """
    sde = target.sde
    n_x = check_int("n_x", n_x, 3)
    t, w = gauss_legendre_sqrt(t0, sde.T, n_panels, order)
    err = np.array([float(sde.g2(tk)) * score_error(target, score, tk, n_x, tail) for tk in t])
    return 0.5 * float(w @ err) + target.kl_to_prior()


def sde_law(target: GaussianMixture1D, score: ScoreModel, t0: float = 0.0, n_cells: int = 1200,
            n_steps: int = _SDE_STEPS, power: float = 2.0, scheme: str = "trbdf2",
            start_pdf: Callable[[np.ndarray], np.ndarray] | None = None, tail: float = 10.0,
            prior_tail: float = 10.0) -> FPSolution:
    """The law at t0 of the reverse SDE (3) driven by ``score``, started at T from ``start_pdf``.

    ``start_pdf`` None is π = N(0, 1) (the sampler); ``target.pdf`` at T gives the exact start.
    Grid: ``grids.space_edges``; time steps ``grids.time_grid(t0, T, n_steps, power)``.
    """
    edges = space_edges(target, t0, n_cells, tail, prior_tail)
    t_nodes = time_grid(t0, target.sde.T, n_steps, power)
    return reverse_fokker_planck(target.sde, score, edges, t_nodes, start_cells(edges, start_pdf), scheme)


def kl_sde(target: GaussianMixture1D, score: ScoreModel, t0: float = 0.0, **kwargs) -> float:
    """K2 = KL(p_{t0} ‖ q^SDE) with cell averages of both (``kl_cells``); kwargs go to ``sde_law``.

    TR-BDF2 (second order) is not positivity-preserving: for a strongly overfitted score it can leave
    q = -1e-90 in far-tail cells where p_{t0} ~ 1e-19 still counts. Then the law is recomputed with
    backward Euler (an M-matrix with Scharfetter-Gummel fluxes, so q > 0) on four times the steps.
    """
    t0 = check_t0(t0, target.sde.T)
    law = sde_law(target, score, t0, **kwargs)
    p = cell_average(lambda x: target.pdf(t0, x), law.edges)
    out = kl_cells(p, law.q, law.h)
    if np.isinf(out) and kwargs.get("scheme", "trbdf2") == "trbdf2":
        warnings.warn("K2: TR-BDF2 left q <= 0 where p_t0 has mass (an overfitted score, or cells that do not "
                      "resolve p_t0); recomputed with backward Euler on 4x the steps", RuntimeWarning, stacklevel=2)
        steps = 4 * kwargs.get("n_steps", _SDE_STEPS)
        law = sde_law(target, score, t0, **{**kwargs, "scheme": "euler", "n_steps": steps})
        out = kl_cells(p, law.q, law.h)
    if law.boundary_mass > 1e-6:
        warnings.warn(f"K2: mass {law.boundary_mass:.2e} sits in the two outer cells; the zero-flux walls "
                      "truncate this model's sampler: widen tail/prior_tail", RuntimeWarning, stacklevel=2)
    if np.isinf(out):
        warnings.warn("K2: the computed law is <= 0 where p_t0 has mass: the cells do not resolve p_t0 "
                      "(keep h below a tenth of its narrowest scale)", RuntimeWarning, stacklevel=2)
    return out


def kl_ode(target: GaussianMixture1D, score: ScoreModel, t0: float = 0.0, n_x: int = 1201,
           n_steps: int = 64, power: float = 2.0, method: str = "rk4", form: str = "cells",
           tail: float = 10.0) -> float:
    """K3 = KL(p_{t0} ‖ q^ODE), q^ODE the law at t0 of the ODE sampler (4) from π (Remark 3).

    form 'cells' (default): ``n_x`` equal cells over support(p_{t0}); q^ODE-mass of each cell from
    the flow map of its edges (``FlowResult.cell_masses``, no ∂_x s needed) and ``kl_cells``.
    form 'divergence': log q^ODE = log π(x(T)) + ℓ(T) at ``n_x`` nodes, trapezoid rule in x.
    Both are exact up to discretisation; 'cells' keeps RK4's order in time when ∂_x s jumps.
    """
    if form not in ("cells", "divergence"):
        raise ValueError(f"form must be 'cells' or 'divergence', got {form!r}")
    t0 = check_t0(t0, target.sde.T)
    x0 = np.linspace(*target.support(t0, tail=tail), check_int("n_x", n_x, 3))
    t_nodes = time_grid(t0, target.sde.T, n_steps, power)
    flow = probability_flow(target.sde, score, x0, t_nodes, method, divergence=form == "divergence")
    if form == "divergence":
        return _kl_nodes(target.logpdf(t0, x0), flow.logq, x0)
    h = float(x0[1] - x0[0])
    out = kl_cells(cell_average(lambda x: target.pdf(t0, x), x0), flow.cell_masses() / h, h)
    if np.isinf(out):
        warnings.warn("K3: the computed flow map is not increasing where p_t0 has mass (the steps are "
                      "too coarse for this score, or it contracts cells below round-off): raise n_steps "
                      "or use form='divergence'", RuntimeWarning, stacklevel=2)
    return out


def integrated_logpdf(score: ScoreModel, t0: float, x: np.ndarray) -> np.ndarray:
    """log p_{0,θ} of (11) on the uniform nodes ``x``: cumulative Simpson of s_θ(t0, ·), normalised
    by the trapezoid rule on [x[0], x[-1]] (the density is the one restricted to the grid)."""
    cum = integrate.cumulative_simpson(score(t0, x), x=x, initial=0.0)
    cum -= cum.max()
    return cum - np.log(integrate.trapezoid(np.exp(cum), x))


def kl_integrated(target: GaussianMixture1D, score: ScoreModel, t0: float = 0.0, n_x: int = 4001,
                  tail: float = 10.0, prior_tail: float = 10.0) -> float:
    """K4 = KL(p_{t0} ‖ p_{0,θ}) with p_{0,θ} ∝ exp(∫ s_θ(t0, ·)) as (11), on the K2 interval."""
    t0 = check_t0(t0, target.sde.T)
    x = space_edges(target, t0, check_int("n_x", n_x, 3) - 1, tail, prior_tail)
    return _kl_nodes(target.logpdf(t0, x), integrated_logpdf(score, t0, x), x)


def measure_all(target: GaussianMixture1D, score: ScoreModel, t0: float = 0.0) -> dict[str, float]:
    """K1..K4 at default accuracy, and their wall times in seconds under ``time_K1`` etc."""
    out: dict[str, float] = {}
    for name, fn in (("K1", kl_score_bound), ("K2", kl_sde), ("K3", kl_ode), ("K4", kl_integrated)):
        start = time.perf_counter()
        out[name] = fn(target, score, t0)
        out[f"time_{name}"] = time.perf_counter() - start
    return out
