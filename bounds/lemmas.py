"""The lemma bounds of docs/theory.md §7 as plain numeric functions (numpy-broadcasting).

Lemmas 1, 4, 5 and the Rademacher step have explicit constants and are asserted exactly on measured
quantities; Lemma 4 also in its sharp form for quadratic losses (:func:`lemma4_quadratic_bound`). Lemmas 6 and 8 are "≲" rates: they carry a hidden constant (``constant``, default 1).
Every function raises ``ValueError``, naming the parameter, for a non-finite input or one outside
its valid range.

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: Lemmas 1, 4, 5, 6 and 8 and the Rademacher step of the proof of Theorem 1.
docs/theory.md §7 (statements) and §8.1 (how the exact ones are checked).
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
    x0_abs : float or array_like
        |x0| (coordinatewise), ≥ 0.
    delta : float or array_like
        Confidence, in (0, 1).
    C_T : float or array_like, default 1.0
        max_{t≤T} max(r, r v), ≥ 0 (1 for OU).

    Returns
    -------
    float or ndarray
        The radius C_T (|x0| + √log(1/δ²)); a float for scalar input.

    Raises
    ------
    ValueError
        For x0_abs < 0, δ outside (0, 1), C_T < 0, or a non-finite input.

    References
    ----------
    Lemma 1 of the paper (module References); docs/theory.md §7.

    Examples
    --------
    From the origin under OU, the radius at δ = 0.05 is √log(400):

    >>> from bounds import lemma1_radius
    >>> round(lemma1_radius(0.0, 0.05), 6)
    2.447747
    >>> round(lemma1_radius(1.0, 0.05, C_T=2.0), 6)
    6.895494
    >>> lemma1_radius(1.0, 1.0)
    Traceback (most recent call last):
        ...
    ValueError: delta = 1 is outside the valid range delta in (0, 1) (domain of Lemma 1)
    """
    a = _checked(
        {"x0_abs": x0_abs, "delta": delta, "C_T": C_T},
        [nonnegative("x0_abs"), open_unit("delta"), nonnegative("C_T")],
        "Lemma 1",
    )
    return _out(a["C_T"] * (a["x0_abs"] + np.sqrt(-2.0 * np.log(a["delta"]))))


def lemma1_tail_probability(c: ArrayLike) -> ArrayLike:
    """Lemma 1's Gaussian tail bound √(2/π) e^{-c²/2} on P(|ε| > c), ε ~ N(0, 1).

    With c = √log(1/δ²) it equals √(2/π) δ < δ. It is a valid bound only for c ≥ c* ≈ 0.3026
    (at c = 0 it is √(2/π) < 1 = P(|ε| > 0)); the Mills-ratio argument behind it needs c ≥ 1,
    hence Lemma 1 holds as stated for δ ≤ e^{-c*²/2} ≈ 0.955 (tests/test_bounds_lemmas.py).

    Parameters
    ----------
    c : float or array_like
        Threshold, ≥ 0.

    Returns
    -------
    float or ndarray
        √(2/π) e^{-c²/2}; a float for scalar input.

    Raises
    ------
    ValueError
        For c < 0 or a non-finite c.

    References
    ----------
    The Gaussian tail step of Lemma 1 of the paper (module References); docs/theory.md §7.

    Examples
    --------
    At c = √log(1/δ²) the tail bound is √(2/π) δ ≈ 0.798 δ, below δ:

    >>> import math
    >>> from bounds import lemma1_tail_probability
    >>> p = lemma1_tail_probability(math.sqrt(math.log(1 / 0.05**2)))
    >>> round(p / 0.05, 6), bool(p < 0.05)
    (0.797885, True)
    """
    a = _checked({"c": c}, [nonnegative("c")], "Lemma 1")
    return _out(np.sqrt(2.0 / np.pi) * np.exp(-a["c"] ** 2 / 2.0))


