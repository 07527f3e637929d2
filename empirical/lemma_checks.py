"""The exact lemmas of gradient flow (docs/theory.md §7) checked on computed flows, with no hidden constant.

Lemma 4 (comparator bound) and Lemma 5 (distance travelled) hold for gradient flow on any convex loss;
the flows (9)-(10) of :mod:`empirical.flow` must satisfy them up to floating-point rounding. The
bounds themselves are :func:`bounds.lemmas.lemma4_bound` and :func:`bounds.lemmas.lemma5_bound`.
The losses here are quadratic, where Lemma 4 holds with the sharp constant 1/(4e) in place of 1/2
(:func:`bounds.lemmas.lemma4_quadratic_bound`); that form is asserted too, so a flow that is slow by
up to a factor 2e (which the printed form cannot see) is caught.

References
----------
arXiv:2311.01797, Lemmas 4 and 5; docs/theory.md §7.
"""

from __future__ import annotations

import numpy as np

from bounds.lemmas import lemma4_bound, lemma4_quadratic_bound, lemma5_bound

from .quadratic import QuadraticLoss

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
    quadratic loss. Lemma 5: ‖θ(τ) - θ0‖ <= √(τ (L(θ0) - L(θ(τ)))) <= √(τ L(θ0)).
    Returns the worst ratio lhs/rhs of each (<= 1 holds), whether all hold, and ‖θ(τ) - θ0‖ at each τ.
    ``worst_ratio`` keys: "lemma4" (to the printed bound; at most 1/(2e) ≈ 0.1839 on a true flow),
    "lemma4_sharp" (to the sharp bound, <= 1), "lemma5", "lemma5_outer".

    Parameters
    ----------
    loss : QuadraticLoss
        The loss the flow descends.
    A, taus : ndarray of shape (k, d, m), (k,)
        The flow from A(0) = 0 (:func:`~empirical.flow.gradient_flow`) at training times τ > 0.
    """
    zero = np.zeros_like(A[0])
    L = loss.value(A)
    L0 = float(loss.value(zero))
    scale = max(abs(L0), 1.0)
    star = loss.minimizer()
    lhs = L - float(loss.value(star))
    dist2 = float(theta_distance(zero, star)) ** 2
    rhs = lemma4_bound(dist2, taus)
    sharp = lemma4_quadratic_bound(dist2, taus)
    ok = bool(np.all(lhs <= rhs + LEMMA_RTOL * scale))
    ok &= bool(np.all(lhs <= sharp + LEMMA_RTOL * scale))
    ratios = {"lemma4": _worst_ratio(lhs, rhs), "lemma4_sharp": _worst_ratio(lhs, sharp)}
    dist = theta_distance(A, zero[None])
    mid = lemma5_bound(taus, np.maximum(L0 - L, 0.0))
    outer = lemma5_bound(taus, max(L0, np.finfo(float).tiny))
    ok &= bool(np.all(dist <= mid * (1 + LEMMA_RTOL) + lemma5_bound(taus, LEMMA_RTOL * scale)))
    ok &= bool(np.all(mid <= outer * (1 + LEMMA_RTOL)))
    ratios["lemma5"] = float(np.max(dist / np.maximum(mid, np.finfo(float).tiny)))
    ratios["lemma5_outer"] = float(np.max(mid / outer))
    # ‖θ(τ) - θ0‖ per τ: Lemma 5 as printed (‖θ(τ)‖ ≲ ‖θ0‖ + √(τ/m)) is read off it by the claims layer.
    return {"holds": ok, "worst_ratio": ratios, "theta_norm": dist.tolist()}
