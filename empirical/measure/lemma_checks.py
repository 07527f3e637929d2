"""The exact lemmas of gradient flow (docs/theory.md §7) checked on computed flows, with no hidden constant.

Lemma 4 (comparator bound) and Lemma 5 (distance travelled) hold for gradient flow on any convex loss;
the flows (9)-(10) of :mod:`empirical.rf.flow` must satisfy them up to floating-point rounding. The
bounds themselves are :func:`bounds.lemmas.lemma4_bound` and :func:`bounds.lemmas.lemma5_bound`.
The losses here are quadratic, where Lemma 4 holds with the sharp constant 1/(4e) in place of 1/2
(:func:`bounds.lemmas.lemma4_quadratic_bound`); that form is asserted too, so a flow that is slow by
up to a factor 2e (which the printed form cannot see) is caught. Lemma 4 is also asserted with the
comparator whose norm the 1/τ term uses (:mod:`empirical.rf.comparator`), and :func:`ledger_i2` is the
ledger's form of it on the optimisation error I2 of (15).

References
----------
arXiv:2311.01797, Lemmas 4 and 5; docs/theory.md §7.
"""

from __future__ import annotations

import numpy as np

from bounds.lemmas import lemma4_bound, lemma4_quadratic_bound, lemma5_bound

from ..rf.comparator import comparator
from ..rf.quadratic import QuadraticLoss

LEMMA_RTOL = 1e-9
"""Relative slack on the exact lemma checks: floating-point rounding of the loss values only."""


