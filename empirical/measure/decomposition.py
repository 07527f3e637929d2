"""The error decomposition (15) behind Theorem 1, measured on the exact flows.

L̃(θ̂_n(τ)) = I1 + I2 + I3 + L̃(θ̄*) with, all under the population loss L̃ of the training weighting:
I1 = L̃(θ̂_n(τ)) - L̃(θ(τ))   (generalisation gap: empirical flow (9) vs population flow (10)),
I2 = L̃(θ(τ)) - L̃(θ*)       (optimisation error, <= ‖θ0 - θ*‖²/(2τ) by Lemma 4),
I3 = L̃(θ*) - L̃_{M}(θ*_{M})  (random-feature error, ≲ 1/m), where the minimum over a nested model
with M > m features (same seed stream, e.g. M = 8m) is the documented estimate of L̃(θ̄*).

References
----------
arXiv:2311.01797, decomposition (15), flows (9)-(10) and Lemma 4; docs/theory.md §3 (the reading of
I2 and I3), §7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rf.flow import gradient_flow
from ..rf.quadratic import QuadraticLoss


@dataclass(frozen=True, eq=False)
class Decomposition:
    """Terms of (15) at each τ.

    ``I1``, ``I2``, ``loss_empirical_flow`` and ``loss_population_flow`` have shape (len(taus),),
    the others are scalars.

    Attributes
    ----------
    taus : ndarray
        Training times τ.
    I1, I2 : ndarray
        Generalisation gap L̃(θ̂_n(τ)) - L̃(θ(τ)) and optimisation error L̃(θ(τ)) - L̃(θ*).
    I3 : float
        Random-feature error L̃(θ*) - L̃_M(θ*_M); NaN without a nested model.
    loss_empirical_flow, loss_population_flow : ndarray
        L̃(θ̂_n(τ)) and L̃(θ(τ)), both under the population loss.
    loss_star, loss_star_large : float
        L̃(θ*) and the nested model's minimum, the estimate of L̃(θ̄*) (NaN without it).
    """

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
    flows: tuple[np.ndarray, np.ndarray] | None = None,
) -> Decomposition:
    """I1, I2, I3 of (15), vectorised over τ.

    Parameters
    ----------
    empirical, population : QuadraticLoss
        Losses of the same features and weighting (flows (9) and (10)).
    population_large : QuadraticLoss or None
        Population loss of a nested model with more features (``draw_features`` with the same seed
        and a larger m, e.g. 4m); its minimum estimates L̃(θ̄*). None skips I3 (NaN).
    taus : array_like
        Training times, finite and >= 0.
    A0 : ndarray of shape (d, m), optional
        Common start of both flows (default 0).
    flows : (ndarray, ndarray), optional
        The empirical and the population flow at ``taus`` from ``A0``, when the caller holds them already
        (:func:`empirical.measure.measure` does); computed here otherwise.

    Returns
    -------
    Decomposition
        With L̃(θ̂_n(τ)) = I1 + I2 + I3 + ``loss_star_large`` at every τ.

    Raises
    ------
    ValueError
        If the losses differ in weighting, T or t0, ``empirical`` has another m, or
        ``population_large`` does not have more features.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.measure.decomposition import decomposition
    >>> from empirical.rf.features import draw_features
    >>> from empirical.rf.loss import empirical_loss, population_loss
    >>> from empirical.targets import two_mode
    >>> p = two_mode(3.0)
    >>> f = draw_features(8, seed=0)
    >>> pop, big = population_loss(p, f, n_t=16), population_loss(p, draw_features(32, seed=0), n_t=16)
    >>> emp = empirical_loss(p.sample(16, np.random.default_rng(0)), f, n_t=16)
    >>> d = decomposition(emp, pop, big, [1.0, 10.0, 100.0])
    >>> total = d.I1 + d.I2 + d.I3 + d.loss_star_large
    >>> bool(np.allclose(total, d.loss_empirical_flow, rtol=1e-12))  # (15) adds up
    True
    >>> bool(np.all(np.diff(d.I2) < 0)), bool(d.I3 > 0)  # I2 falls in τ; more features fit better
    (True, True)

    With the population loss in place of the empirical one, the two flows coincide:

    >>> bool(np.all(decomposition(pop, pop, None, [1.0, 10.0]).I1 == 0))
    True
    """
    _compatible(population, empirical, "empirical")
    if population_large is not None:
        _compatible(population, population_large, "population_large")
    large_m = population.m + 1 if population_large is None else population_large.m
    if empirical.B1.shape != population.B1.shape or large_m <= population.m:
        raise ValueError(f"empirical must have m = {population.m} and population_large m > {population.m}, "
                         f"got {empirical.m} and {large_m}")
    taus = np.atleast_1d(np.asarray(taus, dtype=float))
    A_hat, A_pop = flows if flows is not None else (gradient_flow(empirical, taus, A0), gradient_flow(population, taus, A0))
    loss_hat = population.value(A_hat)
    loss_pop = population.value(A_pop)
    star = float(population.value(population.minimizer()))
    star_large = (float("nan") if population_large is None
                  else float(population_large.value(population_large.minimizer())))
    return Decomposition(taus, loss_hat - loss_pop, loss_pop - star, star - star_large,
                         loss_hat, loss_pop, star, star_large)
