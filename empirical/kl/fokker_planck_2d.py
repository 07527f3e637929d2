"""Law of the reverse SDE (3) in 2-D by its Fokker–Planck equation, and K2 in d = 2 (docs/theory.md §4).

In reversed time s = T - t the sampler dx = [f x - g² s_θ] dt + g dW̄ has density q solving
∂_s q = -∇·(b q) + ½ g² Δq, b(s, x) = -f(T-s) x + g(T-s)² s_θ(T-s, x), x ∈ R², from q(0) = π = N(0, v I):
OU (v = 1) or the variance-exploding :func:`~empirical.sde.ve` (v = σ_T², stopping at t0 = ε by default);
any other prior is refused (not validated).

Method: finite volumes on a tensor grid of cells of any widths, the 1-D solver
(:mod:`empirical.kl.fokker_planck`) along each axis: through a face normal to axis k the
Scharfetter–Gummel flux with b_k at the face (the score there: the mean of its two end vertices,
one evaluation per cell), zero flux through the walls, dq_ij/ds = -(F_{i+1/2,j} - F_{i-1/2,j}) / h^x_i
- (G_{i,j+1/2} - G_{i,j-1/2}) / h^y_j. The five-point generator has non-negative off-diagonals and
zero area-weighted column sums: mass is conserved to round-off, backward Euler keeps q >= 0 (to
round-off: -1e-26 seen where q ~ 0 far out). TR-BDF2 as in 1-D, each stage a sparse LU
(``scipy.sparse.linalg.splu``) of I - αA(t) on the whole grid: no splitting error. For a separable
drift the generator is the Kronecker sum of the 1-D ones: the semi-discrete law is the outer product
of the 1-D laws, the schemes differ by time-stepping errors only.

Grid and defaults per SDE (OU; VE with its own outer-cell growth and time steps) and their measured
accuracy: :mod:`empirical.kl.grids_2d`. One K2 of a random-feature model (m = 256) takes 4.4 s under OU,
6-8 s under VE (1 BLAS thread, 2 cores).

References
----------
arXiv:2311.01797, reverse SDE (3) and Lemma 2; docs/theory.md §4. R. E. Bank et al., "Transient
simulation of silicon devices and circuits", IEEE Trans. CAD 4 (1985) (TR-BDF2).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

from ..checks import check_int, check_t0
from ..quadrature import time_steps
from ..scores import ScoreModel
from ..sde import LinearSDE
from ..targets import ProductTarget
from .divergence import kl_cells
from .fokker_planck import _GAMMA, SCHEMES, _bernoulli, start_cells
from .grids import space_edges, zero_score_sd
from .grids_2d import axis_cells, axis_windows, gl_cell_average, grid_defaults, reference_cells
from .measures import _MAX_WIDENINGS, _REACH_SD, _WIDEN, BOUNDARY_MASS_MAX



@dataclass(frozen=True)
class FPSolution2D:
    """Cell averages ``q`` (shape (Nx, Ny)) of the sampler's law at ``t0`` on the cells of
    ``edges_x`` × ``edges_y`` (increasing edges, shapes (Nx+1,), (Ny+1,))."""

    edges_x: np.ndarray
    edges_y: np.ndarray
    q: np.ndarray
    t0: float

    @property
    def h(self) -> np.ndarray:
        """Cell areas h^x_i h^y_j, shape (Nx, Ny)."""
        return np.outer(np.diff(self.edges_x), np.diff(self.edges_y))

    @property
    def mass(self) -> float:
        """Total mass Σ h_ij q_ij (that of the start, up to round-off)."""
        return float(np.sum(self.h * self.q))

    @property
    def boundary_mass(self) -> float:
        """Mass in the outer ring of cells (the two outer rows and columns): large when the zero-flux
        walls held the sampler back (K2 is truncated above :data:`~empirical.kl.BOUNDARY_MASS_MAX`)."""
        m = self.h * self.q
        return float(m.sum() - m[1:-1, 1:-1].sum())


class _Generator:
    """A(t) of dq/ds = A q on a fixed five-point pattern. Cell (i, j) is k = i Ny + j on the grid, and
    ``pos[k]`` in the matrices and state vectors (a fill-reducing order)."""

    def __init__(self, sde: LinearSDE, score: ScoreModel, edges_x: np.ndarray, edges_y: np.ndarray) -> None:
        self.sde, self.score = sde, score
        hx, hy = np.diff(edges_x), np.diff(edges_y)
        nx, ny, self.n = hx.size, hy.size, hx.size * hy.size
        cell = np.arange(self.n).reshape(nx, ny)
        # the score at the vertices, b_k on a face the mean of its two ends: second order like the
        # face centre, half the evaluations, exact for a drift component constant along the face
        self.vertices = np.stack(np.meshgrid(edges_x, edges_y, indexing="ij"), axis=-1).reshape(-1, 2)
        self.vshape = (nx + 1, ny + 1, 2)
        # faces normal to x (between cells (i, j), (i+1, j)) then to y; per face: the coordinate b is
        # taken along, the centre-to-centre distance and the widths of the two cells either side
        self.coord = np.concatenate([np.repeat(edges_x[1:-1], ny), np.tile(edges_y[1:-1], nx)])
        dx, dy = 0.5 * (hx[:-1] + hx[1:]), 0.5 * (hy[:-1] + hy[1:])
        self.d = np.concatenate([np.repeat(dx, ny), np.tile(dy, nx)])
        first, last = slice(0, -1), slice(1, None)
        self.lo, self.hi = (np.concatenate([cell[a].ravel(), cell[:, a].ravel()]) for a in (first, last))
        self.h_lo, self.h_hi = (np.concatenate([np.repeat(hx[a], ny), np.tile(hy[a], nx)]) for a in (first, last))
        rows, cols = np.r_[np.arange(self.n), self.lo, self.hi], np.r_[np.arange(self.n), self.hi, self.lo]
        # one fill-reducing ordering for every LU (the pattern never changes): SuperLU's minimum degree
        # on AᵀA + A of a structural stand-in, then cells are renumbered by it and factored as they are
        stand_in = sparse.csc_matrix((np.r_[np.full(self.n, 5.0), -np.ones(rows.size - self.n)], (rows, cols)))
        self.pos = _lu(stand_in, "MMD_AT_PLUS_A").perm_c
        # a CSC template whose data are the positions of the COO values: refilling it costs one gather
        self.template = sparse.csc_matrix((np.arange(1.0, rows.size + 1), (self.pos[rows], self.pos[cols])),
                                          shape=(self.n, self.n))
        self.order = self.template.data.astype(np.intp) - 1

    def values(self, t: float) -> np.ndarray:
        """The pattern's values at t (COO order: diagonal, then upper and lower neighbours per face)."""
        g2 = float(self.sde.g2(t))
        s = np.asarray(self.score(t, self.vertices), dtype=float).reshape(self.vshape)
        s_axis = np.concatenate([(0.5 * (s[1:-1, :-1, 0] + s[1:-1, 1:, 0])).ravel(),
                                 (0.5 * (s[:-1, 1:-1, 1] + s[1:, 1:-1, 1])).ravel()])
        b = -float(self.sde.f(t)) * self.coord + g2 * s_axis
        peclet = b * self.d / (0.5 * g2)
        c = 0.5 * g2 / self.d
        up = c * _bernoulli(peclet)        # flux lo -> hi = down q_lo - up q_hi, as in 1-D
        down = up + c * peclet             # c B(-P) = c (B(P) + P)
        diag = -(np.bincount(self.lo, down / self.h_lo, self.n) + np.bincount(self.hi, up / self.h_hi, self.n))
        return np.concatenate([diag, up / self.h_lo, down / self.h_hi])

    def matrix(self, vals: np.ndarray, alpha: float | None = None) -> sparse.csc_matrix:
        """A for ``alpha`` None, else I - alpha A, in CSC."""
        out = self.template.copy()
        m = vals.copy() if alpha is None else -alpha * vals
        m[: self.n] += 0.0 if alpha is None else 1.0
        out.data = m[self.order]
        return out


