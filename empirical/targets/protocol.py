"""What every target distribution p0 offers the engine: its diffused density p_t and exact score.

A target is diffused by a forward linear SDE (2) (its ``sde``). Every routine of the engine that
takes a target is annotated with one of these protocols, so a new target only has to implement the
methods listed here: the 1-D mixtures and bumps implement ``Target1D``, the d-dimensional products
(:mod:`empirical.targets.product`) ``Target``.

References
----------
arXiv:2311.01797, forward SDE (2), kernel (8), explicit score matching (7), Lemma 2 and Lemma 3;
docs/theory.md §1, §3.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..sde import LinearSDE


@runtime_checkable
class Target(Protocol):
    """p0 on R^d diffused by ``sde``: p_t, log p_t, ∇log p_t, samples, KL(p_T‖π), Fisher information.

    ``t`` is a float in [0, T]; ``x`` holds points (shape (N,) in 1-D, (N, d) otherwise).

    Methods
    -------
    pdf(t, x), logpdf(t, x)
        p_t(x), the target diffused by (2) to time t, and log p_t(x) (-inf outside the support).
    """

    sde: LinearSDE
    dim: int
    name: str

    def pdf(self, t: float, x: np.ndarray) -> np.ndarray: ...

    def logpdf(self, t: float, x: np.ndarray) -> np.ndarray: ...

    def score(self, t: float, x: np.ndarray) -> np.ndarray:
        """∇log p_t(x), the regression target of explicit score matching (7)."""
        ...

    def sample(self, n: int, rng: np.random.Generator, t: float = 0.0) -> np.ndarray:
        """n iid draws from p_t."""
        ...

    def kl_to_prior(self, t: float | None = None) -> float:
        """KL(p_t ‖ π) with π = N(0, ``sde.prior_var`` I); t defaults to the horizon T (the last term of Lemma 2)."""
        ...

    def fisher_information(self, t: float) -> float:
        """E_{p_t}‖∇log p_t‖², the constant c(t) of Lemma 3 for the population loss."""
        ...


@runtime_checkable
class Target1D(Target, Protocol):
    """A 1-D target: also its CDF, partial moments, score derivative and an interval holding its mass.

    The exact-in-x losses (Lemma 3) need ``partial_moments``; the KL grids need ``support``; the
    divergence form of the probability-flow density (Remark 3) needs ``score_dx``.

    Methods
    -------
    cdf(t, x)
        P_{p_t}(X <= x).
    """

    def cdf(self, t: float, x: np.ndarray) -> np.ndarray: ...

    def partial_moments(self, t: float, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """F_k(z) = ∫_{-∞}^z x^k p_t(x) dx for k = 0, 1, 2."""
        ...

    def score_dx(self, t: float, x: np.ndarray) -> np.ndarray:
        """d/dx of the score ∇log p_t."""
        ...

    def support(self, t: float = 0.0, tail: float = 12.0) -> tuple[float, float]:
        """An interval holding all but a negligible tail of p_t."""
        ...
