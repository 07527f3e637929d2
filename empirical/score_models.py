"""1-D score models in the form every KL measurement of ``empirical.kl`` accepts.

A score model is any object ``score`` with ``score(t, x) -> (N,)`` (the model s_{t,θ}(x) of (12))
and ``score.dx(t, x) -> (N,)`` (its x-derivative, the divergence of Remark 3, needed only by the
probability-flow ODE). ``t`` is a float, ``x`` a 1-D array. This module holds the adapter for the
exact score of a target and a few simple models with independent closed forms, used as references.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from .targets import GaussianMixture1D

_BLOCK = 256


class ScoreModel(Protocol):
    """s(t, x) and its x-derivative; ``t`` a float, ``x`` a 1-D array (THEORY §4)."""

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray: ...

    def dx(self, t: float, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ExactScore:
    """The true score ∇log p_t of a target, with its exact derivative."""

    target: GaussianMixture1D

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.target.score(t, x)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.target.score_dx(t, x)


def exact_score(target: GaussianMixture1D) -> ExactScore:
    """Adapter: ``target.score`` / ``target.score_dx`` as a score model."""
    return ExactScore(target)


@dataclass(frozen=True)
class LinearScore:
    """s(t, x) = a(t) x + b(t): keeps every Gaussian Gaussian under (3) and (4)."""

    a: Callable[[float], float]
    b: Callable[[float], float]

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.a(t) * np.asarray(x, dtype=float) + self.b(t)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        return np.full(np.shape(x), float(self.a(t)))


@dataclass(frozen=True)
class PerturbedScore:
    """s(t, x) = base(t, x) + eps * h(t, x), with h given with its derivative ``h_dx``."""

    base: ScoreModel
    h: Callable[[float, np.ndarray], np.ndarray]
    h_dx: Callable[[float, np.ndarray], np.ndarray]
    eps: float

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.base(t, x) + self.eps * self.h(t, x)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.base.dx(t, x) + self.eps * self.h_dx(t, x)


@dataclass(frozen=True)
class ReluScore:
    """Random-feature score (12) in 1-D: s(t, x) = (1/m) Σ_i a_i ReLU(w_i x + u_i0 + u_i1 t/T).

    Its x-derivative (1/m) Σ_i a_i w_i 1[w_i x + u_i·e(t) > 0] is piecewise constant (THEORY §4).
    """

    w: np.ndarray
    u: np.ndarray
    a: np.ndarray
    T: float
    _a: np.ndarray = field(init=False, repr=False)
    _aw: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        w, u, a = (np.asarray(v, dtype=float) for v in (self.w, self.u, self.a))
        if w.ndim != 1 or u.shape != (w.size, 2) or a.shape != w.shape:
            raise ValueError(f"need w (m,), u (m, 2), a (m,); got {w.shape}, {u.shape}, {a.shape}")
        object.__setattr__(self, "w", w)
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "_a", a / w.size)
        object.__setattr__(self, "_aw", a * w / w.size)

    def _apply(self, t: float, x: np.ndarray, reduce) -> np.ndarray:
        """reduce(pre-activations, out) over blocks of 256 points: an N x m temporary would not
        stay in cache, and blocking makes an evaluation about 4x faster at m = 1024."""
        x = np.asarray(x, dtype=float)
        bias = self.u[:, 0] + self.u[:, 1] * (t / self.T)
        out = np.empty(x.shape)
        for i in range(0, x.size, _BLOCK):
            z = np.multiply.outer(x[i:i + _BLOCK], self.w)
            z += bias
            out[i:i + _BLOCK] = reduce(z)
        return out

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        return self._apply(t, x, lambda z: np.maximum(z, 0.0, out=z) @ self._a)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        return self._apply(t, x, lambda z: (z > 0.0) @ self._aw)


def random_relu_features(m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rows (w_i, u_i) iid standard Gaussian, rescaled to |w_i| + ‖u_i‖₁ = 1 (THEORY §2)."""
    if m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    z = rng.standard_normal((m, 3))
    z /= np.abs(z).sum(axis=1, keepdims=True)
    return z[:, 0], z[:, 1:]