def _lu(matrix: sparse.csc_matrix, ordering: str = "NATURAL"):
    """Sparse LU without pivoting: I - alpha A is a nonsingular M-matrix (non-positive off-diagonals,
    positive area-weighted column sums), whose LU exists and is stable as it stands."""
    # no equilibration either (M-matrix rows need none); small panels measured ~20 % faster here
    return splu(matrix, permc_spec=ordering, diag_pivot_thresh=0.0, options={"Equil": False}, panel_size=8, relax=4)


def _solve(gen: _Generator, vals: np.ndarray, alpha: float, rhs: np.ndarray) -> np.ndarray:
    """Solve (I - alpha A) x = rhs, in the generator's numbering of the cells."""
    return _lu(gen.matrix(vals, alpha)).solve(rhs)


def reverse_fokker_planck_2d(sde: LinearSDE, score: ScoreModel, edges_x: np.ndarray, edges_y: np.ndarray,
                             t_nodes: np.ndarray, start: np.ndarray | None = None,
                             scheme: str = "trbdf2") -> FPSolution2D:
    """Evolve cell averages ``start`` (the law at T) down the time nodes to ``t_nodes[0]`` in 2-D.

    Parameters
    ----------
    sde : LinearSDE
        The forward SDE (2).
    score : callable (t, x) -> ndarray
        The model score of the sampler (3): x of shape (N, 2) to shape (N, 2) (e.g.
        :class:`~empirical.rf.features.RFScore` with d = 2, or ``ProductTarget.score``).
    edges_x, edges_y : ndarray of shape (Nx+1,), (Ny+1,)
        Increasing cell edges along each axis (at least 2 cells each); zero flux through the walls.
    t_nodes : ndarray
        Increasing times t0 < ... < T, at least 2 (:func:`empirical.quadrature.time_steps`).
    start : ndarray of shape (Nx, Ny), optional
        Cell averages of the start density; π = N(0, ``sde.prior_var`` I) by default.
    scheme : {"trbdf2", "euler"}, default "trbdf2"
        'trbdf2' (2nd order, 2 score evaluations and LUs a step) or 'euler' (backward Euler, 1st
        order, 1 of each, positivity guaranteed).

    Returns
    -------
    FPSolution2D
        The law at ``t_nodes[0]``.

    Raises
    ------
    ValueError
        If ``scheme``, the edges, ``start`` or ``t_nodes`` are not as above.

    Examples
    --------
    The exact score of N(0, I) keeps π (its p_t is π at every t); mass is conserved:

    >>> import numpy as np
    >>> from empirical.kl.fokker_planck import start_cells
    >>> from empirical.kl.fokker_planck_2d import reverse_fokker_planck_2d
    >>> from empirical.quadrature import time_steps
    >>> from empirical.sde import ou
    >>> e = np.linspace(-8.0, 8.0, 61)
    >>> law = reverse_fokker_planck_2d(ou(), lambda t, x: -x, e, e, time_steps(0.0, 5.0, 10))
    >>> pi = start_cells(e)
    >>> abs(law.mass - 1) < 1e-12, bool(np.abs(law.q - np.outer(pi, pi)).max() < 1e-3)
    (True, True)
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    edges_x, edges_y = np.asarray(edges_x, dtype=float), np.asarray(edges_y, dtype=float)
    for name, e in (("edges_x", edges_x), ("edges_y", edges_y)):
        if e.ndim != 1 or e.size < 3 or np.any(np.diff(e) <= 0):
            raise ValueError(f"{name} must be an increasing 1-D array of at least 3 edges, got shape {e.shape}")
    t_nodes = np.asarray(t_nodes, dtype=float)
    if t_nodes.ndim != 1 or t_nodes.size < 2 or np.any(np.diff(t_nodes) <= 0):
        raise ValueError("t_nodes must be an increasing 1-D array of at least 2 times")
    shape = (edges_x.size - 1, edges_y.size - 1)
    v = sde.prior_var  # π = N(0, v I)
    q0 = np.outer(start_cells(edges_x, prior_var=v), start_cells(edges_y, prior_var=v)) if start is None else start
    q0 = np.asarray(q0, dtype=float)
    if q0.shape != shape:
        raise ValueError(f"start must have shape {shape} (one value per cell), got {q0.shape}")
    gen = _Generator(sde, score, edges_x, edges_y)
    q = q0.ravel()[np.argsort(gen.pos)]   # cell k sits at pos[k]
    v_hi = gen.values(t_nodes[-1]) if scheme == "trbdf2" else None
    for t_lo, t_hi in zip(t_nodes[-2::-1], t_nodes[:0:-1]):
        ds = t_hi - t_lo
        if scheme == "euler":
            q = _solve(gen, gen.values(t_lo), ds, q)
            continue
        explicit = q + 0.5 * _GAMMA * ds * (gen.matrix(v_hi) @ q)
        q_mid = _solve(gen, gen.values(t_hi - _GAMMA * ds), 0.5 * _GAMMA * ds, explicit)
        v_hi = gen.values(t_lo)
        rhs = (q_mid / _GAMMA - (1.0 - _GAMMA) ** 2 / _GAMMA * q) / (2.0 - _GAMMA)
        q = _solve(gen, v_hi, (1.0 - _GAMMA) / (2.0 - _GAMMA) * ds, rhs)
    return FPSolution2D(edges_x=edges_x, edges_y=edges_y, q=q[gen.pos].reshape(shape), t0=float(t_nodes[0]))


def sde_law_2d(target: ProductTarget, score: ScoreModel, t0: float | None = None, n_cells: int = 100,
               n_steps: int | None = None, power: float | None = None, scheme: str = "trbdf2",
               start_pdf: Callable[[np.ndarray], np.ndarray] | None = None, tail: float = 6.0,
               prior_tail: float = 6.0, reach: float | None = None, growth: float | None = None) -> FPSolution2D:
    """The law at t0 of the reverse SDE (3) in 2-D driven by ``score``, started at T from ``start_pdf``.

    The 2-D counterpart of :func:`empirical.kl.sde_law`, on the grid and with the reach rule of the
    module docstring (an explicit ``reach`` is used as given).

    Parameters
    ----------
    target : ProductTarget
        p0 in R² and its forward SDE; its factors' supports set the grid.
    score : callable (t, x) -> ndarray
        The model score, x of shape (N, 2) to (N, 2).
    t0 : float, optional
        Where the sampler stops, in [0, T); None (default) is the SDE's ``eps`` (0 for OU, ε for VE).
    n_cells : int, default 100
        Equal cells of the longer window, >= 2.
    n_steps, power, scheme, tail, prior_tail, reach, growth
        As :func:`empirical.kl.sde_law` (tail and prior_tail default 6). None (the defaults) of
        ``n_steps``, ``power``, ``growth``: 32 steps graded by power 2 and growth 1.2 under OU, 40 equal
        steps (power 1) and growth 1.08 under VE (module docstring).
    start_pdf : callable, optional
        Start density at T, points (N, 2) to (N,); π = N(0, ``sde.prior_var`` I) by default.

    Returns
    -------
    FPSolution2D
        The law at t0; its reach as widened (``edges_x[-1]``) and ``boundary_mass`` tell the rule's outcome.

    Raises
    ------
    ValueError
        If ``target`` is not a 2-D ProductTarget, its SDE is neither OU (a N(0, I) prior) nor VE, or an
        argument is outside its range.

    Examples
    --------
    >>> from empirical.kl.fokker_planck_2d import sde_law_2d
    >>> from empirical.targets import two_mode_nd
    >>> p = two_mode_nd(2.0, 2)
    >>> law = sde_law_2d(p, p.score, n_cells=40, n_steps=10)
    >>> abs(law.mass - 1) < 1e-9, law.boundary_mass < 1e-30  # Simpson's π on the coarse outer cells: 1 + 2e-11
    (True, True)
    """
    if not isinstance(target, ProductTarget) or target.dim != 2:
        raise ValueError(f"target must be a 2-D ProductTarget (e.g. two_mode_nd(mu, 2)), got "
                         f"{type(target).__name__} with d = {getattr(target, 'dim', '?')}")
    steps_default, power_default, growth_default = grid_defaults(target.sde)  # refuses an unvalidated SDE
    n_steps = steps_default if n_steps is None else n_steps
    power = power_default if power is None else power
    growth = growth_default if growth is None else growth
    t0 = check_t0(target.sde.eps if t0 is None else t0, target.sde.T)
    t_nodes = time_steps(t0, target.sde.T, n_steps, power)
    windows = axis_windows(target, t0, tail)
    cells = axis_cells(windows, check_int("n_cells", n_cells, 2), prior_tail)
    widen = reach is None
    r = _REACH_SD * zero_score_sd(target.sde, t0) if widen else reach
    for _ in range(_MAX_WIDENINGS + 1 if widen else 1):
        ex, ey = (space_edges(w, t0, n, tail, prior_tail, reach=r, growth=growth) for w, n in zip(windows, cells))
        start = None if start_pdf is None else gl_cell_average(start_pdf, ex, ey)
        law = reverse_fokker_planck_2d(target.sde, score, ex, ey, t_nodes, start, scheme)
        if law.boundary_mass <= BOUNDARY_MASS_MAX:
            break
        r *= _WIDEN
    return law


def kl_sde_2d(target: ProductTarget, score: ScoreModel, t0: float | None = None, n_cells: int = 100, *,
              return_boundary_mass: bool = False, **kwargs) -> float | tuple[float, float]:
    """K2 = KL(p_{t0} ‖ q^SDE) in d = 2 with cell averages of both; kwargs go to :func:`sde_law_2d`.

    As :func:`empirical.kl.kl_sde`: :func:`~empirical.kl.kl_cells` on the cells (areas as widths),
    backward Euler on 4x the steps when TR-BDF2 leaves q <= 0 where p_{t0} has mass, and the mass
    of the outer ring of cells with ``return_boundary_mass`` (K2 is truncated above
    :data:`~empirical.kl.BOUNDARY_MASS_MAX`).

    Parameters
    ----------
    target, score, t0, n_cells
        As :func:`sde_law_2d` (``two_mode_nd(mu, 2)``, ``two_bumps_nd(mu, 2)``, any frame); the reference
        density is p_{t0}.
    return_boundary_mass : bool, default False
        Return ``(K2, boundary_mass)``.
    **kwargs
        The other keywords of :func:`sde_law_2d`.

    Returns
    -------
    float, or (float, float) with ``return_boundary_mass``

    Raises
    ------
    ValueError
        If ``target`` is not a 2-D ProductTarget, its SDE is neither OU nor VE, ``t0`` is not in [0, T) or a
        keyword is out of range.

    Warns
    -----
    RuntimeWarning
        As :func:`empirical.kl.kl_sde` (backward Euler, truncation, +inf).

    Examples
    --------
    With the exact score K2 <= KL(p_T ‖ π) (data processing); that of N(0.2, 1) along y adds the 1-D
    closed form a²/2, a = 0.2 (1 - e^{-2T}) (a separable drift: the law is a product, the KLs add):

    >>> import numpy as np
    >>> from empirical.kl.fokker_planck_2d import kl_sde_2d
    >>> from empirical.sde import ou
    >>> from empirical.targets import ProductTarget, gaussian, two_mode
    >>> sde = ou(2.0)
    >>> p = ProductTarget([two_mode(1.0, sde=sde), gaussian(0.0, 1.0, sde=sde)])
    >>> exact = kl_sde_2d(p, p.score, n_cells=60, n_steps=20)
    >>> bool(0 <= exact <= p.kl_to_prior())
    True
    >>> shifted = lambda t, x: p.score(t, x) + np.array([0.0, 0.2 * np.exp(-t)])
    >>> k2, boundary = kl_sde_2d(p, shifted, n_cells=60, n_steps=20, return_boundary_mass=True)
    >>> bool(abs(k2 - exact - 0.02 * (1 - np.exp(-4.0)) ** 2) < 3e-4), boundary < 1e-6  # h = 0.2
    (True, True)
    """
    def k2(**options) -> tuple[float, FPSolution2D]:  # sde_law_2d checks target and t0
        law = sde_law_2d(target, score, t0, n_cells, **options)
        return kl_cells(reference_cells(target, law.t0, law.edges_x, law.edges_y).ravel(), law.q.ravel(),
                        law.h.ravel()), law

    out, law = k2(**kwargs)
    if np.isinf(out) and kwargs.get("scheme", "trbdf2") == "trbdf2":
        warnings.warn("K2 (2-D): TR-BDF2 left q <= 0 where p_t0 has mass; recomputed with backward Euler on 4x "
                      "the steps", RuntimeWarning, stacklevel=2)
        steps = kwargs.get("n_steps") or grid_defaults(target.sde)[0]
        out, law = k2(**{**kwargs, "scheme": "euler", "n_steps": 4 * steps})
    if law.boundary_mass > BOUNDARY_MASS_MAX:
        warnings.warn(f"K2 (2-D): mass {law.boundary_mass:.2e} sits in the outer ring of cells (reach "
                      f"{law.edges_x[-1]:.3g}); the walls truncate this sampler: widen reach", RuntimeWarning, 2)
    if np.isinf(out):
        warnings.warn("K2 (2-D): the law is <= 0 where p_t0 has mass: the cells do not resolve p_t0", RuntimeWarning, 2)
    return (out, law.boundary_mass) if return_boundary_mass else out
