"""Targets in R^d with exact scores: products of 1-D targets in a rotated frame (docs/theory.md §5-§6).

p0(x) = Π_j f_j((Qᵀx)_j) for 1-D targets f_j and an orthogonal Q: the coordinates y = Qᵀx are
independent. The forward SDE (2) acts coordinatewise and isotropically (kernel (8) is
N(r x0, σ_t² I), and QᵀN(r x0, σ_t² I) = N(r Qᵀx0, σ_t² I)), so p_t stays a product in the same frame:

    log p_t(x) = Σ_j log f_{j,t}(y_j),   ∇log p_t(x) = Q [f'_{j,t}(y_j)/f_{j,t}(y_j)]_j,
    KL(p_t ‖ N(0, I)) = Σ_j KL(f_{j,t} ‖ N(0, 1)),   E_{p_t}‖∇log p_t‖² = Σ_j E_{f_{j,t}}|(log f_{j,t})'|²,

the last two because π = N(0, I) is itself a product in every orthonormal frame and ‖Q s‖ = ‖s‖. Every
quantity is as exact as the 1-D factors' (closed form for Gaussian mixtures, 1-D quadrature for bumps).

- :func:`two_mode_nd`: Theorem 2's mixture q1 N(-µu, I) + q2 N(µu, I) (a two-mode factor along u times
  d - 1 standard normals).
- :func:`two_bumps_nd`: a compactly supported C¹ target for Theorem 1 (a two-bump factor along u times
  d - 1 centred bumps).
- :func:`random_direction`: a seeded uniform unit vector, for modes along a direction that the random
  features' orientation does not single out.

References
----------
arXiv:2311.01797, forward SDE (2), kernel (8), Theorem 1 and Theorem 2; docs/theory.md §1, §5, §6.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..sde import LinearSDE, ou
from .bump import bump, two_bumps
from .frames import frame, random_direction, unit_vector
from .mixture import GaussianMixture1D, gaussian, two_mode
from .protocol import Target1D

_ORTHO_TOL = 1e-10


def _same_sde(a: LinearSDE, b: LinearSDE) -> bool:
    """The same forward process: the same object, or equal T and equal r(t), σ_t² on a grid of [0, T]."""
    if a is b:
        return True
    if a.T != b.T:
        return False
    t = np.linspace(0.0, a.T, 17)
    return bool(np.allclose(a.r(t), b.r(t), rtol=1e-12, atol=1e-14)
                and np.allclose(a.sigma2(t), b.sigma2(t), rtol=1e-12, atol=1e-14))


@dataclass(frozen=True, eq=False)
class ProductTarget:
    """p0(x) = Π_j f_j((Qᵀx)_j) on R^d: independent 1-D targets in the frame of an orthogonal Q.

    Implements :class:`~empirical.targets.Target` with ``dim`` = d = len(factors). Points x have shape
    (..., d) (typically (N, d)); densities come back with shape (...), scores and samples with (..., d).

    Parameters
    ----------
    factors : sequence of Target1D
        The d >= 1 factor targets f_j, all diffused by one forward SDE (the same object, or equal T,
        r and σ_t²). Pass the same object several times for identical factors: it is then evaluated
        once on all of its coordinates.
    Q : array_like, shape (d, d), optional
        Orthogonal (‖QᵀQ - I‖_max <= 1e-10), finite; the identity by default. Column j is the
        direction of factor j.
    name : str, default "product"
        Used in reports.

    Attributes
    ----------
    sde : LinearSDE
        The factors' common forward process.
    dim : int
        d.

    Raises
    ------
    ValueError
        If ``factors`` is empty, holds something that is not a 1-D target, or the factors do not share
        one sde; if ``Q`` is not a finite orthogonal d×d matrix. Methods raise it for x whose last axis
        is not d (or with fewer than 2 axes), and pass on the factors' errors (t outside [0, T], the
        score outside the support at t = 0).

    See Also
    --------
    two_mode_nd, two_bumps_nd : the targets of Theorems 2 and 1 in R^d.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.targets import ProductTarget, gaussian, two_mode
    >>> from empirical.sde import ou
    >>> sde = ou()
    >>> p = ProductTarget([two_mode(2.0, sde=sde), gaussian(0.0, 1.0, sde=sde)])
    >>> p.dim, bool(np.all(p.score(0.5, np.zeros((1, 2))) == 0))  # symmetric in both coordinates: score 0 at 0
    (2, True)
    >>> bool(np.isclose(p.kl_to_prior(1.0), two_mode(2.0, sde=sde).kl_to_prior(1.0)))  # N(0, 1) adds 0
    True
    """

    factors: tuple[Target1D, ...]
    Q: np.ndarray | None = None
    name: str = "product"

    def __post_init__(self) -> None:
        factors = tuple(self.factors)
        if not factors:
            raise ValueError("factors must hold at least one 1-D target")
        for j, f in enumerate(factors):
            if not isinstance(f, Target1D) or getattr(f, "dim", None) != 1:
                raise ValueError(f"factors[{j}] must be a 1-D target (Target1D with dim 1), got {type(f).__name__}")
        sde = factors[0].sde
        for j, f in enumerate(factors[1:], start=1):
            if not _same_sde(sde, f.sde):
                raise ValueError(f"factors must share one sde: factors[{j}].sde differs from factors[0].sde "
                                 f"({f.sde.name}, T={f.sde.T} vs {sde.name}, T={sde.T})")
        d = len(factors)
        if self.Q is None:
            Q, identity = np.eye(d), True
        else:
            Q = np.array(self.Q, dtype=float)
            if Q.shape != (d, d):
                raise ValueError(f"Q must have shape ({d}, {d}) for {d} factors, got {Q.shape}")
            if not np.all(np.isfinite(Q)):
                raise ValueError("Q must be finite")
            err = float(np.max(np.abs(Q.T @ Q - np.eye(d))))
            if err > _ORTHO_TOL:
                raise ValueError(f"Q must be orthogonal (max|QᵀQ - I| <= {_ORTHO_TOL}), got {err:.3g}")
            identity = bool(np.array_equal(Q, np.eye(d)))
        Q.setflags(write=False)
        groups: dict[int, list[int]] = {}
        for j, f in enumerate(factors):
            groups.setdefault(id(f), []).append(j)
        object.__setattr__(self, "factors", factors)
        object.__setattr__(self, "Q", Q)
        object.__setattr__(self, "sde", sde)
        object.__setattr__(self, "dim", d)
        object.__setattr__(self, "_identity", identity)
        object.__setattr__(self, "_groups", tuple((factors[cols[0]], np.array(cols)) for cols in groups.values()))

    @property
    def direction(self) -> np.ndarray:
        """Q e1, the direction of the first factor (the modes' axis for :func:`two_mode_nd`)."""
        return self.Q[:, 0].copy()

    def to_frame(self, x: np.ndarray) -> np.ndarray:
        """The factor coordinates y = Qᵀx of points x of shape (..., d)."""
        x = np.asarray(x, dtype=float)
        if x.ndim < 2 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}) (or (..., {self.dim})), got {x.shape}")
        return x if self._identity else x @ self.Q

    def _from_frame(self, y: np.ndarray) -> np.ndarray:
        """Q y for rows y."""
        return y if self._identity else y @ self.Q.T

    def _per_coordinate(self, method: str, t: float, y: np.ndarray) -> np.ndarray:
        """factor_j.method(t, y[..., j]) for every j, each distinct factor called once on its columns."""
        out = np.empty(y.shape)
        for f, cols in self._groups:
            out[..., cols] = getattr(f, method)(t, y[..., cols])
        return out

    def logpdf(self, t: float, x: np.ndarray) -> np.ndarray:
        """log p_t(x) = Σ_j log f_{j,t}((Qᵀx)_j) (-inf outside the support), shape (...)."""
        return np.sum(self._per_coordinate("logpdf", t, self.to_frame(x)), axis=-1)

    def pdf(self, t: float, x: np.ndarray) -> np.ndarray:
        """p_t(x) = exp(:meth:`logpdf`), shape (...)."""
        return np.exp(self.logpdf(t, x))

    def score(self, t: float, x: np.ndarray) -> np.ndarray:
        """Exact ∇log p_t(x) = Q [(log f_{j,t})'((Qᵀx)_j)]_j, shape (..., d)."""
        return self._from_frame(self._per_coordinate("score", t, self.to_frame(x)))

    def sample(self, n: int, rng: np.random.Generator, t: float = 0.0) -> np.ndarray:
        """n iid draws from p_t (default p0): Q times independent draws of the factors, shape (n, d)."""
        y = np.empty((int(n), self.dim))
        for f, cols in self._groups:
            y[:, cols] = np.asarray(f.sample(int(n) * cols.size, rng, t)).reshape(int(n), cols.size)
        return self._from_frame(y)

    def kl_to_prior(self, t: float | None = None) -> float:
        """KL(p_t ‖ N(0, I)) = Σ_j KL(f_{j,t} ‖ N(0, 1)); t defaults to the horizon T."""
        return float(sum(f.kl_to_prior(t) * cols.size for f, cols in self._groups))

    def fisher_information(self, t: float) -> float:
        """E_{p_t}‖∇log p_t‖² = Σ_j E_{f_{j,t}}|(log f_{j,t})'|², the constant c(t) of Lemma 3."""
        return float(sum(f.fisher_information(t) * cols.size for f, cols in self._groups))

    def gaussian_mixture(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        """p0 as an isotropic Gaussian mixture Σ_k q_k N(c_k, var0·I), or None if it is not one.

        It is one when every factor is a :class:`GaussianMixture1D` and all component variances of all
        factors equal one var0: the product of the factors' components, K = Π_j K_j of them, with means
        Q (m_{1,k1}, ..., m_{d,kd}) and weights Π_j q_{j,kj} (the first factor's index varying slowest).

        Returns
        -------
        (means (K, d), weights (K,), var0) or None
            The means in the original frame (x = Q y); the input of
            :func:`empirical.rf.coefficients_nd.mixture_coefficients`.
        """
        if not all(isinstance(f, GaussianMixture1D) for f in self.factors):
            return None
        variances = np.concatenate([f.variances for f in self.factors])
        if not np.all(variances == variances[0]):
            return None
        means, weights = np.zeros((1, 0)), np.ones(1)
        for f in self.factors:  # the product of components, built factor by factor (any d)
            k = f.means.size
            means = np.concatenate([np.repeat(means, k, axis=0), np.tile(f.means, means.shape[0])[:, None]], axis=1)
            weights = np.outer(weights, f.weights).ravel()
        return self._from_frame(means), weights, float(variances[0])


def _check_dim(d: int) -> int:
    if not (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1):
        raise ValueError(f"d must be an integer >= 1, got {d!r}")
    return int(d)


def _frame_of(direction: Sequence[float] | np.ndarray | None, d: int) -> np.ndarray | None:
    if direction is None:
        return None
    return frame(unit_vector(direction, d))


def two_mode_nd(mu: float, d: int, weights: tuple[float, float] = (0.5, 0.5), *,
                direction: Sequence[float] | np.ndarray | None = None,
                sde: LinearSDE | None = None) -> ProductTarget:
    """Theorem 2's target in R^d: p0 = q1 N(-µu, I) + q2 N(µu, I), modes along the unit vector u.

    The product of the 1-D two-mode factor q1 N(-µ, 1) + q2 N(µ, 1) along u and d - 1 standard
    normals orthogonal to it. Under OU, p_t = q1 N(-µe^{-t}u, I) + q2 N(µe^{-t}u, I) (docs/theory.md §6),
    and the score, KL(p_T ‖ π) and Fisher information are those of the 1-D mixture plus d - 1 standard
    normals (which add 0 to the KL and 1 each to the Fisher information).

    Parameters
    ----------
    mu : float
        Mode position µ > 0 (the modes are 2µ apart).
    d : int
        Dimension, >= 1.
    weights : (q1, q2), default (0.5, 0.5)
        Positive weights summing to 1; q1 weighs the mode at -µu.
    direction : array_like, shape (d,), optional
        u before normalisation (finite, nonzero); e1 by default. Completed to an orthogonal Q by
        :func:`frame`.
    sde : LinearSDE, optional
        Forward process (2) shared by all factors; OU with T = 5 by default.

    Returns
    -------
    ProductTarget
        Named "gm_nd".

    Raises
    ------
    ValueError
        If ``mu`` is not a finite number > 0, ``d`` not an integer >= 1, the weights are not > 0
        summing to 1, or ``direction`` is not a finite nonzero vector of length d.

    References
    ----------
    arXiv:2311.01797, Theorem 2.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.targets import two_mode_nd, random_direction
    >>> p = two_mode_nd(3.0, 4, direction=random_direction(4, seed=0))
    >>> bool(np.allclose(p.score(0.0, 3.0 * p.direction[None, :]), 0.0, atol=1e-6))  # a mode: ∇log p0 ≈ 0
    True
    >>> p.kl_to_prior() < 1e-5  # as in 1-D: the standard normal factors add nothing
    True
    """
    d = _check_dim(d)
    sde = sde or ou()
    Q = _frame_of(direction, d)
    std = gaussian(0.0, 1.0, sde=sde)
    return ProductTarget((two_mode(mu, weights, sde=sde),) + (std,) * (d - 1), Q, name="gm_nd")


def two_bumps_nd(mu: float, d: int, weights: tuple[float, float] = (0.5, 0.5), *,
                 scale: float = 1.0, k: int = 2, direction: Sequence[float] | np.ndarray | None = None,
                 sde: LinearSDE | None = None) -> ProductTarget:
    """A compactly supported C¹ target in R^d for Theorem 1: two bumps along u times d - 1 centred bumps.

    p0(x) = B2((Qᵀx)_1) Π_{j>1} B((Qᵀx)_j) with B2 = q1 B(· + µ) + q2 B(· - µ) the 1-D two-bump factor
    (:func:`two_bumps`) and B the centred bump of the same half-width ``scale`` and exponent k
    (:func:`bump`), B(y) ∝ (1 - (y/scale)²)^k on [-scale, scale]. Its support is the union of two cubes
    of side 2·scale centred at ±µu (in the frame of Q), so ‖x‖∞ <= √d (µ + scale) bounds it; p_t is a
    product of diffused bumps, each by 1-D quadrature.

    Parameters
    ----------
    mu : float
        Centres ±µu, with µ > scale.
    d : int
        Dimension, >= 1.
    weights : (q1, q2), default (0.5, 0.5)
        Positive weights summing to 1; q1 weighs the bump at -µu.
    scale : float, default 1.0
        Half-width of every bump, > 0.
    k : int, default 2
        Exponent of (1 - y²)^k, >= 2 (C¹, finite Fisher information).
    direction : array_like, shape (d,), optional
        u before normalisation (finite, nonzero); e1 by default.
    sde : LinearSDE, optional
        Forward process (2) shared by all factors; OU with T = 5 by default.

    Returns
    -------
    ProductTarget
        Named "two_bumps_nd".

    Raises
    ------
    ValueError
        If not µ > scale > 0, ``d`` is not an integer >= 1, or another argument is outside its range.

    References
    ----------
    arXiv:2311.01797, Theorem 1 (compactly supported C¹ p0).

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.targets import two_bumps_nd
    >>> p = two_bumps_nd(1.5, 3)
    >>> x = np.array([[1.5, 0.0, 0.0], [0.0, 0.0, 0.0], [1.5, 1.2, 0.0]])
    >>> p.pdf(0.0, x).round(10).tolist()  # ½·(15/16)³ at a centre; 0 between the bumps and outside
    [0.4119873047, 0.0, 0.0]
    """
    d = _check_dim(d)
    sde = sde or ou()
    Q = _frame_of(direction, d)
    centred = bump(0.0, scale, k, sde=sde)
    return ProductTarget((two_bumps(mu, scale, weights, k, sde=sde),) + (centred,) * (d - 1), Q,
                         name="two_bumps_nd")
