"""Theorem 2 (two-mode Gaussian mixture, data-dependent): simplified and unsimplified forms (docs/theory.md §6)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.bound import Bound
from bounds.forms import check_form, conditions, full_terms, make_bound, simplified_terms
from bounds.validation import Range, positive

NAME = "Theorem 2"
DEFAULT_POLY_DEGREE = 6
"""Degree k of Poly(µ) = µ^k: a reconstruction (docs/theory.md §6), the proof puts C_{T,µ,δ} ≲ µ in a sixth power."""


def mu_separation(values: Mapping[str, np.ndarray]) -> np.ndarray:
    """√log(1/δ²): Theorem 2 needs µ above it."""
    return np.sqrt(np.log(1.0 / values["delta"] ** 2))


def _degree(k: int | float | sp.Expr) -> sp.Expr:
    if isinstance(k, sp.Symbol):
        return k
    if isinstance(k, bool) or not isinstance(k, (int, float, sp.Rational)) or not (math.isfinite(k) and k > 0):
        raise ValueError(f"k (degree of Poly(mu)) must be a finite number > 0 or a sympy Symbol, got {k!r}")
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

    Hypotheses: n, m, τ ≥ 1; δ ∈ (0, 1); T > 0; µ > √log(1/δ²).
    """
    degree = _degree(k)
    if check_form(form) == "simplified":
        terms = simplified_terms(poly=S.mu**degree, rf=S.mu**2 / S.m)
    elif degree != DEFAULT_POLY_DEGREE:
        raise ValueError(f"k must be {DEFAULT_POLY_DEGREE} for form='full' (the proof's sixth power), got {k!r}")
    else:
        terms = full_terms(C_support=S.mu, dim=sp.Integer(1), rf=S.mu**2 * sp.log(1 / S.delta) / S.m)
    separation = Range(
        "mu", low=mu_separation, low_open=True, low_text="sqrt(log(1/delta**2))", source="hypothesis"
    )
    conds = (positive("mu"), *conditions(with_d=False), separation)
    if isinstance(degree, sp.Symbol):
        conds = (positive(degree.name), *conds)
    required = (S.n, S.m, S.tau, S.mu, *((degree,) if isinstance(degree, sp.Symbol) else ()))
    return make_bound(f"{NAME} ({form})", terms, conds, required, constants)