def lemma4_bound(dist0_sq: ArrayLike, tau: ArrayLike) -> ArrayLike:
    """Lemma 4: L(θ(τ)) - L(θ̃) ≤ ‖θ0 - θ̃‖² / (2τ) for gradient flow on a convex L, any comparator θ̃.

    The proof uses the Lyapunov function τ (L(θ(τ)) - L(θ̃)) + ½ ‖θ(τ) - θ̃‖², non-increasing in τ.

    Parameters
    ----------
    dist0_sq : float or array_like
        ‖θ0 - θ̃‖², ≥ 0.
    tau : float or array_like
        Training time, > 0.

    Returns
    -------
    float or ndarray
        ‖θ0 - θ̃‖² / (2τ); a float for scalar input.

    Raises
    ------
    ValueError
        For dist0_sq < 0, τ ≤ 0, or a non-finite input.

    References
    ----------
    Lemma 4 of the paper (the optimisation error I2 ≲ 1/τ of (15); module References);
    docs/theory.md §7 and §3.

    Examples
    --------
    Gradient flow on L(θ) = θ²/2 from θ0 = 1 gives θ(τ) = e^{-τ}; with θ̃ = 0 the excess loss
    e^{-2τ}/2 stays below the bound 1/(2τ):

    >>> import math
    >>> from bounds import lemma4_bound
    >>> lemma4_bound(dist0_sq=1.0, tau=10.0)
    0.05
    >>> all(0.5 * math.exp(-2 * t) <= lemma4_bound(1.0, t) for t in (0.1, 1.0, 10.0))
    True
    """
    a = _checked({"dist0_sq": dist0_sq, "tau": tau}, [nonnegative("dist0_sq"), positive("tau")], "Lemma 4")
    return _out(a["dist0_sq"] / (2.0 * a["tau"]))


def lemma4_quadratic_bound(dist0_sq: ArrayLike, tau: ArrayLike) -> ArrayLike:
    """Lemma 4, sharp for quadratic losses: L(θ(τ)) - L(θ*) ≤ ‖θ0 - θ*‖² / (4eτ).

    For L(θ) = θᵀ(B1 ⊗ I)θ - 2⟨B2, θ⟩ + c with B1 symmetric positive semi-definite (the losses of
    Lemma 3) under the gradient flow dθ/dτ = -∇L = -2(B1 ⊗ I)θ + 2 B2 from θ0, and θ* a minimiser,
    the error e = θ - θ* obeys de/dτ = -2(B1 ⊗ I)e, so e(τ) = e^{-2(B1 ⊗ I)τ} e0 and, in the
    eigenbasis of B1 (eigenvalues β_i ≥ 0, components e0_i of e0),

        L(θ(τ)) - L(θ*) = e(τ)ᵀ(B1 ⊗ I)e(τ) = Σ_i β_i e^{-4β_i τ} e0_i²
                        ≤ max_{β ≥ 0} β e^{-4βτ} · ‖e0‖² = ‖θ0 - θ*‖² / (4eτ),

    the maximum at β = 1/(4τ). The constant is sharp: one eigenvalue β = 1/(4τ) attains it. It is
    :func:`lemma4_bound` (any convex L, any comparator) times 1/(2e) ≈ 0.1839, for the comparator θ*
    only (a minimiser: the excess loss over any other comparator is not of this form).

    Parameters
    ----------
    dist0_sq : float or array_like
        ‖θ0 - θ*‖², ≥ 0, in the norm in which L has the form above.
    tau : float or array_like
        Training time, > 0.

    Returns
    -------
    float or ndarray
        ‖θ0 - θ*‖² / (4eτ); a float for scalar input.

    Raises
    ------
    ValueError
        For dist0_sq < 0, τ ≤ 0, or a non-finite input.

    References
    ----------
    Lemma 4 of the paper (module References) states the general ‖θ0 - θ̃‖²/(2τ); the quadratic
    sharpening is derived above. docs/theory.md §8.1.

    Examples
    --------
    L(θ) = βθ² (B1 = β, B2 = 0) from θ0 = 1: θ(τ) = e^{-2βτ}, excess loss β e^{-4βτ}; at τ = 1/(4β)
    it equals the bound 1/(4eτ) = β/e:

    >>> import math
    >>> from bounds.lemmas import lemma4_bound, lemma4_quadratic_bound
    >>> beta = 2.0
    >>> tau = 1 / (4 * beta)
    >>> math.isclose(beta * math.exp(-4 * beta * tau), lemma4_quadratic_bound(1.0, tau), rel_tol=1e-15)
    True
    >>> round(lemma4_quadratic_bound(1.0, 10.0) / lemma4_bound(1.0, 10.0), 6)  # 1/(2e)
    0.18394
    """
    a = _checked({"dist0_sq": dist0_sq, "tau": tau}, [nonnegative("dist0_sq"), positive("tau")], "Lemma 4 (quadratic)")
    return _out(a["dist0_sq"] / (4.0 * np.e * a["tau"]))


