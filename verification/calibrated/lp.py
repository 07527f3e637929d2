"""The calibration linear program (docs/theory.md §8.3), solved so that the answer does not depend on
the units of the terms or of the points.

Numerics. The terms of one design can span ~40 decades (τ⁴/(mn) ≈ 1e38 at τ = 1e10 next to
1/m ≈ 1e-3) and so can the measured values. HiGHS drops matrix entries below 1e-9, rejects entries
above 1e15 and applies absolute tolerances, so no fixed scaling of the primal LP is safe: scaling
each column by its maximum (the former method) zeroed whole rows and reported feasible designs
"infeasible" (measured values ≳ 9 decades below the bound), and with less spread (≲ 6 decades)
returned constants up to 11% off a known optimum. The LP is instead solved through its dual,
max Σ_i λ_i s.t. Σ_i λ_i T_ij/need_i ≤ w_j, λ ≥ 0 (need_i = y_i - offset_i over the points not yet
dominated), written in a form that does not depend on the units of the terms or of the points:
with a_ij = T_ij / (need_i w_j)
and q_i = max_j a_ij, the variables μ_i = λ_i q_i lie in [0, 1] and every matrix entry a_ij / q_i in
[0, 1]. The constants are the dual's multipliers. The basis HiGHS ends on is then solved exactly
(J x J linear systems), the constants are scaled up until the bound dominates every point exactly
in floating point, and the result is certified by LP duality: ``ConstantsFit.gap`` is the relative gap
between the objective of the returned constants and the objective of a dual-feasible λ, so the
returned constants are within a factor 1 + gap of the optimal objective.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

GAP_NOTE = 1e-9  # a certified gap above this is reported in ConstantsFit.notes
_DROP = 2e-9  # HiGHS drops matrix entries below 1e-9; we drop them first, knowingly


def dominate_exactly(t: np.ndarray, off: np.ndarray, y: np.ndarray, c: np.ndarray) -> np.ndarray:
    """c scaled up (by the solver's feasibility error, then by ulps) until t @ c + off >= y holds
    exactly in floating point at every row (each row has off < y)."""
    need = y - off
    with np.errstate(divide="ignore", invalid="ignore"):
        worst = float(np.min(t @ c / need))
    if not (np.isfinite(worst) and worst > 0):
        raise RuntimeError(f"calibration LP returned constants {c} that dominate no point")
    if worst < 1.0:
        c = c / worst
    for _ in range(64):
        if np.all(t @ c + off >= y):
            return c
        c = c * (1.0 + 4.0 * np.finfo(float).eps)
    raise RuntimeError("calibration: could not make the fitted bound dominate every point exactly")


def _certified_gap(a: np.ndarray, w: np.ndarray, c: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, float]:
    """Feasible c (a @ c >= 1 exactly) and the relative gap of w @ c over the dual objective Σ λ,
    λ first scaled down to be exactly dual feasible (a.T @ λ <= w): by weak duality
    Σ λ ≤ optimum ≤ w @ c."""
    c = dominate_exactly(a, np.zeros(a.shape[0]), np.ones(a.shape[0]), c)
    lam = np.maximum(lam, 0.0)
    v = a.T @ lam
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = float(np.min(np.where(v > 0, w / v, np.inf)))
    if shrink < 1.0:
        lam = lam * shrink * (1.0 - 4.0 * a.shape[0] * np.finfo(float).eps)  # cover rounding of a.T @ lam
    lower, upper = float(lam.sum()), float(w @ c)
    return c, (upper / lower - 1.0 if lower > 0 else np.inf)


def _polish(a: np.ndarray, w: np.ndarray, c: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The vertex of the basis the solver ended on, solved exactly: the points with λ_i > 0 are tight
    and the constants c_j > 0 free (square system when the basis is nondegenerate); None otherwise."""
    rows, cols = np.flatnonzero(lam > 0), np.flatnonzero(c > 0)
    if rows.size == 0 or rows.size != cols.size:
        return None
    sub = a[np.ix_(rows, cols)] * c[cols]  # unknowns scaled by the solver's answer: all ~1
    try:
        x = np.linalg.solve(sub, np.ones(rows.size))  # a_BS c_S = 1
        mu = np.linalg.solve(sub.T * lam[rows], w[cols] * c[cols])  # a_BS' λ_B = w_S
    except np.linalg.LinAlgError:
        return None
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(mu)) and np.all(x >= 0) and np.all(mu >= 0)):
        return None
    cp, lp = np.zeros_like(c), np.zeros_like(lam)
    cp[cols], lp[rows] = x * c[cols], mu * lam[rows]
    return cp, lp


def _solve_dual(a: np.ndarray, w: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(c, λ) from HiGHS on the dual in its unit-free form (module docstring), or None on failure."""
    aw = a / w
    q = aw.max(axis=1)
    n = aw / q[:, None]
    n[n < _DROP] = 0.0  # relaxes the dual constraints by < J·_DROP relatively; the certificate absorbs it
    cost = 1.0 / q
    k = float(cost.max())
    res = linprog(-cost / k, A_ub=n.T, b_ub=np.ones(a.shape[1]), bounds=(0, None), method=method)
    if res.status != 0 or res.x is None:
        return None
    c = np.maximum(-np.asarray(res.ineqlin.marginals), 0.0) * k / w  # multiplier of row j is w_j c_j
    return c, np.maximum(res.x, 0.0) / q


def solve_lp(a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """min w @ c s.t. a @ c >= 1, c >= 0, for a >= 0 with a positive entry in every row and w > 0 on
    the columns with a positive entry. Returns c (exactly feasible) and its certified relative gap.
    The LP is always feasible (large enough constants dominate every point), so a failure is numerical."""
    keep = np.any(a > 0, axis=0)
    c = np.zeros(a.shape[1])
    a, w = a[:, keep], w[keep]
    best: tuple[np.ndarray, float] | None = None
    errors = []
    for method in ("highs-ds", "highs-ipm"):
        sol = _solve_dual(a, w, method)
        if sol is None:
            errors.append(method)
            continue
        cands = [sol] + ([p] if (p := _polish(a, w, *sol)) is not None else [])
        for cand in cands:
            try:
                x, gap = _certified_gap(a, w, *cand)
            except RuntimeError:
                continue
            if best is None or gap < best[1]:
                best = (x, gap)
        if best is not None and best[1] <= GAP_NOTE:
            break
    if best is None:
        raise RuntimeError(f"calibration LP failed with HiGHS methods {errors} on a feasible design")
    c[keep] = best[0]
    return c, best[1]
