"""Law of the reverse SDE (3) in 1-D by its Fokker–Planck equation (docs/theory.md §4, K2).

In reversed time s = T - t the sampler dx = [f x - g² s_θ] dt + g dW̄ has density q solving

    ∂_s q = -∂_x(b q) + ½ g² ∂_xx q,   b(s, x) = -f(T-s) x + g(T-s)² s_θ(T-s, x),

started from q(0) = π = N(0, ``sde.prior_var``) (or any start density). Finite volumes on cells of any widths h_i (the K2
grid: equal cells over p_{t0}, geometrically growing ones outside, :func:`~empirical.kl.grids.space_edges`)
with Scharfetter–Gummel fluxes through each inner face, F = (D/d)[B(-P) q_i - B(P) q_{i+1}],
d = x_{i+1} - x_i the distance between the neighbouring cell centres, D = g²/2, P = b d / D with b
at the face, B(z) = z/(e^z - 1) (exact for constant b and D between the centres), and
dq_i/ds = -(F_{i+1/2} - F_{i-1/2}) / h_i, with zero flux through the two outer edges. The generator
is tridiagonal with non-negative off-diagonals and zero h-weighted column sums, so the mass Σ h_i q_i
is conserved exactly (up to round-off) and backward Euler keeps q positive. TR-BDF2 (Bank et al.
1985) is second order and L-stable.

References
----------
arXiv:2311.01797, reverse SDE (3) and Lemma 2; docs/theory.md §4. R. E. Bank et al., "Transient
simulation of silicon devices and circuits", IEEE Trans. CAD 4 (1985) (TR-BDF2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import linalg, special

from ..scores import ScoreModel
from ..sde import LinearSDE
from .grids import cell_average

_GAMMA = 2.0 - np.sqrt(2.0)
SCHEMES = ("trbdf2", "euler")


@dataclass(frozen=True)
class FPSolution:
    """Cell averages ``q`` of the sampler's law at ``t0`` on cells with ``edges``.

    ``boundary_mass`` is the mass in the two outer cells: a large value means the model pushed
    mass against the zero-flux walls and the grid was too small for it.

    Attributes
    ----------
    edges : ndarray of shape (N+1,)
        Increasing cell edges (not necessarily equally spaced).
    q : ndarray of shape (N,)
        Cell averages of the law; Σ h_i q_i = 1 up to round-off.
    t0 : float
        The time of the law.
    """

    edges: np.ndarray
    q: np.ndarray
    t0: float

    @property
    def h(self) -> np.ndarray:
        """Cell widths, shape (N,)."""
        return np.diff(self.edges)

    @property
    def centres(self) -> np.ndarray:
        """Cell centres, shape (N,)."""
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    @property
    def mass(self) -> float:
        """Total mass Σ h_i q_i (1 for a law started from a density, up to round-off)."""
        return float(np.sum(self.h * self.q))

    @property
    def boundary_mass(self) -> float:
        """Mass h_0 q_0 + h_{N-1} q_{N-1} in the two outer cells (K2 is 'truncated' above
        :data:`empirical.kl.BOUNDARY_MASS_MAX`)."""
        h = self.h
        return float(self.q[0] * h[0] + self.q[-1] * h[-1])

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Mass of the piecewise-constant law left of ``x`` (linear within each cell)."""
        cum = np.concatenate([[0.0], np.cumsum(self.q * self.h)])
        return np.interp(x, self.edges, cum)


def _bernoulli(z: np.ndarray) -> np.ndarray:
    """B(z) = z / (e^z - 1), continuous at 0 (exprel = (e^z - 1)/z)."""
    return 1.0 / special.exprel(z)


def _generator(sde: LinearSDE, score: ScoreModel, t: float, faces: np.ndarray, d: np.ndarray,
               h: np.ndarray) -> np.ndarray:
    """The tridiagonal generator A(t) of dq/ds = A q in ``solve_banded``'s (1, 1) layout.

    ``faces`` are the N-1 inner edges, ``d`` the distances between the cell centres either side of
    them and ``h`` the N cell widths; h-weighted column sums of A are zero (mass conservation).
    """
    g2 = float(sde.g2(t))
    diff = 0.5 * g2
    b = -float(sde.f(t)) * faces + g2 * score(t, faces)
    peclet = b * d / diff
    up = _bernoulli(peclet)          # weight of q_{i+1} in the flux through face i + 1/2
    down = up + peclet               # B(-P) = B(P) + P: weight of q_i
    c = diff / d                     # flux = c (down q_i - up q_{i+1})
    ab = np.zeros((3, faces.size + 1))
    ab[0, 1:] = c * up / h[:-1]
    ab[2, :-1] = c * down / h[1:]
    ab[1, :-1] -= c * down / h[:-1]
    ab[1, 1:] -= c * up / h[1:]
    return ab


def _apply(ab: np.ndarray, q: np.ndarray) -> np.ndarray:
    """A q for A in banded layout."""
    out = ab[1] * q
    out[:-1] += ab[0, 1:] * q[1:]
    out[1:] += ab[2, :-1] * q[:-1]
    return out


