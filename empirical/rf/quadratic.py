"""The quadratic form of Lemma 3: the weighting λ(t) of (6) and L̃(Θ) = tr(Θ B1 Θᵀ) - 2 tr(Θ B2) + c.

Both losses of the random-feature model (12), the population loss (7) and the empirical DSM loss
(5), are this form with Θ = A/√m (:mod:`empirical.rf.loss` builds B1, B2 and c); the flows (9)-(10),
the decomposition (15) and the score bound K1 all act on it.

References
----------
arXiv:2311.01797, eqs. (5)-(7), (9)-(10) and Lemma 3; docs/theory.md §3.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..sde import LinearSDE

WEIGHTINGS = ("std", "var", "g2")


def weighting(name: str, sde: LinearSDE, t: np.ndarray, d: int = 1) -> np.ndarray:
    """λ(t) of (6): 'std' = σ_t/√d ((6) as printed), 'var' = σ_t², 'g2' = g(t)² (likelihood weighting).

    Parameters
    ----------
    name : {"std", "var", "g2"}
        The weighting (docs/theory.md §3; 'std' is the default).
    sde, t : LinearSDE, array_like
        Forward process (2) and times in [0, T].
    d : int, default 1
        Data dimension, >= 1 (enters 'std' only).

    Returns
    -------
    ndarray
        λ(t), with the shape of ``t``.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`WEIGHTINGS`.

    Examples
    --------
    >>> from empirical.rf.loss import weighting
    >>> from empirical.sde import ou
    >>> [round(float(weighting(k, ou(), 1.0)), 6) for k in ("std", "var", "g2")]
    [0.929873, 0.864665, 2.0]
    """
    t = np.asarray(t, dtype=float)
    if name == "std":
        return np.sqrt(sde.sigma2(t) / d)
    if name == "var":
        return np.asarray(sde.sigma2(t), dtype=float)
    if name == "g2":
        return sde.g2(t)
    raise ValueError(f"lam must be one of {WEIGHTINGS}, got {name!r}")


@dataclass(frozen=True, eq=False)
class QuadraticLoss:
    """L̃(A) = tr(Θ B1 Θᵀ) - 2 tr(Θ B2) + c with Θ = A/√m (Lemma 3).

    Attributes
    ----------
    B1 : (m, m), B2 : (m, d), c : float
        The Lemma-3 coefficients (finite; B1 symmetric positive semi-definite).
    lam : str
        Weighting λ(t) ('std', 'var' or 'g2').
    T, t0 : float
        The t-expectation is over U(t0, T).
    kind : str
        'population', 'empirical' or 'empirical-mc' / 'population-mc' (sample-average variants).

    Raises
    ------
    ValueError
        If B1 is not square, B2 does not have m rows, a coefficient is not finite, or ``lam`` is
        unknown.
    """

    B1: np.ndarray
    B2: np.ndarray
    c: float
    lam: str = "std"
    T: float = 5.0
    t0: float = 0.0
    kind: str = "population"

    def __post_init__(self) -> None:
        B1, B2 = np.asarray(self.B1, dtype=float), np.asarray(self.B2, dtype=float)
        if B1.ndim != 2 or B1.shape[0] != B1.shape[1] or B2.ndim != 2 or B2.shape[0] != B1.shape[0]:
            raise ValueError(f"B1 must be (m, m) and B2 (m, d), got {B1.shape} and {B2.shape}")
        if not (np.all(np.isfinite(B1)) and np.all(np.isfinite(B2)) and np.isfinite(self.c)):
            raise ValueError("B1, B2 and c must be finite")
        if self.lam not in WEIGHTINGS:
            raise ValueError(f"lam must be one of {WEIGHTINGS}, got {self.lam!r}")
        object.__setattr__(self, "B1", B1)
        object.__setattr__(self, "B2", B2)

    @property
    def m(self) -> int:
        """Number of features m."""
        return self.B1.shape[0]

    @property
    def d(self) -> int:
        """Data dimension d."""
        return self.B2.shape[1]

    @property
    def horizon(self) -> float:
        """T - t0, the length of the t-interval (K1 = ½ (T - t0) L̃_g2 + KL(p_T‖π))."""
        return self.T - self.t0

    def _theta(self, A: np.ndarray) -> np.ndarray:
        A = np.asarray(A, dtype=float)
        if A.shape[-2:] != (self.d, self.m):
            raise ValueError(f"A must have shape (..., {self.d}, {self.m}), got {A.shape}")
        return A / np.sqrt(self.m)

    def value(self, A: np.ndarray) -> np.ndarray:
        """L̃(A) for A of shape (..., d, m); returns shape (...).

        ``A`` holds coefficients in the (1/m) A convention of (12), e.g. a stack from the flow;
        other trailing axes raise ValueError.
        """
        th = self._theta(A)
        quad = np.sum((th @ self.B1) * th, axis=(-2, -1))
        return quad - 2.0 * np.sum(th * self.B2.T, axis=(-2, -1)) + self.c

    def grad(self, A: np.ndarray) -> np.ndarray:
        """∇_A L̃ = (2/m) A B1 - (2/√m) B2ᵀ, same shape as A (the flow is dA/dτ = -m ∇_A L̃)."""
        th = self._theta(A)
        return 2.0 * (th @ self.B1 - self.B2.T) / np.sqrt(self.m)

    @cached_property
    def spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """(β, V) with B1 = V diag(β) Vᵀ; round-off negatives of the PSD B1 are set to 0 (cached)."""
        beta, V = np.linalg.eigh(self.B1)
        return np.maximum(beta, 0.0), V

    def minimizer(self, rcond: float | None = None) -> np.ndarray:
        """Minimum-norm minimiser A* = √m (B1⁺ B2)ᵀ, shape (d, m).

        Eigenvalues β <= rcond·max β count as zero; rcond defaults to m·eps (numpy's rank cutoff).
        B2 lies in range(B1) (v ∈ ker B1 ⇒ vᵀh1 = 0 a.s.), so this is the limit of the flow from 0.
        """
        beta, V = self.spectrum
        rcond = self.m * np.finfo(float).eps if rcond is None else rcond
        keep = beta > rcond * beta.max()
        inv = np.where(keep, 1.0 / np.where(keep, beta, 1.0), 0.0)
        return np.sqrt(self.m) * (V @ (inv[:, None] * (V.T @ self.B2))).T

    def ridge_minimizer(self, rho: float, rcond: float = 0.0) -> np.ndarray:
        """Minimiser A_ρ = √m ((B1 + ρI)⁻¹ B2)ᵀ of L̃(θ) + ρ‖θ‖², shape (d, m) (θ = vec(A)/√m).

        Defined for every ρ > 0 whatever the conditioning of B1. Eigenvalues β <= rcond·max β are
        dropped (default 0: none), so that its sensitivity to a solver's rank cutoff can be measured;
        :mod:`empirical.rf.comparator` uses it as the comparator of Lemma 4.

        Raises
        ------
        ValueError
            If ``rho`` is not a finite number > 0 or ``rcond`` is not in [0, 1).

        Examples
        --------
        >>> import numpy as np
        >>> from empirical.rf.quadratic import QuadraticLoss
        >>> L = QuadraticLoss(np.diag([2.0, 0.0]), np.array([[2.0], [0.0]]), 3.0)
        >>> L.ridge_minimizer(2.0).round(6).tolist()  # θ = B2/(β + ρ) = [0.5, 0], A = √2 θ
        [[0.707107, 0.0]]
        """
        if not (np.isfinite(rho) and rho > 0):
            raise ValueError(f"rho must be a finite number > 0, got {rho!r}")
        if not (np.isfinite(rcond) and 0.0 <= rcond < 1.0):
            raise ValueError(f"rcond must be a number in [0, 1), got {rcond!r}")
        beta, V = self.spectrum
        keep = beta > rcond * beta.max() if rcond > 0 else np.ones(beta.shape, dtype=bool)
        inv = np.where(keep, 1.0 / (beta + rho), 0.0)
        return np.sqrt(self.m) * (V @ (inv[:, None] * (V.T @ self.B2))).T
