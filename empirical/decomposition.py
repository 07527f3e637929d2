"""The error decomposition (15) behind Theorem 1, measured on the exact flows.

L̃(θ̂_n(τ)) = I1 + I2 + I3 + L̃(θ̄*) with, all under the population loss L̃ of the training weighting:
I1 = L̃(θ̂_n(τ)) - L̃(θ(τ))   (generalisation gap: empirical flow (9) vs population flow (10)),
I2 = L̃(θ(τ)) - L̃(θ*)       (optimisation error, <= ‖θ0 - θ*‖²/(2τ) by Lemma 4),
I3 = L̃(θ*) - L̃_{M}(θ*_{M})  (random-feature error, ≲ 1/m), where the minimum over a nested model
with M > m features (same seed stream, e.g. M = 8m) is the documented estimate of L̃(θ̄*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flow import gradient_flow
from .loss import QuadraticLoss


@dataclass(frozen=True, eq=False)
class Decomposition:
    """Terms of (15) at each τ; ``I1``, ``I2``, ``loss_empirical_flow`` and ``loss_population_flow`` have
    shape (len(taus),), the others are scalars."""

    taus: np.ndarray
    I1: np.ndarray
    I2: np.ndarray
    I3: float
    loss_empirical_flow: np.ndarray
    loss_population_flow: np.ndarray
    loss_star: float
    loss_star_large: float


def _compatible(a: QuadraticLoss, b: QuadraticLoss, name: str) -> None:
    if (a.lam, a.T, a.t0) != (b.lam, b.T, b.t0):
        raise ValueError(f"{name} must share lam, T, t0 with population = {(a.lam, a.T, a.t0)}, "
                         f"got {(b.lam, b.T, b.t0)}")


def decomposition(
    empirical: QuadraticLoss,
    population: QuadraticLoss,
    population_large: QuadraticLoss | None,
    taus: np.ndarray,
    A0: np.ndarray | None = None,
) -> Decomposition:
    """I1, I2, I3 of (15), vectorised over τ.

    Parameters
    ----------
    empirical, population : losses of the same features and weighting (flows (9) and (10)).
    population_large : population loss of a nested model with more features (``draw_features`` with
        the same seed and a larger m, e.g. 4m); its minimum estimates L̃(θ̄*). None skips I3 (NaN).
    taus : training times; A0 : common start (default 0).
    """
    _compatible(population, empirical, "empirical")
    if population_large is not None:
        _compatible(population, population_large, "population_large")
    large_m = population.m + 1 if population_large is None else population_large.m
    if empirical.B1.shape != population.B1.shape or large_m <= population.m:
        raise ValueError(f"empirical must have m = {population.m} and population_large m > {population.m}, "
                         f"got {empirical.m} and {large_m}")
    taus = np.atleast_1d(np.asarray(taus, dtype=float))
    loss_hat = population.value(gradient_flow(empirical, taus, A0))
    loss_pop = population.value(gradient_flow(population, taus, A0))
    star = float(population.value(population.minimizer()))
    star_large = (float("nan") if population_large is None
                  else float(population_large.value(population_large.minimizer())))
    return Decomposition(taus, loss_hat - loss_pop, loss_pop - star, star - star_large,
                         loss_hat, loss_pop, star, star_large)