def lemma5_bound(tau: ArrayLike, loss_drop: ArrayLike) -> ArrayLike:
    """Lemma 5: ‖θ(τ) - θ0‖ ≤ √(τ (L(θ0) - L(θ(τ)))) (Cauchy-Schwarz along the flow).

    Parameters
    ----------
    tau : float or array_like
        Training time, ≥ 0.
    loss_drop : float or array_like
        L(θ0) - L(θ(τ)) ≥ 0 (gradient flow never increases L); passing L(θ0) gives the weaker
        √(τ L(θ0)) for a nonnegative loss.

    Returns
    -------
    float or ndarray
        √(τ · loss_drop); a float for scalar input.

    Raises
    ------
    ValueError
        For τ < 0, loss_drop < 0, or a non-finite input.

    References
    ----------
    Lemma 5 of the paper (module References); docs/theory.md §7.

    Examples
    --------
    On L(θ) = θ²/2 from θ0 = 1, θ(τ) = e^{-τ} travels 1 - e^{-τ}, and the loss drops by
    (1 - e^{-2τ})/2:

    >>> import math
    >>> from bounds import lemma5_bound
    >>> lemma5_bound(tau=10.0, loss_drop=0.4)
    2.0
    >>> all(1 - math.exp(-t) <= lemma5_bound(t, (1 - math.exp(-2 * t)) / 2) for t in (0.1, 1.0, 10.0))
    True
    """
    a = _checked({"tau": tau, "loss_drop": loss_drop}, [nonnegative("tau"), nonnegative("loss_drop")], "Lemma 5")
    return _out(np.sqrt(a["tau"] * a["loss_drop"]))


def lemma6_mc_error(d: ArrayLike, delta: ArrayLike, m: ArrayLike, constant: float = 1.0) -> ArrayLike:
    """Lemma 6 (random-feature Monte-Carlo error), a "≲" rate: ``constant`` · d log²(1/δ²) / m.

    Parameters
    ----------
    d : float or array_like
        Data dimension, ≥ 1.
    delta : float or array_like
        Confidence, in (0, 1).
    m : float or array_like
        Number of random features, ≥ 1.
    constant : float, default 1.0
        The hidden constant of ≲, ≥ 0.

    Returns
    -------
    float or ndarray
        ``constant`` · d log²(1/δ²) / m; a float for scalar input.

    Raises
    ------
    ValueError
        For d < 1, δ outside (0, 1), m < 1, constant < 0, or a non-finite input.

    References
    ----------
    Lemma 6 of the paper (the I3 term of (15) and the term d Lq²/m of the unsimplified bound at the
    end of Appendix A; module References); docs/theory.md §7 and §5.

    Examples
    --------
    >>> from bounds.lemmas import lemma6_mc_error
    >>> round(lemma6_mc_error(d=1, delta=0.05, m=1000), 6)
    0.035898
    >>> round(lemma6_mc_error(1, 0.05, 1000) / lemma6_mc_error(1, 0.05, 2000), 6)  # ∝ 1/m
    2.0
    """
    a = _checked(
        {"d": d, "delta": delta, "m": m, "constant": constant},
        [Range("d", low=1.0), open_unit("delta"), Range("m", low=1.0), nonnegative("constant")],
        "Lemma 6",
    )
    return _out(a["constant"] * a["d"] * (-2.0 * np.log(a["delta"])) ** 2 / a["m"])


