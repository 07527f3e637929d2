"""KL(p_{t0} ‖ p_θ) in 1-D by the samplers' laws and the integrated score (docs/theory.md §4).

- K2 :func:`kl_sde`: KL to the law of the reverse-SDE sampler (3) started from π, by Fokker–Planck.
- K3 :func:`kl_ode`: KL to the law of the probability-flow ODE sampler (4), by Remark 3.
- K4 :func:`kl_integrated`: KL to p_{0,θ} ∝ exp(∫ s_{t0,θ}) exactly as (11).

K1, the score bound of Lemma 2, is :func:`empirical.kl.kl_score_bound`. Every reference density is
p_{t0}, the law the samplers approximate at the time they stop, so that K2 ≤ K1 is exactly Lemma 2.
Default discretisation errors on ``two_mode(3)`` with a fitted m = 1024 random-ReLU score: K1 ~1e-6,
K2 ~1e-5, K3 ~1e-4, K4 ~1e-8 (tests/empirical/test_kl.py); far smaller for smooth scores. The grids
must resolve p_{t0}: a cell width below a tenth of its narrowest scale (diffused point masses at
small t0 need more cells than the default).
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
from scipy import integrate

from ..checks import check_int, check_t0
from ..quadrature import time_steps
from ..scores import ScoreModel
from ..targets import Target1D
from .divergence import kl_cells, kl_nodes
from .flow_ode import probability_flow
from .fokker_planck import FPSolution, reverse_fokker_planck, start_cells
from .grids import cell_average, space_edges

_SDE_STEPS = 128


def sde_law(target: Target1D, score: ScoreModel, t0: float = 0.0, n_cells: int = 1200,
            n_steps: int = _SDE_STEPS, power: float = 2.0, scheme: str = "trbdf2",
            start_pdf: Callable[[np.ndarray], np.ndarray] | None = None, tail: float = 10.0,
            prior_tail: float = 10.0) -> FPSolution:
    """The law at t0 of the reverse SDE (3) driven by ``score``, started at T from ``start_pdf``.

    ``start_pdf`` None is π = N(0, 1) (the sampler); ``target.pdf`` at T gives the exact start.
    Grid: :func:`~empirical.kl.grids.space_edges`; time steps :func:`~empirical.quadrature.time_steps`.
    """
    edges = space_edges(target, t0, n_cells, tail, prior_tail)
    t_nodes = time_steps(t0, target.sde.T, n_steps, power)
    return reverse_fokker_planck(target.sde, score, edges, t_nodes, start_cells(edges, start_pdf), scheme)


def kl_sde(target: Target1D, score: ScoreModel, t0: float = 0.0, **kwargs) -> float:
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


def kl_ode(target: Target1D, score: ScoreModel, t0: float = 0.0, n_x: int = 1201,
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
    t_nodes = time_steps(t0, target.sde.T, n_steps, power)
    flow = probability_flow(target.sde, score, x0, t_nodes, method, divergence=form == "divergence")
    if form == "divergence":
        return kl_nodes(target.logpdf(t0, x0), flow.logq, x0)
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


def kl_integrated(target: Target1D, score: ScoreModel, t0: float = 0.0, n_x: int = 4001,
                  tail: float = 10.0, prior_tail: float = 10.0) -> float:
    """K4 = KL(p_{t0} ‖ p_{0,θ}) with p_{0,θ} ∝ exp(∫ s_θ(t0, ·)) as (11), on the K2 interval."""
    t0 = check_t0(t0, target.sde.T)
    x = space_edges(target, t0, check_int("n_x", n_x, 3) - 1, tail, prior_tail)
    return kl_nodes(target.logpdf(t0, x), integrated_logpdf(score, t0, x), x)
