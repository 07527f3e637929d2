"""The random-feature score model (12) of the paper.

s_{t,θ}(x) = (1/m) A σ(W x + U e(t)),  σ = ReLU,  θ := vec(A)/√m  (docs/theory.md §2).
Only A ∈ R^{d×m} is trained; W ∈ R^{m×d} and U ∈ R^{m×d_e} are drawn once from ρ0 = N(0, I) and
rescaled row-wise so that ‖w_i‖₁ + ‖u_i‖₁ = 1 (the paper's normalisation, by ReLU homogeneity).

References
----------
arXiv:2311.01797, random-feature model (12) and the divergence of Remark 3; docs/theory.md §2, §4.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator
from typing import Callable

import numpy as np

from ..checks import check_horizon

Embedding = Callable[[np.ndarray, float], np.ndarray]


def _one_t(t: np.ndarray, T: float) -> np.ndarray:
    return np.stack([np.ones_like(t), t / T], axis=-1)


def _one(t: np.ndarray, T: float) -> np.ndarray:
    return np.ones_like(t)[..., None]


def _one_sqrt_t(t: np.ndarray, T: float) -> np.ndarray:
    return np.stack([np.ones_like(t), np.sqrt(t / T)], axis=-1)


EMBEDDINGS: dict[str, tuple[int, Embedding]] = {
    "1,t/T": (2, _one_t),
    "1": (1, _one),
    "1,sqrt(t/T)": (2, _one_sqrt_t),
}
"""Named time embeddings e(t): name -> (d_e, e(t, T)). All are bounded and hold the constant entry
(the bias) that Theorem 1 assumes; "1,t/T" is the default of docs/theory.md §2."""


def _check_embedding(name: str) -> tuple[int, Embedding]:
    if name not in EMBEDDINGS:
        raise ValueError(f"embedding must be one of {sorted(EMBEDDINGS)}, got {name!r}")
    return EMBEDDINGS[name]


def _as_points(x: np.ndarray, d: int) -> np.ndarray:
    """Points as an (N, d) array; in 1-D a flat (N,) array is accepted as well."""
    x = np.asarray(x, dtype=float)
    if d == 1 and x.ndim <= 1:
        return x.reshape(-1, 1)
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"x must have shape (N, {d}), got {x.shape}")
    return x


@dataclass(frozen=True, eq=False)
class RandomFeatures:
    """Frozen features (W, U) of the model (12) with their time embedding.

    Attributes
    ----------
    W : (m, d) array, U : (m, d_e) array
        Rows (w_i, u_i) with ‖w_i‖₁ + ‖u_i‖₁ = 1; finite.
    T : float, default 5.0
        Horizon, finite and > 0, used by the embedding e(t).
    embedding : str, default "1,t/T"
        A key of :data:`EMBEDDINGS`.

    Raises
    ------
    ValueError
        If ``embedding`` is unknown, U does not have shape (m, d_e), W or U is not finite, or T is
        not a finite number > 0.

    See Also
    --------
    draw_features : draws W and U from ρ0.
    """

    W: np.ndarray
    U: np.ndarray
    T: float = 5.0
    embedding: str = "1,t/T"

    def __post_init__(self) -> None:
        d_e, _ = _check_embedding(self.embedding)
        W = np.atleast_2d(np.asarray(self.W, dtype=float))
        U = np.atleast_2d(np.asarray(self.U, dtype=float))
        if U.shape != (W.shape[0], d_e):
            raise ValueError(f"U must have shape ({W.shape[0]}, {d_e}) for embedding {self.embedding!r}, got {U.shape}")
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(U))):
            raise ValueError("W and U must be finite")
        check_horizon(self.T)
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "U", U)

    @property
    def m(self) -> int:
        """Number of features m."""
        return self.W.shape[0]

    @property
    def d(self) -> int:
        """Data dimension d."""
        return self.W.shape[1]

    @property
    def d_e(self) -> int:
        """Dimension d_e of the time embedding e(t)."""
        return self.U.shape[1]

    def embed(self, t: float | np.ndarray) -> np.ndarray:
        """e(t), shape (..., d_e), for times ``t`` in [0, T]."""
        return EMBEDDINGS[self.embedding][1](np.asarray(t, dtype=float), self.T)

    def bias(self, t: float | np.ndarray) -> np.ndarray:
        """b_i(t) = u_iᵀ e(t), shape (..., m), for times ``t`` in [0, T]."""
        return self.embed(t) @ self.U.T

    def preactivation(self, t: float, x: np.ndarray) -> np.ndarray:
        """W x + U e(t) for N points: shape (N, m).

        Parameters
        ----------
        t : float
            Time in [0, T].
        x : ndarray of shape (N, d), or (N,) when d = 1
            Points.

        Returns
        -------
        ndarray of shape (N, m)

        Raises
        ------
        ValueError
            If ``x`` does not have shape (N, d).
        """
        return _as_points(x, self.d) @ self.W.T + self.bias(t)

    def phi(self, t: float, x: np.ndarray) -> np.ndarray:
        """σ(W x + U e(t)) with σ = ReLU, shape (N, m); ``t`` and ``x`` as in :meth:`preactivation`."""
        return np.maximum(self.preactivation(t, x), 0.0)

    def _check_A(self, A: np.ndarray) -> np.ndarray:
        A = np.asarray(A, dtype=float)
        if A.shape[-2:] != (self.d, self.m):
            raise ValueError(f"A must have shape (..., {self.d}, {self.m}), got {A.shape}")
        return A

    def score(self, A: np.ndarray, t: float, x: np.ndarray) -> np.ndarray:
        """s_{t,θ}(x) = (1/m) A σ(W x + U e(t)) of (12), shape (N, d).

        Parameters
        ----------
        A : ndarray of shape (d, m)
            Coefficients in the (1/m) A convention of (12).
        t : float
            Time in [0, T].
        x : ndarray of shape (N, d), or (N,) when d = 1
            Points.

        Returns
        -------
        ndarray of shape (N, d)

        Raises
        ------
        ValueError
            If ``A`` or ``x`` has the wrong shape.
        """
        return self.phi(t, x) @ self._check_A(A).T / self.m

    def divergence(self, A: np.ndarray, t: float, x: np.ndarray) -> np.ndarray:
        """∇·s = (1/m) Σ_i 1[w_iᵀx + u_iᵀe(t) > 0] a_iᵀw_i (docs/theory.md §4, K3), shape (N,).

        The analytic divergence of Remark 3; ``A``, ``t`` and ``x`` as in :meth:`score`.

        Returns
        -------
        ndarray of shape (N,)
        """
        aw = np.einsum("ji,ij->i", self._check_A(A), self.W)
        return (self.preactivation(t, x) > 0) @ aw / self.m


def draw_features(
    m: int, d: int = 1, seed: int = 0, d_e: int | None = None, embedding: str = "1,t/T", T: float = 5.0
) -> RandomFeatures:
    """Draw (w_i, u_i) iid from ρ0 = N(0, I_{d+d_e}) and rescale to ‖w_i‖₁ + ‖u_i‖₁ = 1 (docs/theory.md §2).

    Rows are generated in order from ``default_rng(seed)``, so the first m rows of a draw with
    m' > m features equal the draw with m features: a larger model nests a smaller one (used by
    the estimate of I3 in (15)).

    Parameters
    ----------
    m, d : int
        Number of features (>= 1) and data dimension (>= 1, default 1).
    seed : int, default 0
        Seed of ``numpy.random.default_rng``.
    d_e : int, optional
        Embedding dimension; must match ``embedding`` when given.
    embedding : str, default "1,t/T"
        A key of :data:`EMBEDDINGS`.
    T : float, default 5.0
        Horizon of the embedding e(t), finite and > 0.

    Returns
    -------
    RandomFeatures

    Raises
    ------
    ValueError
        If m or d is not an integer >= 1, ``embedding`` is unknown, or ``d_e`` does not match it.

    Examples
    --------
    Every row is on the unit ℓ¹ sphere, and a larger draw nests a smaller one:

    >>> import numpy as np
    >>> from empirical.rf.features import draw_features
    >>> f = draw_features(8, seed=3)
    >>> f.W.shape, f.U.shape
    ((8, 1), (8, 2))
    >>> bool(np.allclose(np.abs(f.W).sum(axis=1) + np.abs(f.U).sum(axis=1), 1.0))
    True
    >>> bool(np.array_equal(draw_features(32, seed=3).W[:8], f.W))
    True
    """
    if not (isinstance(m, (int, np.integer)) and m >= 1):
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    if not (isinstance(d, (int, np.integer)) and d >= 1):
        raise ValueError(f"d must be an integer >= 1, got {d!r}")
    dim_e, _ = _check_embedding(embedding)
    if d_e is not None and d_e != dim_e:
        raise ValueError(f"d_e must equal {dim_e} for embedding {embedding!r}, got {d_e!r}")
    z = np.random.default_rng(seed).standard_normal((int(m), int(d) + dim_e))
    z /= np.abs(z).sum(axis=1, keepdims=True)
    return RandomFeatures(W=z[:, :d], U=z[:, d:], T=float(T), embedding=embedding)


@dataclass(frozen=True, eq=False)
class RFScore:
    """The score s_{t,θ}(x) = (1/m) A σ(W x + U e(t)) of the model (12), as a score callable.

    ``A`` of shape (d, m) is one model. A stack of shape (k, d, m), e.g. the coefficients of the flow at
    k training times, is k models: iterate over it for one model at a time; the score bound
    :func:`empirical.kl.kl_score_bound` takes the whole stack in one vectorised evaluation.

    Parameters
    ----------
    features : RandomFeatures
        Frozen features (any d).
    A : ndarray of shape (d, m) or (k, d, m)
        One model, or a stack of k; build it with :func:`rf_score`, which checks the shapes.
    """

    features: RandomFeatures
    A: np.ndarray

    @property
    def stacked(self) -> bool:
        """Whether this is a stack of models (``A`` of shape (k, 1, m))."""
        return self.A.ndim == 3

    def __iter__(self) -> Iterator[RFScore]:
        """The models of a stack, in order (a single model yields itself)."""
        if not self.stacked:
            yield self
            return
        for a in self.A:
            yield RFScore(self.features, a)

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        """s_{t,θ}(x): shape (N,) for x of shape (N,) when d = 1, else (N, d) for x of shape (N, d); a stack
        raises ValueError (iterate over it)."""
        s = self.features.score(self._single(), t, x)
        return s[:, 0] if self.features.d == 1 else s

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        """The analytic divergence ∇·s of (12) (Remark 3), shape (N,); in 1-D it is ∂s/∂x."""
        return self.features.divergence(self._single(), t, x)

    def _single(self) -> np.ndarray:
        if self.stacked:
            raise ValueError(f"A holds a stack of {self.A.shape[0]} models: evaluate them one at a time "
                             "(iterate over the RFScore)")
        return self.A


def rf_score(features: RandomFeatures, A: np.ndarray) -> RFScore:
    """Wrap (features, A) as a score callable with ``__call__(t, x)`` and ``dx(t, x)`` (the divergence).

    Parameters
    ----------
    features : RandomFeatures
        Frozen features (any d).
    A : array of shape (d, m), or (k, d, m) for a stack of k models
        Trained coefficients in the (1/m) A convention of (12).

    Returns
    -------
    RFScore

    Raises
    ------
    ValueError
        If ``A`` does not have shape (d, m) or (k, d, m).

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.rf.features import draw_features, rf_score
    >>> f = draw_features(4, seed=0)
    >>> s = rf_score(f, np.ones((1, 4)))
    >>> x = np.array([-1.0, 2.0])
    >>> bool(np.allclose(s(0.5, x), np.maximum(f.preactivation(0.5, x), 0).mean(axis=1)))
    True
    """
    A = np.asarray(A, dtype=float)
    d, m = features.d, features.m
    if A.ndim not in (2, 3) or A.shape[-2:] != (d, m):
        raise ValueError(f"A must have shape ({d}, {m}) or (k, {d}, {m}), got {A.shape}")
    return RFScore(features, A)
