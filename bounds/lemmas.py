"""The lemma bounds of docs/theory.md §7 as plain numeric functions (numpy-broadcasting).

Lemmas 1, 4, 5 and the Rademacher step have explicit constants and are asserted exactly on measured
quantities. Lemmas 6 and 8 are "≲" rates: they carry a hidden constant (``constant``, default 1).
"""

from __future__ import annotations

import numpy as np

from bounds.validation import Range, as_float_arrays, check, nonnegative, open_unit, positive

ArrayLike = float | np.ndarray


def _checked(values: dict[str, object], conditions: list[Range], context: str) -> dict[str, np.ndarray]:
    arrays = as_float_arrays(values)
    check(arrays, conditions, context=context)
    return arrays


def _out(x: np.ndarray) -> ArrayLike:
    return float(x) if np.ndim(x) == 0 else x


def lemma1_radius(x0_abs: ArrayLike, delta: ArrayLike, C_T: ArrayLike = 1.0) -> ArrayLike:
    """Lemma 1: with probability ≥ 1 - δ, coordinatewise |x(t)| ≤ C_T (|x0| + √log(1/δ²)).

    Parameters
    ----------
    x0_abs : |x0| (coordinatewise), ≥ 0.
    delta : confidence, in (0, 1).
    C_T : max_{t≤T} max(r, r v) (1 for OU).
    """
    a = _checked(
        {"x0_abs": x0_abs, "delta": delta, "C_T": C_T},
        [nonnegative("x0_abs"), open_unit("delta"), nonnegative("C_T")],
        "Lemma 1",
    )
    return _out(a["C_T"] * (a["x0_abs"] + np.sqrt(np.log(1.0 / a["delta"] ** 2))))


def lemma1_tail_probability(c: ArrayLike) -> ArrayLike:
    """Lemma 1's Gaussian tail bound √(2/π) e^{-c²/2} on P(|ε| > c), ε ~ N(0, 1).

    With c = √log(1/δ²) it equals √(2/π) δ < δ. It is a valid bound only for c ≥ c* ≈ 0.3026
    (at c = 0 it is √(2/π) < 1 = P(|ε| > 0)); the Mills-ratio argument behind it needs c ≥ 1,
    hence Lemma 1 holds as stated for δ ≤ e^{-c*²/2} ≈ 0.955 (tests/test_bounds_lemmas.py).
    """
    a = _checked({"c": c}, [nonnegative("c")], "Lemma 1")
    return _out(np.sqrt(2.0 / np.pi) * np.exp(-a["c"] ** 2 / 2.0))


def lemma4_bound(dist0_sq: ArrayLike, tau: ArrayLike) -> ArrayLike:
    """Lemma 4: L(θ(τ)) - L(θ̃) ≤ ‖θ0 - θ̃‖² / (2τ) for gradient flow on a convex L, any comparator θ̃.

    Parameters
    ----------
    dist0_sq : ‖θ0 - θ̃‖², ≥ 0.
    tau : training time, > 0.
    """
    a = _checked({"dist0_sq": dist0_sq, "tau": tau}, [nonnegative("dist0_sq"), positive("tau")], "Lemma 4")
    return _out(a["dist0_sq"] / (2.0 * a["tau"]))


def lemma5_bound(tau: ArrayLike, loss_drop: ArrayLike) -> ArrayLike:
    """Lemma 5: ‖θ(τ) - θ0‖ ≤ √(τ (L(θ0) - L(θ(τ)))) (Cauchy-Schwarz along the flow).

    ``loss_drop`` = L(θ0) - L(θ(τ)) ≥ 0 (gradient flow never increases L); passing L(θ0) gives the
    weaker √(τ L(θ0)) for a nonnegative loss.
    """
    a = _checked({"tau": tau, "loss_drop": loss_drop}, [nonnegative("tau"), nonnegative("loss_drop")], "Lemma 5")
    return _out(np.sqrt(a["tau"] * a["loss_drop"]))


def lemma6_mc_error(d: ArrayLike, delta: ArrayLike, m: ArrayLike, constant: float = 1.0) -> ArrayLike:
    """Lemma 6 (random-feature Monte-Carlo error), a "≲" rate: ``constant`` · d log²(1/δ²) / m."""
    a = _checked(
        {"d": d, "delta": delta, "m": m, "constant": constant},
        [Range("d", low=1.0), open_unit("delta"), Range("m", low=1.0), nonnegative("constant")],
        "Lemma 6",
    )
    return _out(a["constant"] * a["d"] * np.log(1.0 / a["delta"] ** 2) ** 2 / a["m"])


def lemma8_mc_error(mu: ArrayLike, delta: ArrayLike, m: ArrayLike, constant: float = 1.0) -> ArrayLike:
    """Lemma 8 (Monte-Carlo error for the two-mode mixture), a "≲" rate: ``constant`` · µ² log(1/δ) / m."""
    a = _checked(
        {"mu": mu, "delta": delta, "m": m, "constant": constant},
        [positive("mu"), open_unit("delta"), Range("m", low=1.0), nonnegative("constant")],
        "Lemma 8",
    )
    return _out(a["constant"] * a["mu"] ** 2 * np.log(1.0 / a["delta"]) / a["m"])


def rademacher_bound(x_inf: ArrayLike, e_inf: ArrayLike, d: ArrayLike, n: ArrayLike) -> ArrayLike:
    """Rademacher step: Rad_n{σ(wᵀx + uᵀe) : ‖w‖₁ + ‖u‖₁ ≤ 1} ≤ (‖x‖∞ + ‖e‖∞) √(2 log(4d) / n).

    Massart's lemma on the 2(d + d_e) signed coordinates (d_e ≤ d) and the contraction by the
    1-Lipschitz ReLU. ``x_inf``, ``e_inf``: sup norms over the sample; ``d`` ≥ 1; ``n`` ≥ 1.
    """
    a = _checked(
        {"x_inf": x_inf, "e_inf": e_inf, "d": d, "n": n},
        [nonnegative("x_inf"), nonnegative("e_inf"), Range("d", low=1.0), Range("n", low=1.0)],
        "the Rademacher bound",
    )
    return _out((a["x_inf"] + a["e_inf"]) * np.sqrt(2.0 * np.log(4.0 * a["d"]) / a["n"]))
