"""Theorem 2 (two-mode Gaussian mixture, data-dependent): simplified and unsimplified forms (docs/theory.md §6).

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: Theorem 2, and the unsimplified bound at the end of Appendix A with C_{T,δ} replaced
by C_{T,µ,δ} and the random-feature term of Lemma 8. Project restatement: docs/theory.md §6.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.bound import Bound
from bounds.forms import check_form, conditions, full_terms, make_bound, simplified_terms
from bounds.validation import LIMITS, Range, at_most, positive

NAME = "Theorem 2"
DEFAULT_POLY_DEGREE = 6
"""Degree k of Poly(µ) = µ^k: a reconstruction (docs/theory.md §6), the proof puts C_{T,µ,δ} ≲ µ in a sixth power."""


def mu_separation(values: Mapping[str, np.ndarray]) -> np.ndarray:
    """√log(1/δ²): Theorem 2 needs µ above it.

    Parameters
    ----------
    values : mapping of str to ndarray
        Resolved inputs of the bound; only ``values["delta"]`` (in (0, 1)) is read.

    Returns
    -------
    ndarray
        The lower end of the hypothesis µ > √log(1/δ²), elementwise in δ.

    References
    ----------
    Theorem 2's hypothesis on µ (module References); docs/theory.md §6.

    Examples
    --------
    >>> import numpy as np
    >>> from bounds.theorem2 import mu_separation
    >>> round(float(mu_separation({"delta": np.array(0.05)})), 6)  # √log(400)
    2.447747
    """
    return np.sqrt(-2.0 * np.log(values["delta"]))  # log(1/δ²) without overflowing 1/δ²


def mu_limit(values: Mapping[str, np.ndarray], k: float | None = None) -> np.ndarray:
    """Largest µ the calculator accepts: min(1e6, 1e100^{1/k}), so that Poly(µ) = µ^k ≤ 1e100.

    Parameters
    ----------
    values : mapping of str to ndarray
        Resolved inputs; ``values["k"]`` is read when ``k`` is None (a symbolic degree).
    k : float, optional
        The degree of Poly(µ), when numeric.

    Returns
    -------
    ndarray
        The upper end of µ (:data:`bounds.validation.LIMITS`).

    Examples
    --------
    >>> from bounds.theorem2 import mu_limit
    >>> float(mu_limit({}, 6)), round(float(mu_limit({}, 50)), 6)
    (1000000.0, 100.0)
    """
    degree = values["k"] if k is None else np.asarray(k, dtype=float)
    return np.minimum(LIMITS["mu"], LIMITS["poly"] ** (1.0 / degree))


def _degree(k: int | float | sp.Expr) -> sp.Expr:
    if isinstance(k, sp.Symbol):
        return k
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, float, np.integer, np.floating, sp.Rational)) \
            or not (math.isfinite(k) and 0 < k <= LIMITS["k"]):
        raise ValueError(f"k (degree of Poly(mu)) must be a finite number in (0, {LIMITS['k']:g}] "
                         f"or a sympy Symbol, got {k!r}")
    return sp.nsimplify(k)


def theorem2(
    k: int | float | sp.Expr = DEFAULT_POLY_DEGREE,
    form: str = "simplified",
    constants: Mapping[str, float] | None = None,
) -> Bound:
    """Theorem 2 of Li, Li, Zhang, Bian (2023) for p0 = q1 N(-µ, 1) + q2 N(µ, 1) in 1-D.

    ``form="simplified"``:
        KL ≲ Poly(µ) [c_gen1 τ⁴/(mn) + c_gen2 τ³/m²] + c_opt/τ + c_rf µ²/m
             + c_app_bar L̃(θ̄*) + c_app_star L̃(θ*) + c_prior KL(p_T‖π),
    with Poly(µ) = µ^k. The paper never states the degree; k = 6 is the reconstruction of docs/theory.md §6
    (keep it a parameter; a sympy Symbol keeps it symbolic and makes ``k`` a required input).
    ``form="full"``: Theorem 1's unsimplified bound with d = 1, C_{T,δ} replaced by
    C_{T,µ,δ} = C_T (µ + √log(1/δ²)) (so Poly(µ) has degree 6 by construction) and the random-feature
    term µ² log(1/δ)/m of Lemma 8.

    Hypotheses (checked by :meth:`~bounds.bound.Bound.evaluate`): n, m, τ ≥ 1; δ ∈ (0, 1); T > 0;
    µ > √log(1/δ²) (≈ 2.4477 at the default δ = 0.05). Limits (always enforced, so that no term
    overflows a double): n, m, τ ≤ 1e30 and µ ≤ min(1e6, 10^{100/k}), i.e. Poly(µ) ≤ 1e100.

    Parameters
    ----------
    k : int, float, sympy Rational or sympy Symbol, default 6
        Degree of Poly(µ) = µ^k; a finite number in (0, 100]. A sympy Symbol keeps the degree symbolic and
        becomes a required input of the bound (checked > 0). ``form="full"`` accepts only k = 6.
    form : {"simplified", "full"}, default "simplified"
        The theorem's statement, or the proof's unsimplified bound (end of Appendix A).
    constants : mapping of str to float, optional
        Hidden-constant name (``c_*``, each ≥ 0) → value, overriding the default 1 (e.g. constants
        fitted by docs/theory.md §8.3); see :meth:`~bounds.bound.Bound.with_constants`.

    Returns
    -------
    Bound
        Named ``"Theorem 2 (simplified)"`` or ``"Theorem 2 (full)"``, with the terms of
        :func:`~bounds.theorem1.theorem1`'s form of the same name. Required inputs: ``n``, ``m``,
        ``tau``, ``mu`` (and ``k`` when symbolic).

    Raises
    ------
    ValueError
        If ``k`` is not a finite number in (0, 100] or a Symbol, if ``k != 6`` with ``form="full"``, if
        ``form`` is unknown, or if ``constants`` is invalid.

    References
    ----------
    P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
    arXiv:2311.01797: Theorem 2 (``form="simplified"``); the unsimplified bound at the end of
    Appendix A with C_{T,µ,δ} and Lemma 8 (``form="full"``). docs/theory.md §6 (Poly(µ) = µ⁶ is the
    project's reconstruction).

    Examples
    --------
    The bound grows with the mode position µ (through Poly(µ) = µ⁶ and µ²/m): at n = m = 1000,
    τ = 10 and µ = 3 it is 3⁶ (0.01 + 0.001) + 0.1 + 9/1000 = 8.128.

    >>> from bounds import theorem2
    >>> bound = theorem2()
    >>> [round(bound.evaluate(n=1000, m=1000, tau=10, mu=mu), 6) for mu in (3, 4, 5)]
    [8.128, 45.172, 172.0]

    µ must exceed √log(1/δ²); the error names the parameter and the computed lower end:

    >>> bound.evaluate(n=1000, m=1000, tau=10, mu=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: mu = 1 is outside the valid range mu in (sqrt(log(1/delta**2)) = 2.44775, 1e+06] ...

    The unsimplified form exists only for the proof's sixth power:

    >>> theorem2(k=4, form="full")
    Traceback (most recent call last):
        ...
    ValueError: k must be 6 for form='full' (the proof's sixth power), got 4
    """
    degree = _degree(k)
    if check_form(form) == "simplified":
        terms = simplified_terms(poly=S.mu**degree, rf=S.mu**2 / S.m)
    elif degree != DEFAULT_POLY_DEGREE:
        raise ValueError(f"k must be {DEFAULT_POLY_DEGREE} for form='full' (the proof's sixth power), got {k!r}")
    else:
        terms = full_terms(C_support=S.mu, dim=sp.Integer(1), rf=S.mu**2 * sp.log(1 / S.delta) / S.m)
    symbolic = isinstance(degree, sp.Symbol)
    high = mu_limit if symbolic else float(mu_limit({}, float(degree)))
    high_text = "min(1e6, 10**(100/k))" if symbolic or degree > 100 / 6 else ""
    separation = Range("mu", low=mu_separation, low_open=True, low_text="sqrt(log(1/delta**2))", high=high,
                       high_text=high_text, source="hypothesis")
    conds = (positive("mu"), *conditions(with_d=False), at_most("mu", high, high_text), separation)
    if symbolic:
        conds = (positive(degree.name), at_most(degree.name, LIMITS["k"]), *conds)
    required = (S.n, S.m, S.tau, S.mu, *((degree,) if isinstance(degree, sp.Symbol) else ()))
    return make_bound(f"{NAME} ({form})", terms, conds, required, constants)