def theta_distance(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """‖θ_A - θ_B‖ with θ = vec(A)/√m, over the leading axes."""
    m = A.shape[-1]
    return np.sqrt(np.sum((A - B) ** 2, axis=(-2, -1)) / m)


def _worst_ratio(lhs: np.ndarray, rhs: np.ndarray) -> float:
    """max lhs/rhs; where rhs = 0 (θ* = θ0) a nonpositive lhs counts 0 and a positive one +inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(rhs > 0, lhs / np.where(rhs > 0, rhs, 1.0), np.where(lhs > 0, np.inf, 0.0))
    return float(np.max(r))


def lemma_checks(loss: QuadraticLoss, A: np.ndarray, taus: np.ndarray) -> dict:
    """Lemmas 4 and 5 (docs/theory.md §7) on a flow started at 0, exactly (rounding slack ``LEMMA_RTOL``).

    Lemma 4 with the comparator θ̃ = the minimum-norm minimiser θ*:
    L(θ(τ)) - L(θ*) <= ‖θ0 - θ*‖²/(2τ) as printed, and <= ‖θ0 - θ*‖²/(4eτ), its sharp form for a
    quadratic loss; and with the ridge comparator θ_ρ of :func:`~empirical.rf.comparator.comparator`
    (the one whose norm enters the 1/τ term): L(θ(τ)) - L(θ_ρ) <= ‖θ_ρ‖²/(2τ).
    Lemma 5: ‖θ(τ) - θ0‖ <= √(τ (L(θ0) - L(θ(τ)))) <= √(τ L(θ0)).
    Returns the worst ratio lhs/rhs of each (<= 1 holds), the checks that fail, whether all hold, and
    ‖θ(τ) - θ0‖ at each τ. ``worst_ratio`` keys: "lemma4" (to the printed bound; at most 1/(2e) ≈ 0.1839
    on a true flow), "lemma4_sharp" (to the sharp bound, <= 1), "lemma4_comparator", "lemma5",
    "lemma5_outer"; ``failed`` lists the keys whose inequality fails beyond rounding.

    Parameters
    ----------
    loss : QuadraticLoss
        The loss the flow descends.
    A, taus : ndarray of shape (k, d, m), (k,)
        The flow from A(0) = 0 (:func:`~empirical.rf.flow.gradient_flow`) at training times τ > 0.

    Returns
    -------
    dict
        ``holds`` (bool), ``failed`` (list of str), ``worst_ratio`` (dict of str -> float) and
        ``theta_norm`` (list of ‖θ(τ) - θ0‖).

    Raises
    ------
    ValueError
        If tr B1 = 0 (no comparator θ_ρ: :func:`~empirical.rf.comparator.ridge`).

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.rf.features import draw_features
    >>> from empirical.rf.flow import gradient_flow
    >>> from empirical.measure.lemma_checks import lemma_checks
    >>> from empirical.rf.loss import population_loss
    >>> from empirical.targets import two_mode
    >>> L = population_loss(two_mode(3.0), draw_features(8, seed=0), n_t=16)
    >>> taus = np.array([1.0, 1e2, 1e4])
    >>> out = lemma_checks(L, gradient_flow(L, taus), taus)
    >>> out["holds"], out["failed"]
    (True, [])
    >>> lemma_checks(L, gradient_flow(L, 2 * taus), taus)["failed"]  # twice as fast: moves too far
    ['lemma5']
    """
    zero = np.zeros_like(A[0])
    L = loss.value(A)
    L0 = float(loss.value(zero))
    slack = LEMMA_RTOL * max(abs(L0), 1.0)
    star = loss.minimizer()
    lhs = L - float(loss.value(star))
    dist2 = float(theta_distance(zero, star)) ** 2
    rhs = lemma4_bound(dist2, taus)
    sharp = lemma4_quadratic_bound(dist2, taus)
    near = comparator(loss)
    lhs_c = L - float(loss.value(near.A))
    rhs_c = lemma4_bound(near.norm2, taus)
    dist = theta_distance(A, zero[None])
    mid = lemma5_bound(taus, np.maximum(L0 - L, 0.0))
    outer = lemma5_bound(taus, max(L0, np.finfo(float).tiny))
    holds = {"lemma4": np.all(lhs <= rhs + slack), "lemma4_sharp": np.all(lhs <= sharp + slack),
             "lemma4_comparator": np.all(lhs_c <= rhs_c + slack),
             "lemma5": np.all(dist <= mid * (1 + LEMMA_RTOL) + lemma5_bound(taus, slack)),
             "lemma5_outer": np.all(mid <= outer * (1 + LEMMA_RTOL))}
    ratios = {"lemma4": _worst_ratio(lhs, rhs), "lemma4_sharp": _worst_ratio(lhs, sharp),
              "lemma4_comparator": _worst_ratio(lhs_c, rhs_c),
              "lemma5": float(np.max(dist / np.maximum(mid, np.finfo(float).tiny))),
              "lemma5_outer": float(np.max(mid / outer))}
    failed = [k for k, ok in holds.items() if not ok]
    # ‖θ(τ) - θ0‖ per τ: Lemma 5 as printed (‖θ(τ)‖ ≲ ‖θ0‖ + √(τ/m)) is read off it by the claims layer.
    return {"holds": not failed, "failed": failed, "worst_ratio": ratios, "theta_norm": dist.tolist()}


def ledger_i2(I2: np.ndarray, I2_independent: np.ndarray, quantities: dict, taus: np.ndarray) -> dict:
    """ledger-I2 (docs/theory.md §8.5): the optimisation error of (15) against Lemma 4 with the comparator θ_ρ.

    Two exact inequalities at every τ, with the rounding slack ``LEMMA_RTOL`` · max(L̃(0), 1):

    - ``I2_agreement``: the decomposition's I2 (from the closed-form flow) equals ``I2_independent``,
      an evaluation that does not use that flow (:func:`empirical.measure.independent.optimisation_error`);
    - ``ledger_I2``: I2_independent <= [L̃(θ_ρ) - L̃(θ*)] + ‖θ_ρ‖²/(2τ) (Lemma 4 with θ̃ = θ_ρ, θ0 = 0).

    Parameters
    ----------
    I2, I2_independent : array_like of shape (k,)
        The decomposition's I2 and the independent evaluation, at ``taus``.
    quantities : dict
        A measurement's quantities: ``comparator_norm2`` (‖θ_ρ‖²), ``comparator_excess``
        (L̃(θ_ρ) - L̃(θ*)) and ``loss_zero`` (L̃(0)).
    taus : array_like of shape (k,)
        Training times, > 0.

    Returns
    -------
    dict
        ``holds``, ``failed`` and ``worst_ratio`` as :func:`lemma_checks`; the agreement's ratio is
        max |I2 - I2_independent| / slack.

    Examples
    --------
    >>> import numpy as np
    >>> q = {"comparator_norm2": 4.0, "comparator_excess": 0.01, "loss_zero": 0.8}
    >>> taus = np.array([1.0, 10.0])
    >>> ledger_i2([0.5, 0.1], [0.5, 0.1], q, taus)["failed"]
    []
    >>> ledger_i2([0.5, 0.1], [0.5, 0.3], q, taus)["failed"]  # 0.3 > 0.01 + 4/20, and the two disagree
    ['I2_agreement', 'ledger_I2']
    """
    I2, I2_ind, taus = (np.asarray(v, dtype=float) for v in (I2, I2_independent, taus))
    slack = LEMMA_RTOL * max(abs(float(quantities["loss_zero"])), 1.0)
    rhs = float(quantities["comparator_excess"]) + lemma4_bound(float(quantities["comparator_norm2"]), taus)
    holds = {"I2_agreement": np.all(np.abs(I2 - I2_ind) <= slack), "ledger_I2": np.all(I2_ind <= rhs + slack)}
    ratios = {"I2_agreement": float(np.max(np.abs(I2 - I2_ind)) / slack), "ledger_I2": _worst_ratio(I2_ind, rhs)}
    failed = [k for k, ok in holds.items() if not ok]
    return {"holds": not failed, "failed": failed, "worst_ratio": ratios}
