"""KL(p_{t0} ‖ p_θ) in 1-D by the samplers' laws and the integrated score (docs/theory.md §4).

- K2 :func:`kl_sde`: KL to the law of the reverse-SDE sampler (3) started from π, by Fokker–Planck.
- K3 :func:`kl_ode`: KL to the law of the probability-flow ODE sampler (4), by Remark 3.
- K4 :func:`~empirical.kl.integrated.kl_integrated` (its own module): KL to p_{0,θ} ∝ exp(∫ s_{t0,θ}) as (11).

K1, the score bound of Lemma 2, is :func:`empirical.kl.kl_score_bound`. Every reference density is
p_{t0}, the law the samplers approximate at the time they stop, so that K2 ≤ K1 is exactly Lemma 2.
Default discretisation errors on ``two_mode(3)`` with a fitted m = 1024 random-ReLU score: K1 ~1e-6,
K2 ~1e-5, K3 ~1e-4, K4 ~1e-8 (tests/empirical/test_kl.py); far smaller for smooth scores. The grids
must resolve p_{t0}: a cell width below a tenth of its narrowest scale (diffused point masses at
small t0 need more cells than the default). K2's grid also reaches as far as the sampler spreads
(:func:`sde_law`); a K2 whose law keeps more than :data:`BOUNDARY_MASS_MAX` in its two outer cells
is truncated.

The examples use p0 = N(0, 1) under OU with T = 1, whose p_t is π at every t (so KL(p_T‖π) = 0),
and the score of N(0.2, 1) as a model: its laws are unit-variance Gaussians with closed-form KLs.

Every measurement reads the prior π = N(0, ``sde.prior_var``) and the default stopping time
``t0 = sde.eps`` from the target's SDE: OU (π = N(0, 1), t0 = 0) or the variance-exploding
:func:`~empirical.sde.ve` (π = N(0, σ_T²), t0 = ε; docs/theory.md §1). Under VE the equal cells stay
on p_ε and the outer cells hold the wide π (:func:`~empirical.kl.grids.space_edges`); K2 of
``two_mode(3.0, sde=ve())`` with its exact score is within 1e-8 of its exact value at the defaults,
0.07 s (tests/empirical/test_ve.py).

References
----------
arXiv:2311.01797, reverse SDE (3), probability-flow ODE (4), integrated-score density (11),
Lemma 2 and Remark 3; docs/theory.md §4.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from ..checks import check_int, check_t0
from ..quadrature import time_steps
from ..scores import ScoreModel
from ..targets import Target1D
from .divergence import kl_cells, kl_nodes
from .flow_ode import probability_flow
from .fokker_planck import FPSolution, reverse_fokker_planck, start_cells
from .grids import cell_average, space_edges, zero_score_sd
from .probe import checked_score, refuse_nan

_SDE_STEPS = 128
_REACH_SD = 12.0      # default reach: this many standard deviations of the zero-score sampler's law
_WIDEN = 4.0          # each widening multiplies the reach by this ...
_MAX_WIDENINGS = 3    # ... at most this many times (reach at most 64x the default)

BOUNDARY_MASS_MAX = 1e-6
"""A K2 whose law holds more mass than this in the two outer cells of its grid is *truncated*: the
zero-flux walls held back a sampler that spreads further, so it is the KL of a different sampler."""


def sde_law(target: Target1D, score: ScoreModel, t0: float | None = None, n_cells: int = 1200,
            n_steps: int = _SDE_STEPS, power: float = 2.0, scheme: str = "trbdf2",
            start_pdf: Callable[[np.ndarray], np.ndarray] | None = None, tail: float = 10.0,
            prior_tail: float = 10.0, reach: float | None = None, growth: float = 1.05) -> FPSolution:
    """The law at t0 of the reverse SDE (3) driven by ``score``, started at T from ``start_pdf``.

    ``start_pdf`` None is π = N(0, ``sde.prior_var``) (the sampler: N(0, 1) for OU, N(0, σ_T²) for
    VE); ``target.pdf`` at T gives the exact start.
    Grid: :func:`~empirical.kl.grids.space_edges`, ``n_cells`` equal cells over the window that
    resolves p_{t0} and π, then cells growing by ``growth`` out to ``reach``; time steps
    :func:`~empirical.quadrature.time_steps`.

    Reach: by default 12 standard deviations of the zero-score sampler's Gaussian law at t0
    (:func:`~empirical.kl.grids.zero_score_sd`; 12 x 210 = 2520 for OU with T = 5, about 175 outer
    cells a side at growth 1.05), which holds a briefly trained model's expanding sampler (K2's
    cost grows by the ~30 % more cells). 12 rather than ~6: the coarse outer cells have Péclet
    numbers far above 1, where the fluxes are upwind and smear the law, which fattens its tails (the
    zero-score law's variance comes out 1.5x too large at growth 1.05, 2.2x at 1.1), so the law
    outside the window is good for holding the mass and for ``boundary_mass``, not for moments. K2
    sums over the window, where the sampler's drift points outwards towards the coarse cells: it
    did not change (to 1e-13) between growth 1.02 and 1.1 in the cases measured. When the law still
    has more than :data:`BOUNDARY_MASS_MAX` in its two outer cells, the reach is multiplied by 4 and
    the law solved again, at most 3 times (up to 64 x the default reach, about 28 more cells a side
    each time). A score that drives mass further out than that leaves the boundary mass above the
    threshold (``kl_sde`` warns). An explicit ``reach`` is used as given, without widening;
    ``reach=0`` is the window alone (the uniform grid of earlier versions).

    Parameters
    ----------
    target : Target1D
        p0, its forward SDE and the support that sets the grid.
    score : ScoreModel
        The model score driving (3).
    t0 : float, optional
        Where the sampler stops, in [0, T); None (default) is the SDE's ``eps`` (0 for OU, ε for VE).
    n_cells : int, default 1200
        Cells of the space grid, >= 2.
    n_steps, power : int, float
        Time steps (>= 1) and their grading (>= 1) towards t0.
    scheme : {"trbdf2", "euler"}, default "trbdf2"
        Time stepping of :func:`~empirical.kl.fokker_planck.reverse_fokker_planck`.
    start_pdf : callable, optional
        Start density at T.
    tail, prior_tail : float, default 10.0
        Window widths, > 0 (:func:`~empirical.kl.grids.space_edges`).
    reach : float, optional
        Half-width >= 0 covered by the outer cells; None (default) derives and widens it as above.
    growth : float, default 1.05
        Ratio > 1 of consecutive outer cell widths.

    Returns
    -------
    FPSolution
        Cell averages of q^SDE at t0.

    Raises
    ------
    ValueError
        If an argument is outside the range above.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.kl import sde_law
    >>> from empirical.scores import exact_score
    >>> from empirical.sde import ou
    >>> from empirical.targets import gaussian
    >>> p = gaussian(0.0, 1.0, sde=ou(1.0))
    >>> shifted = exact_score(gaussian(0.2, 1.0, sde=ou(1.0)))
    >>> law = sde_law(p, shifted, n_cells=300, n_steps=40)
    >>> abs(law.mass - 1) < 1e-12  # the zero-flux walls conserve mass
    True
    >>> mean = float(np.sum(law.q * law.centres * law.h))
    >>> bool(abs(mean - 0.2 * (1 - np.exp(-2.0))) < 1e-3)  # q^SDE = N(0.2 (1 - e^{-2T}), 1)
    True
    >>> sd0 = np.sqrt(2 * np.exp(2.0) - 1)  # the zero-score sampler's law at 0 is N(0, 2 e^{2T} - 1)
    >>> law.boundary_mass < 1e-30, bool(law.edges[-1] >= 12 * sd0)
    (True, True)
    """
    t0 = target.sde.eps if t0 is None else t0
    t_nodes = time_steps(t0, target.sde.T, n_steps, power)
    widen = reach is None
    r = _REACH_SD * zero_score_sd(target.sde, t0) if widen else reach
    for _ in range(_MAX_WIDENINGS + 1 if widen else 1):
        edges = space_edges(target, t0, n_cells, tail, prior_tail, reach=r, growth=growth)
        law = reverse_fokker_planck(target.sde, score, edges, t_nodes, start_cells(edges, start_pdf, target.sde.prior_var), scheme)
        if law.boundary_mass <= BOUNDARY_MASS_MAX:
            break
        r *= _WIDEN
    return law


def kl_sde(target: Target1D, score: ScoreModel, t0: float | None = None, *, return_boundary_mass: bool = False,
           **kwargs) -> float | tuple[float, float]:
    """K2 = KL(p_{t0} ‖ q^SDE) with cell averages of both (``kl_cells``); kwargs go to ``sde_law``.

    TR-BDF2 (second order) is not positivity-preserving: for a strongly overfitted score it can leave
    q = -1e-90 in far-tail cells where p_{t0} ~ 1e-19 still counts. Then the law is recomputed with
    backward Euler (an M-matrix with Scharfetter-Gummel fluxes, so q > 0) on four times the steps.

    With ``return_boundary_mass`` the boundary mass of the law that gave K2 comes with it, from the
    same solve: K2 with more than :data:`BOUNDARY_MASS_MAX` is truncated (the zero-flux walls held
    the sampler back even at the widest reach of :func:`sde_law`).

    Parameters
    ----------
    target : Target1D
        p0 and its forward SDE; the reference density is p_{t0}.
    score : ScoreModel or callable
        The model score driving the sampler (3): any ``score(t, x)`` (``t`` a float, ``x`` of
        shape (N,), returning (N,)); no ``dx`` is needed.
    t0 : float, optional
        Where the sampler stops, in [0, T); None (default) is the SDE's ``eps`` (0 for OU, ε for VE).
    return_boundary_mass : bool, default False
        Return ``(K2, boundary_mass)`` rather than K2.
    **kwargs
        ``n_cells``, ``n_steps``, ``power``, ``scheme``, ``start_pdf``, ``tail``, ``prior_tail``,
        ``reach``, ``growth`` of :func:`sde_law`.

    Returns
    -------
    float, or (float, float) with ``return_boundary_mass``
        K2 >= 0 up to discretisation; +inf when the law is <= 0 where p_{t0} has mass. The boundary
        mass is ``FPSolution.boundary_mass`` of the law.

    Raises
    ------
    ValueError
        If ``t0`` is not in [0, T) or a keyword is outside its range.

    Warns
    -----
    RuntimeWarning
        When TR-BDF2 is replaced by backward Euler, when more than :data:`BOUNDARY_MASS_MAX` of the
        mass sits in the two outer cells (the walls truncate the sampler), or when the result is +inf.

    Examples
    --------
    The exact score leaves KL(p_T ‖ π) = 0 and discretisation; a shifted score gives the closed form
    KL(N(0, 1) ‖ N(a, 1)) = a²/2 with a = 0.2 (1 - e^{-2T}), below its score bound K1 (Lemma 2):

    >>> import numpy as np
    >>> from empirical.kl import kl_score_bound, kl_sde
    >>> from empirical.scores import exact_score
    >>> from empirical.sde import ou
    >>> from empirical.targets import gaussian
    >>> p = gaussian(0.0, 1.0, sde=ou(1.0))
    >>> shifted = exact_score(gaussian(0.2, 1.0, sde=ou(1.0)))
    >>> kl_sde(p, exact_score(p), n_cells=300, n_steps=40) < 1e-6
    True
    >>> k2, boundary = kl_sde(p, shifted, n_cells=300, n_steps=40, return_boundary_mass=True)
    >>> bool(abs(k2 - 0.02 * (1 - np.exp(-2.0)) ** 2) < 1e-4), boundary < 1e-30
    (True, True)
    >>> bool(k2 <= kl_score_bound(p, shifted))  # K1 = 0.02 (1 - e^{-2T}) here
    True
    """
    out, law = kl_sde_law(target, score, t0, **kwargs)
    return (out, law.boundary_mass) if return_boundary_mass else out


def kl_sde_law(target: Target1D, score: ScoreModel, t0: float | None = None, **kwargs) -> tuple[float, FPSolution]:
    """K2 as :func:`kl_sde` computes it, with the law it was measured on (the backward-Euler law when TR-BDF2
    was replaced), so that other readings of the sampler (its mass on each mode, its density) come from the
    same law as K2 and cost no second solve.

    Examples
    --------
    >>> from empirical.kl import kl_sde, kl_sde_law
    >>> from empirical.targets import two_mode
    >>> p = two_mode(3.0)
    >>> k2, law = kl_sde_law(p, p.score, n_cells=300, n_steps=40)
    >>> k2 == kl_sde(p, p.score, n_cells=300, n_steps=40), bool(abs(law.mass - 1) < 1e-12)
    (True, True)
    """
    t0 = check_t0(target.sde.eps if t0 is None else t0, target.sde.T)
    score = checked_score(target, score, t0)
    law = sde_law(target, score, t0, **kwargs)
    p = cell_average(lambda x: target.pdf(t0, x), law.edges)
    out = kl_cells(p, law.q, law.h)
    if np.isinf(out) and kwargs.get("scheme", "trbdf2") == "trbdf2":
        warnings.warn("K2: TR-BDF2 left q <= 0 where p_t0 has mass (an overfitted score, or cells that do not "
                      "resolve p_t0); recomputed with backward Euler on 4x the steps", RuntimeWarning, stacklevel=3)
        steps = 4 * kwargs.get("n_steps", _SDE_STEPS)
        law = sde_law(target, score, t0, **{**kwargs, "scheme": "euler", "n_steps": steps})
        p = cell_average(lambda x: target.pdf(t0, x), law.edges)  # its reach may have widened differently
        out = kl_cells(p, law.q, law.h)
    if law.boundary_mass > BOUNDARY_MASS_MAX:
        warnings.warn(f"K2: mass {law.boundary_mass:.2e} sits in the two outer cells (reach {law.edges[-1]:.3g}); "
                      "the zero-flux walls truncate this model's sampler: pass a larger reach",
                      RuntimeWarning, stacklevel=3)
    if np.isinf(out):
        warnings.warn("K2: the computed law is <= 0 where p_t0 has mass: the cells do not resolve p_t0 "
                      "(keep h below a tenth of its narrowest scale)", RuntimeWarning, stacklevel=3)
    return refuse_nan(out, "K2"), law


def kl_ode(target: Target1D, score: ScoreModel, t0: float | None = None, n_x: int = 1201,
           n_steps: int = 64, power: float = 2.0, method: str = "rk4", form: str = "cells",
           tail: float = 10.0) -> float:
    """K3 = KL(p_{t0} ‖ q^ODE), q^ODE the law at t0 of the ODE sampler (4) from π (Remark 3).

    form 'cells' (default): ``n_x`` equal cells over support(p_{t0}); q^ODE-mass of each cell from
    the flow map of its edges (``FlowResult.cell_masses``, no ∂_x s needed) and ``kl_cells``.
    form 'divergence': log q^ODE = log π(x(T)) + ℓ(T) at ``n_x`` nodes, trapezoid rule in x.
    Both are exact up to discretisation; 'cells' keeps RK4's order in time when ∂_x s jumps.

    Parameters
    ----------
    target : Target1D
        p0 and its forward SDE; the reference density is p_{t0}.
    score : ScoreModel
        The model score driving (4) (with ``dx`` for form 'divergence').
    t0 : float, optional
        Where the sampler stops, in [0, T); None (default) is the SDE's ``eps`` (0 for OU, ε for VE).
    n_x : int, default 1201
        Nodes over support(p_{t0}, tail), >= 3.
    n_steps, power : int, float
        Time steps (>= 1) and their grading (>= 1) towards t0.
    method : str, default "rk4"
        Integrator of :func:`~empirical.kl.flow_ode.probability_flow`.
    form : {"cells", "divergence"}, default "cells"
    tail : float, default 10.0
        Standard deviations of p_{t0} covered, > 0.

    Returns
    -------
    float
        K3; +inf in form 'cells' when the computed flow map is not increasing where p_{t0} has mass.

    Raises
    ------
    ValueError
        If ``form`` or ``method`` is unknown, or an argument is outside its range.

    Warns
    -----
    RuntimeWarning
        When the result of form 'cells' is +inf.

    Examples
    --------
    The ODE carries π to N(0.2 (1 - e^{-T}), 1) (the flow of :func:`~empirical.kl.flow_ode.probability_flow`
    shifts every point), so K3 = a²/2 with a = 0.2 (1 - e^{-T}):

    >>> import numpy as np
    >>> from empirical.kl import kl_ode
    >>> from empirical.scores import exact_score
    >>> from empirical.sde import ou
    >>> from empirical.targets import gaussian
    >>> p = gaussian(0.0, 1.0, sde=ou(1.0))
    >>> shifted = exact_score(gaussian(0.2, 1.0, sde=ou(1.0)))
    >>> kl_ode(p, exact_score(p), n_x=300, n_steps=40) < 1e-10
    True
    >>> bool(abs(kl_ode(p, shifted, n_x=300, n_steps=40) - 0.02 * (1 - np.exp(-1.0)) ** 2) < 1e-5)
    True
    """
    if form not in ("cells", "divergence"):
        raise ValueError(f"form must be 'cells' or 'divergence', got {form!r}")
    t0 = check_t0(target.sde.eps if t0 is None else t0, target.sde.T)
    score = checked_score(target, score, t0)
    x0 = np.linspace(*target.support(t0, tail=tail), check_int("n_x", n_x, 3))
    t_nodes = time_steps(t0, target.sde.T, n_steps, power)
    flow = probability_flow(target.sde, score, x0, t_nodes, method, divergence=form == "divergence")
    if form == "divergence":
        return refuse_nan(kl_nodes(target.logpdf(t0, x0), flow.logq, x0), "K3")
    h = float(x0[1] - x0[0])
    refuse_nan(flow.xT, "K3")
    out = kl_cells(cell_average(lambda x: target.pdf(t0, x), x0), flow.cell_masses() / h, h)
    if np.isinf(out):
        warnings.warn("K3: the computed flow map is not increasing where p_t0 has mass (the steps are "
                      "too coarse for this score, or it contracts cells below round-off): raise n_steps "
                      "or use form='divergence'", RuntimeWarning, stacklevel=2)
    return out