def lemma8_mc_error(mu: ArrayLike, delta: ArrayLike, m: ArrayLike, constant: float = 1.0) -> ArrayLike:
    """Lemma 8 (Monte-Carlo error for the two-mode mixture), a "≲" rate: ``constant`` · µ² log(1/δ) / m.

    Parameters
    ----------
    mu : float or array_like
        Mode position of Theorem 2, > 0.
    delta : float or array_like
        Confidence, in (0, 1).
    m : float or array_like
        Number of random features, ≥ 1.
    constant : float, default 1.0
        The hidden constant of ≲, ≥ 0.

    Returns
    -------
    float or ndarray
        ``constant`` · µ² log(1/δ) / m; a float for scalar input.

    Raises
    ------
    ValueError
        For µ ≤ 0, δ outside (0, 1), m < 1, constant < 0, or a non-finite input.

    References
    ----------
    Lemma 8 of the paper (the random-feature term of Theorem 2's unsimplified bound; module
    References); docs/theory.md §7 and §6.

    Examples
    --------
    >>> from bounds.lemmas import lemma8_mc_error
    >>> round(lemma8_mc_error(mu=3, delta=0.05, m=1000), 6)
    0.026962
    >>> round(lemma8_mc_error(6, 0.05, 1000) / lemma8_mc_error(3, 0.05, 1000), 6)  # ∝ µ²
    4.0
    """
    a = _checked(
        {"mu": mu, "delta": delta, "m": m, "constant": constant},
        [positive("mu"), open_unit("delta"), Range("m", low=1.0), nonnegative("constant")],
        "Lemma 8",
    )
    return _out(a["constant"] * a["mu"] ** 2 * (-np.log(a["delta"])) / a["m"])


def rademacher_bound(x_inf: ArrayLike, e_inf: ArrayLike, d: ArrayLike, n: ArrayLike) -> ArrayLike:
    """Rademacher step: Rad_n{σ(wᵀx + uᵀe) : ‖w‖₁ + ‖u‖₁ ≤ 1} ≤ (‖x‖∞ + ‖e‖∞) √(2 log(4d) / n).

    Massart's lemma on the 2(d + d_e) signed coordinates (d_e ≤ d) and the contraction by the
    1-Lipschitz ReLU.

    Parameters
    ----------
    x_inf : float or array_like
        sup over the sample of ‖x(t)‖∞, ≥ 0.
    e_inf : float or array_like
        sup of ‖e(t)‖∞, ≥ 0 (1 for the default e(t) = (1, t/T)).
    d : float or array_like
        Data dimension, ≥ 1.
    n : float or array_like
        Number of training points, ≥ 1.

    Returns
    -------
    float or ndarray
        (‖x‖∞ + ‖e‖∞) √(2 log(4d) / n); a float for scalar input.

    Raises
    ------
    ValueError
        For x_inf < 0, e_inf < 0, d < 1, n < 1, or a non-finite input.

    References
    ----------
    The Rademacher step of the paper's proof of Theorem 1 (module References); docs/theory.md §7.

    Examples
    --------
    With ‖x‖∞ = ‖e‖∞ = 1 in 1-D the bound is 2 √(2 log 4 / n), halved by 4× more data:

    >>> from bounds import rademacher_bound
    >>> round(rademacher_bound(1.0, 1.0, d=1, n=100), 6)
    0.333022
    >>> round(rademacher_bound(1.0, 1.0, 1, 100) / rademacher_bound(1.0, 1.0, 1, 400), 6)
    2.0
    """
    a = _checked(
        {"x_inf": x_inf, "e_inf": e_inf, "d": d, "n": n},
        [nonnegative("x_inf"), nonnegative("e_inf"), Range("d", low=1.0), Range("n", low=1.0)],
        "the Rademacher bound",
    )
    return _out((a["x_inf"] + a["e_inf"]) * np.sqrt(2.0 * np.log(4.0 * a["d"]) / a["n"]))
