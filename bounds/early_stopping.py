"""Early stopping: the training time τ_es ≥ 1 minimising a bound, and the bound there (corollary (16)).

Every bound here is, for fixed other inputs, a posynomial in τ (a sum of positive multiples of powers
of τ), hence convex in s = log τ: d(bound)/dτ changes sign once, from - to +. Bisection on that sign
in s is therefore exact up to its tolerance (unlike a search on function values, which stalls at
√eps relative on a flat minimum) and vectorises over numpy arrays. τ is clamped to τ ≥ 1, the
hypothesis of both theorems: where the bound already increases at τ = 1, τ_es = 1 and ``clamped``
is True.

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: corollary (16) (early stopping for Theorem 1) and the early-stopping consequence of
Theorem 2. docs/theory.md §5 and §6.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.bound import Bound
from bounds.validation import LIMITS, as_float_arrays

S_MAX = 100.0  # log τ beyond which a bound still decreasing is reported as having no minimiser
S_LIMIT = float(np.log(LIMITS["tau"]))  # log τ_es above which the result leaves the calculator's range
S_TOL = 1e-13  # absolute tolerance on log τ, i.e. relative tolerance on τ_es


@dataclass(frozen=True)
class EarlyStop:
    """Result of :func:`early_stopping_time` (floats for scalar input, arrays otherwise).

    Parameters
    ----------
    tau_es : float or ndarray
        The early-stopping time argmin_{τ ≥ 1} of the bound (≥ 1).
    bound_at_tau_es : float or ndarray
        The bound's value at ``tau_es``.
    clamped : bool or ndarray of bool
        True where the bound already increases at τ = 1, so that ``tau_es`` = 1 (the hypothesis τ ≥ 1).
    method : {"numeric", "symbolic"}
        The method that computed ``tau_es``.

    References
    ----------
    Corollary (16) of the paper (module References); docs/theory.md §5.
    """

    tau_es: float | np.ndarray
    bound_at_tau_es: float | np.ndarray
    clamped: bool | np.ndarray
    method: str


def stationary_tau(bound: Bound, terms: Iterable[str] | None = None, **values: float) -> sp.Expr | None:
    """The unique positive root of d/dτ of (some of) the bound's terms, solved by sympy.

    ``solveset`` on (0, ∞) (``solve`` hangs on rational exponents). Terms not listed are dropped
    (dominant balance, e.g. ``terms=("gen_mn", "opt")`` gives τ_es = (c_opt m n / (4 c_gen1))^{1/5});
    ``values`` are substituted first (as exact rationals).

    Parameters
    ----------
    bound : Bound
        Any bound, e.g. ``theorem1()``.
    terms : iterable of str, optional
        Names of the terms to keep (keys of :attr:`~bounds.bound.Bound.terms`); all terms if None.
    **values : float
        Parameter name → value, substituted before differentiating. The bound's defaults are not
        applied: parameters not given stay symbolic.

    Returns
    -------
    sympy expression or None
        The stationary τ (possibly a ``CRootOf``). None where the derivative is not rational in τ
        (the full forms) or sympy gives no unique explicit root.

    Raises
    ------
    ValueError
        For a name in ``terms`` that the bound lacks, a name in ``values`` that is no symbol of
        :mod:`bounds.symbols`, or a value that is not a finite real number.

    References
    ----------
    Corollary (16) of the paper: balancing τ⁴/(mn) against 1/τ gives τ_es ≍ (mn)^{1/5}
    (module References); docs/theory.md §5.

    Examples
    --------
    The dominant balance of corollary (16), solved symbolically:

    >>> import sympy as sp
    >>> from bounds import stationary_tau, theorem1
    >>> from bounds import symbols as S
    >>> root = stationary_tau(theorem1(), terms=("gen_mn", "opt"))
    >>> sp.simplify(root - (S.c_opt * S.m * S.n / (4 * S.c_gen1)) ** sp.Rational(1, 5)) == 0
    True
    >>> round(float(stationary_tau(theorem1(), n=1000, m=1000, c_gen1=1, c_gen2=1, c_opt=1)), 6)
    11.864899
    >>> stationary_tau(theorem1(form="full")) is None
    True
    """
    if not isinstance(bound, Bound):
        raise ValueError(f"bound must be a Bound (e.g. theorem1() or theorem2()), got {type(bound).__name__}")
    unknown = [k for k in ([] if terms is None else list(terms)) if k not in bound.terms]
    unknown += [k for k in values if k not in S.BY_NAME]
    if unknown:
        raise ValueError(f"unknown term or parameter {unknown[0]!r} for {bound.name}; terms: {list(bound.terms)}")
    arrays = as_float_arrays(values)
    shaped = [k for k, v in arrays.items() if v.ndim]
    if shaped:
        raise ValueError(f"{shaped[0]} must be a scalar for stationary_tau, got an array of shape {arrays[shaped[0]].shape}")
    chosen = bound.terms if terms is None else {k: bound.terms[k] for k in terms}
    subs = {S.BY_NAME[k]: sp.nsimplify(float(v), rational=True) for k, v in arrays.items()}
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
        The bound to minimise over τ, e.g. ``theorem1()`` or ``theorem2()``.
    method : {"numeric", "symbolic"}, default "numeric"
        ``"numeric"``: vectorised bisection on the sign of d(bound)/dτ in log τ (any array shapes).
        ``"symbolic"``: scalar inputs only; the positive root of d(bound)/dτ from sympy
        (:func:`stationary_tau`, e.g. a ``CRootOf`` of a quintic), raising ``ValueError`` where
        sympy gives none (the full forms).
    check_hypotheses : bool, default True
        As in :meth:`~bounds.bound.Bound.evaluate`.
    **values : float or array_like
        Every input of the bound except ``tau`` (scalars or broadcastable arrays): ``n``, ``m`` ≥ 1,
        ``mu`` > √log(1/δ²) for Theorem 2, and any optional input of
        :meth:`~bounds.bound.Bound.evaluate`.

    Returns
    -------
    EarlyStop
        ``tau_es`` (≥ 1; relative accuracy about 1e-13), ``bound_at_tau_es``, ``clamped`` and
        ``method``; floats for scalar input, arrays of the broadcast shape otherwise.

    Raises
    ------
    ValueError
        If ``bound`` is not a Bound, ``tau`` is given, ``method`` is unknown, an input is invalid (as
        in :meth:`~bounds.bound.Bound.evaluate`, limits included: n, m ≤ 1e30 keep τ_es below 1e13 at
        unit constants), the bound still decreases at τ = e^100 (e.g. zero constants on the
        τ-increasing terms), τ_es exceeds the limit τ ≤ 1e30, or ``method="symbolic"`` gets arrays or
        finds no root.

    References
    ----------
    Corollary (16) of the paper (τ_es = Θ(n^{2/5}) for m ~ n) and Theorem 2's τ_es ≍ (mn/Poly(µ))^{1/5}
    (module References); docs/theory.md §5 and §6.

    Examples
    --------
    At n = m = 1000 the balance τ⁴/(mn) = 1/τ alone gives (mn/4)^{1/5} ≈ 12.01; the τ³/m² term moves
    the minimiser slightly lower. Both methods agree:

    >>> from bounds import early_stopping_time, theorem1, theorem2
    >>> es = early_stopping_time(theorem1(), n=1000, m=1000)
    >>> round(es.tau_es, 6), round(es.bound_at_tau_es, 6), es.clamped
    (11.864899, 0.10677, False)
    >>> exact = early_stopping_time(theorem1(), method="symbolic", n=1000, m=1000)
    >>> bool(abs(exact.tau_es - es.tau_es) < 1e-9)
    True

    Corollary (16): along m = n, τ_es grows like n^{2/5} and the bound there decays like n^{-2/5}:

    >>> import numpy as np
    >>> big = early_stopping_time(theorem1(), n=np.array([1e8, 1e10]), m=np.array([1e8, 1e10]))
    >>> round(float(np.log(big.tau_es[1] / big.tau_es[0]) / np.log(100)), 3)
    0.4
    >>> round(float(np.log(big.bound_at_tau_es[1] / big.bound_at_tau_es[0]) / np.log(100)), 3)
    -0.4

    Theorem 2: stop earlier, and at a larger bound, as µ grows. Theorem 1 with n = m = 1 already
    increases at τ = 1, so τ_es is clamped to 1:

    >>> stops = [early_stopping_time(theorem2(), n=1000, m=1000, mu=mu) for mu in (3, 5)]
    >>> [(round(e.tau_es, 4), round(e.bound_at_tau_es, 4)) for e in stops]
    [(3.0768, 0.4206), (1.6131, 0.8163)]
    >>> early_stopping_time(theorem1(), n=1, m=1).clamped
    True
    """
    if not isinstance(bound, Bound):
        raise ValueError(f"bound must be a Bound (e.g. theorem1() or theorem2()), got {type(bound).__name__}")
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
    if np.any(s_star > S_LIMIT):
        raise ValueError(
            f"tau_es of {bound.name} lies above tau = {LIMITS['tau']:g}, the calculator's limit on tau: the "
            "constants of the tau-increasing terms (c_gen1/c_gen2/c_gen) are tiny against c_opt")
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
