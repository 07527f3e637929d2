"""The 2-D Fokker–Planck grid of K2 in d = 2 (:mod:`empirical.kl.fokker_planck_2d`; docs/theory.md §4): the
defaults per forward SDE, the windows and cell counts per axis, and the cell averages of p_{t0}.

Grid (:func:`~empirical.kl.fokker_planck_2d.sde_law_2d`): :func:`~empirical.kl.grids.space_edges` per axis over the window holding
p_{t0} (the factor's support, or for a rotated Q the bounding box) and π, ``n_cells`` cells on the longer
window and the same width on the other, then geometric cells (OU: growth 1.2, K2 moved < 1e-9 from 1.05
to 2, but coarser cells fatten the tails the boundary-mass rule reads; VE: 1.08, below) out to the 1-D
reach, widened as in 1-D.

Defaults under OU (``n_cells=100``, ``n_steps=32`` graded by power 2, ``growth=1.2``, ``tail = prior_tail = 6``;
~190 × 150 cells for ``two_mode_nd(3, 2)``): one K2 of a random-feature model (m = 256) takes 4.4 s (1 BLAS
thread, 2 cores; 13 s when the reach widens). Errors: the 1-D scheme's at h ≈ 0.18, second order in h and step
(tests/empirical/test_fokker_planck_2d.py): K2 = 0.0384, 0.0379 doubled, 0.0378 refined (+1.7 %);
exact score, OU(T = 2): within 1.4e-5 of the exact 3.1e-6; separable drifts: 1-D sum to 2e-6.

Defaults under VE (σ = 25, π = N(0, σ_1² I), σ_1 ≈ 9.85): the same window and equal cells (h ≈ 0.18 on
p_ε's unit-width modes), but outer cells growing by 1.08 and 40 equal time steps (power 1). The sampler's
mass spends most of the reverse time in the outer cells (p_t has sd ~ √(1 + σ_t²), up to 9.85), which
OU's growth 1.2 resolves too coarsely there; and g² = σ^{2t} is largest at T, where power-2 steps are
longest (TR-BDF2 then leaves q < 0 in p_ε's tails at 32 of them and K2 falls back to backward Euler).
~220 × 210 cells for two two-mode factors (µ = 3, 2); one K2 takes 6-8 s. Measured on separable scores
of the product of ``two_mode(3)`` and ``two_mode(2, (0.3, 0.7))`` against the sum of the 1-D K2s
(:func:`empirical.kl.kl_sde` at 4800 cells, 512 steps): m = 64 random-feature minimisers per axis +0.52 %
(+0.8 % of the space grid, -0.3 % of the steps; OU's grid and steps: +1.3 %), a tanh-perturbed exact score
(K2 0.468) -0.008 %, a 0.3 sin(x) perturbation +0.04 %, the zero score (K2 3.06) -0.03 %, gradient-flow
models at τ = 1, 10 (K2 1.15, 1.10) -0.30 % (OU's: -1.0 %); the exact score 1.333e-4 against 1.323e-4
(1-D defaults).
Cells and growth - 1 halved (50 cells, 1.16): space error +2.4 % → +0.8 % (20 steps). A non-separable
m = 256 minimiser of ``two_mode_nd(3, 2)`` under VE: K2 0.12795 at the defaults, 0.12783 refined (150
cells, growth 1.054, 60 steps), K1 0.862.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

import numpy as np

from ..quadrature import gauss_legendre
from ..sde import LinearSDE
from ..targets import ProductTarget
from .grids import cell_average

# per forward SDE, the defaults of (n_steps, power, growth) (module docstring): OU's as they always were;
# VE's equal steps and slower-growing outer cells, where its sampler's mass spends most of the time
_GRID_DEFAULTS = {"ou": (32, 2.0, 1.2), "ve": (40, 1.0, 1.08)}
_GL_ORDER = 4         # Gauss–Legendre nodes per axis and cell for the cell averages of a rotated target


def grid_defaults(sde: LinearSDE) -> tuple[int, float, float]:
    """(n_steps, power, growth) by default for ``sde``: OU's for a N(0, I) prior, VE's for :func:`~empirical.sde.ve`;
    any other prior is refused (not validated).

    Examples
    --------
    >>> from empirical.kl.grids_2d import grid_defaults
    >>> from empirical.sde import ou, ve
    >>> grid_defaults(ou()), grid_defaults(ve())
    ((32, 2.0, 1.2), (40, 1.0, 1.08))
    """
    if sde.prior_var == 1.0:
        return _GRID_DEFAULTS["ou"]
    if sde.name == "ve":
        return _GRID_DEFAULTS["ve"]
    raise ValueError(f"target.sde: the 2-D K2 is validated for OU (a N(0, I) prior) and VE only, got {sde.name} "
                     f"with prior variance {sde.prior_var:.4g}")


def axis_windows(target: ProductTarget, t0: float, tail: float) -> list[SimpleNamespace]:
    """Per axis, what :func:`~empirical.kl.grids.space_edges` reads of a target (``support``): the factor's
    support when Q is the identity, else the bounding box of Q times the box of the factors' supports."""
    box = np.array([f.support(t0, tail=tail) for f in target.factors])      # (2, 2): factor, (lo, hi)
    ends = target.Q[:, :, None] * box[None, :, :]                            # axis, factor, end
    bounds = zip(ends.min(axis=2).sum(axis=1), ends.max(axis=2).sum(axis=1))
    return [SimpleNamespace(support=lambda t, tail, b=(float(lo), float(hi)): b) for lo, hi in bounds]


def axis_cells(windows: list[SimpleNamespace], n_cells: int, prior_tail: float) -> list[int]:
    """``n_cells`` on the longer window, cells of about the same width on the other (the widest set K2's error)."""
    lengths = [max(hi, prior_tail) - min(lo, -prior_tail) for lo, hi in (w.support(0.0, 0.0) for w in windows)]
    return [max(2, int(round(n_cells * length / max(lengths)))) for length in lengths]


def gl_cell_average(pdf: Callable[[np.ndarray], np.ndarray], edges_x: np.ndarray, edges_y: np.ndarray,
                     order: int = _GL_ORDER) -> np.ndarray:
    """Cell averages of a 2-D density by a tensor Gauss–Legendre rule of ``order`` nodes per axis and cell."""
    z, w = gauss_legendre(order)
    nodes = [(0.5 * (e[:-1, None] + e[1:, None]) + 0.5 * np.diff(e)[:, None] * z).ravel() for e in (edges_x, edges_y)]
    pts = np.stack(np.meshgrid(*nodes, indexing="ij"), axis=-1).reshape(-1, 2)
    vals = pdf(pts).reshape(edges_x.size - 1, order, edges_y.size - 1, order)
    return np.einsum("iajb,a,b->ij", vals, w, w) / 4.0


def reference_cells(target: ProductTarget, t0: float, edges_x: np.ndarray, edges_y: np.ndarray) -> np.ndarray:
    """Cell averages of p_{t0} on the grid: outer products of the factors' 1-D cell averages when Q is the
    identity (:func:`~empirical.kl.grids.cell_average`), else a tensor Gauss–Legendre rule on ``target.pdf``."""
    if np.array_equal(target.Q, np.eye(2)):
        fx, fy = target.factors
        return np.outer(cell_average(lambda x: fx.pdf(t0, x), edges_x), cell_average(lambda y: fy.pdf(t0, y), edges_y))
    return gl_cell_average(lambda x: target.pdf(t0, x), edges_x, edges_y)