def _solve(ab: np.ndarray, alpha: float, rhs: np.ndarray) -> np.ndarray:
    """Solve (I - alpha A) x = rhs."""
    m = -alpha * ab
    m[1] += 1.0
    return linalg.solve_banded((1, 1), m, rhs, overwrite_ab=True, check_finite=False)


def reverse_fokker_planck(sde: LinearSDE, score: ScoreModel, edges: np.ndarray, t_nodes: np.ndarray,
                          q_start: np.ndarray, scheme: str = "trbdf2") -> FPSolution:
    """Evolve cell averages ``q_start`` (the law at T) down the time nodes to ``t_nodes[0]``.

    Parameters
    ----------
    sde : LinearSDE
        The forward SDE (2).
    score : ScoreModel
        The model score of the sampler (3).
    edges : ndarray of shape (N+1,)
        Increasing cell edges, equally spaced or not; the flux through the outer two is zero.
    t_nodes : ndarray
        Increasing times t0 < ... < T, at least 2, the time steps (see
        :func:`empirical.quadrature.time_steps`).
    q_start : ndarray of shape (N,)
        Cell averages of the start density (π for the sampler of Lemma 2).
    scheme : {"trbdf2", "euler"}, default "trbdf2"
        'trbdf2' (2nd order, 2 score evaluations a step) or 'euler' (backward Euler, 1st order,
        1 evaluation a step, positivity guaranteed).

    Returns
    -------
    FPSolution
        The law at ``t_nodes[0]``.

    Raises
    ------
    ValueError
        If ``scheme`` is unknown, ``edges`` are not increasing, ``q_start`` does not have one value
        per cell, or ``t_nodes`` is not increasing.

    Examples
    --------
    With the exact score of N(0, 1), whose p_t is π at every t, the law stays π; mass is conserved:

    >>> import numpy as np
    >>> from empirical.kl.fokker_planck import reverse_fokker_planck, start_cells
    >>> from empirical.quadrature import time_steps
    >>> from empirical.scores import exact_score
    >>> from empirical.sde import ou
    >>> from empirical.targets import gaussian
    >>> edges = np.linspace(-8.0, 8.0, 301)
    >>> pi = start_cells(edges)
    >>> law = reverse_fokker_planck(ou(), exact_score(gaussian(0.0, 1.0)), edges, time_steps(0.0, 5.0, 40), pi)
    >>> abs(law.mass - 1) < 1e-12, bool(np.abs(law.q - pi).max() < 1e-3)
    (True, True)
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    edges = np.asarray(edges, dtype=float)
    t_nodes = np.asarray(t_nodes, dtype=float)
    q = np.array(q_start, dtype=float)
    if q.shape != (edges.size - 1,):
        raise ValueError(f"q_start must have one value per cell ({edges.size - 1}), got shape {q.shape}")
    if t_nodes.ndim != 1 or t_nodes.size < 2 or np.any(np.diff(t_nodes) <= 0):
        raise ValueError("t_nodes must be an increasing 1-D array of at least 2 times")
    if np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be increasing")
    h = np.diff(edges)
    d = 0.5 * (h[:-1] + h[1:])       # centre-to-centre distances across the inner faces
    faces = edges[1:-1]

    def gen(t: float) -> np.ndarray:
        return _generator(sde, score, t, faces, d, h)

    a_hi = gen(t_nodes[-1]) if scheme == "trbdf2" else None
    for t_lo, t_hi in zip(t_nodes[-2::-1], t_nodes[:0:-1]):
        ds = t_hi - t_lo
        if scheme == "euler":
            q = _solve(gen(t_lo), ds, q)
            continue
        q_mid = _solve(gen(t_hi - _GAMMA * ds), 0.5 * _GAMMA * ds, q + 0.5 * _GAMMA * ds * _apply(a_hi, q))
        a_hi = gen(t_lo)
        rhs = (q_mid / _GAMMA - (1.0 - _GAMMA) ** 2 / _GAMMA * q) / (2.0 - _GAMMA)
        q = _solve(a_hi, (1.0 - _GAMMA) / (2.0 - _GAMMA) * ds, rhs)
    return FPSolution(edges=edges, q=q, t0=float(t_nodes[0]))


def start_cells(edges: np.ndarray, start_pdf: Callable[[np.ndarray], np.ndarray] | None = None,
                prior_var: float = 1.0) -> np.ndarray:
    """Cell averages of the start density; the prior π = N(0, ``prior_var``) when ``start_pdf`` is None.

    Parameters
    ----------
    edges : ndarray of shape (N+1,)
        Increasing cell edges.
    start_pdf : callable ndarray -> ndarray, optional
        The start density, vectorised.
    prior_var : float, default 1.0
        Variance of π, > 0: ``sde.prior_var`` (1 for OU, σ_T² for VE; checked by
        :class:`~empirical.sde.LinearSDE`).

    Returns
    -------
    ndarray of shape (N,)
    """
    pdf = start_pdf or (lambda x: np.exp(-0.5 * x * x / prior_var) / np.sqrt(2.0 * np.pi * prior_var))
    return cell_average(pdf, edges)
