"""Early stopping: the training time τ_es ≥ 1 minimising a bound, and the bound there (corollary (16)).

Every bound here is, for fixed other inputs, a posynomial in τ (a sum of positive multiples of powers
of τ), hence convex in s = log τ: d(bound)/dτ changes sign once, from - to +. Bisection on that sign
in s is therefore exact up to its tolerance (unlike a search on function values, which stalls at
√eps relative on a flat minimum) and vectorises over numpy arrays. τ is clamped to τ ≥ 1, the
hypothesis of both theorems: where the bound already increases at τ = 1, τ_es = 1 and ``clamped``
is True.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.bound import Bound

S_MAX = 100.0  # log τ beyond which a bound still decreasing is reported as having no minimiser
S_TOL = 1e-13  # absolute tolerance on log τ, i.e. relative tolerance on τ_es


@dataclass(frozen=True)
class EarlyStop:
    """Result of :func:`early_stopping_time` (floats for scalar input, arrays otherwise)."""

    tau_es: float | np.ndarray
    bound_at_tau_es: float | np.ndarray
    clamped: bool | np.ndarray
    method: str


def stationary_tau(bound: Bound, terms: Iterable[str] | None = None, **values: float) -> sp.Expr | None:
    """The unique positive root of d/dτ of (some of) the bound's terms, solved by sympy.

    ``solveset`` on (0, ∞) (``solve`` hangs on rational exponents). Terms not listed are dropped
    (dominant balance, e.g. ``terms=("gen_mn", "opt")`` gives τ_es = (c_opt m n / (4 c_gen1))^{1/5});
    ``values`` are substituted first (as exact rationals). Returns None where the derivative is not
    rational in τ (the full forms) or sympy gives no unique explicit root.
    """
    chosen = bound.terms if terms is None else {k: bound.terms[k] for k in terms}
    subs = {S.BY_NAME[k]: sp.nsimplify(v, rational=True) for k, v in values.items()}
    slope = sp.diff(sp.Add(*chosen.values()).subs(subs), S.tau)
    if not slope.is_rational_function(S.tau):
        return None
    roots = sp.solveset(slope, S.tau, sp.Interval.open(0, sp.oo))
    if isinstance(roots, sp.FiniteSet) and len(roots) == 1:
        return next(iter(roots))
    return None


def early_stopping_time(
    bound: Bound, method: str = "numeric", check_hypotheses: bool = True, **values: object
) -> EarlyStop:
    """τ_es = argmin_{τ ≥ 1} bound(τ) and the bound at τ_es (corollary (16); docs/theory.md §5-6).

    Parameters
    ----------
    bound : Bound
    method : {"numeric", "symbolic"}
        ``"numeric"``: vectorised bisection on the sign of d(bound)/dτ in log τ (any array shapes).
        ``"symbolic"``: scalar inputs only; the positive root of d(bound)/dτ from sympy
        (:func:`stationary_tau`, e.g. a ``CRootOf`` of a quintic), raising ``ValueError`` where
        sympy gives none (the full forms).
    check_hypotheses : bool
        As in :meth:`~bounds.bound.Bound.evaluate`.
    **values
        Every input of the bound except ``tau`` (scalars or broadcastable arrays).
    """
    if "tau" in values:
        raise ValueError("tau must not be given: it is the variable early_stopping_time optimises over")
    if method not in ("numeric", "symbolic"):
        raise ValueError(f"method must be 'numeric' or 'symbolic', got {method!r}")
    arrays = bound.resolve(check_hypotheses, tau=1.0, **values)
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))

    def at(s: np.ndarray) -> dict[str, np.ndarray]:
        return {**arrays, "tau": np.exp(s)}

    if method == "symbolic":
        s_star = _symbolic_log_tau(bound, arrays, shape)
    else:
        s_star = _bisect(lambda s: np.asarray(bound.dtau_resolved(at(s))), shape)
    clamped = s_star <= 0.0
    value = bound.evaluate_resolved(at(s_star))
    if not shape:
        return EarlyStop(float(np.exp(s_star)), float(value), bool(clamped), method)
    return EarlyStop(np.exp(s_star), value, clamped, method)


def _bisect(slope: Callable[[np.ndarray], np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """Elementwise root in [0, S_MAX] of an increasing ``slope`` of log τ; 0 where slope(0) ≥ 0."""
    lo, hi = np.zeros(shape), np.ones(shape)
    while not np.all(rising := slope(hi) > 0):
        if np.max(hi) >= S_MAX:
            raise ValueError(
                f"the bound still decreases at tau = e^{S_MAX:g}: no early-stopping time "
                "(are the constants of the tau-increasing terms, c_gen1/c_gen2/c_gen, zero?)"
            )
        lo, hi = np.where(rising, lo, hi), np.where(rising, hi, 2.0 * hi)
    hi = np.where(slope(np.zeros(shape)) >= 0, 0.0, hi)
    while np.max(hi - lo) > S_TOL:
        mid = (lo + hi) / 2.0
        up = slope(mid) > 0
        lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
    return np.where(hi == 0.0, 0.0, (lo + hi) / 2.0)


def _symbolic_log_tau(bound: Bound, arrays: dict[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    if shape:
        raise ValueError(f"method='symbolic' needs scalar inputs, got arrays of shape {shape}")
    fixed = {k: float(v) for k, v in arrays.items() if k != "tau"}
    root = stationary_tau(bound, **fixed)
    if root is None:
        raise ValueError(f"sympy finds no unique positive stationary point of {bound.name}; use method='numeric'")
    return np.asarray(np.log(max(float(sp.N(root, 30)), 1.0)))
