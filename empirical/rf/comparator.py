"""The comparator θ̃ of Lemma 4 whose norm enters the 1/τ term: the ridge minimiser of the population loss.

Lemma 4 holds for every comparator θ̃: L̃(θ(τ)) - L̃(θ̃) <= ‖θ0 - θ̃‖²/(2τ). With θ0 = 0 and the
optimisation error I2 = L̃(θ(τ)) - L̃(θ*) of (15) this reads, exactly,

    I2(τ) <= [L̃(θ̃) - L̃(θ*)] + ‖θ̃‖²/(2τ).

The minimum-norm minimiser θ* of the m-feature loss is numerically undefined (cond B1 reaches 1e21 and
beyond, and ‖θ*‖² moves by a factor ~50 with the solver's rank cutoff), so the comparator is the ridge
minimiser θ_ρ = argmin L̃(θ) + ρ‖θ‖² = (B1 + ρI)⁻¹ B2 with

    ρ = ``RIDGE_REL`` · tr B1,    tr B1 = E_t λ(t) E_{x~p_t} ‖σ(Wx + U e(t))‖²/m,

the mean feature energy (independent of m). Then ‖θ_ρ‖² <= (L̃(0) - L̃(θ_ρ))/ρ <= L̃(0)/ρ for every m
(ρ‖θ_ρ‖² + L̃(θ_ρ) <= L̃(0)), and the price of the comparator, its excess loss
L̃(θ_ρ) - L̃(θ*) >= 0, is carried as a stated extra term (docs/theory.md §3.2).

References
----------
arXiv:2311.01797, Lemma 4 and decomposition (15); docs/theory.md §3.2, §7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .quadratic import QuadraticLoss

RIDGE_REL = 1e-6
"""ρ / tr B1 of the comparator: ‖θ_ρ‖² then moves by < 0.2% between rank cutoffs 1e-14 and 1e-8 of B1
(m = 128 to 1024, both targets) and saturates in m (docs/theory.md §3.2)."""


@dataclass(frozen=True)
class Comparator:
    """The comparator θ_ρ of Lemma 4 for one loss.

    Attributes
    ----------
    rho : float
        The ridge ρ = ``RIDGE_REL`` · tr B1.
    A : ndarray of shape (d, m)
        θ_ρ in the (1/m) A convention of (12) (θ = vec(A)/√m).
    norm2 : float
        ‖θ0 - θ_ρ‖² = ‖θ_ρ‖² (θ0 = 0), the norm of the 1/τ term.
    excess : float
        L̃(θ_ρ) - L̃(θ*) >= 0 (up to rounding), θ* the minimum-norm minimiser: the comparator's price.
    """

    rho: float
    A: np.ndarray
    norm2: float
    excess: float


def ridge(loss: QuadraticLoss) -> float:
    """ρ = ``RIDGE_REL`` · tr B1 of ``loss``; a ValueError when B1 = 0 (no feature has energy)."""
    trace = float(np.trace(loss.B1))
    if not trace > 0:
        raise ValueError(f"loss.B1 must have a positive trace for the ridge comparator, got {trace!r}")
    return RIDGE_REL * trace


def comparator(loss: QuadraticLoss, rcond: float = 0.0) -> Comparator:
    """The ridge comparator θ_ρ of Lemma 4 (ρ = :func:`ridge`), its norm and its excess loss.

    Parameters
    ----------
    loss : QuadraticLoss
        The loss the flow descends (the population loss (7) for the 1/τ term of the bound).
    rcond : float, default 0
        Rank cutoff of B1 for the solve (:meth:`~empirical.rf.quadratic.QuadraticLoss.ridge_minimizer`);
        the result does not depend on it below 1e-8 (tests/empirical/test_comparator.py).

    Returns
    -------
    Comparator

    Raises
    ------
    ValueError
        If tr B1 = 0 or ``rcond`` is not in [0, 1).

    References
    ----------
    arXiv:2311.01797, Lemma 4; docs/theory.md §3.2.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.rf.comparator import comparator
    >>> from empirical.rf.features import draw_features
    >>> from empirical.rf.loss import population_loss
    >>> from empirical.targets import two_mode
    >>> L = population_loss(two_mode(3.0), draw_features(32, seed=0), n_t=16)
    >>> c = comparator(L)
    >>> bool(c.norm2 <= L.c / c.rho), bool(c.excess >= 0)  # the m-free bound; θ_ρ is no better than θ*
    (True, True)
    """
    rho = ridge(loss)
    A = loss.ridge_minimizer(rho, rcond)
    norm2 = float(np.sum(A * A) / loss.m)
    excess = float(loss.value(A) - loss.value(loss.minimizer()))
    return Comparator(rho, A, norm2, excess)
