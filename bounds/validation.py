"""Input checks: finite numbers, the formulas' domain, and each theorem's hypotheses.

Every failure is a ``ValueError`` whose message names the parameter, the offending value and the
valid range. Domain and finiteness are always enforced (outside them a formula is undefined or NaN),
and so are the calculator's *limits* (:data:`LIMITS`: beyond them a term would overflow a double, so
the calculator refuses rather than print inf or NaN); the theorems' hypotheses can be switched off
with ``check_hypotheses=False``, which warns instead.

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: the hypotheses of Theorem 1 (τ ≥ 1, δ ∈ (0, 1)) and Theorem 2 (also
µ > √log(1/δ²)), and the ranges of Lemmas 1, 4, 5, 6, 8. docs/theory.md §5, §6 and §7.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

Values = Mapping[str, np.ndarray]

LIMITS: dict[str, float] = {
    "n": 1e30,
    "m": 1e30,
    "tau": 1e30,
    "d": 1e6,
    "mu": 1e6,
    "poly": 1e100,
    "k": 100.0,
}
"""Upper ends of the calculator's inputs (always enforced, also with ``check_hypotheses=False``).

With n, m ≥ 1, τ ≤ 1e30, Poly(µ) = µ^k ≤ 1e100 (``"poly"``; µ ≤ 1e6, k ≤ 100) and d ≤ 1e6, every term
of both theorems (simplified and full forms, unit constants and default inputs) stays below about
1e230, far from the largest double (1.8e308); τ_es ≤ (mn)^{1/5} stays below 1e13. The confidence δ
needs no lower end: log(1/δ²) is evaluated as -2 log δ. A result that still overflows (huge hidden
constants or measured inputs passed to the API) is refused by :func:`check_finite`."""


class HypothesisWarning(UserWarning):
    """A bound was evaluated outside the hypotheses of its theorem (``check_hypotheses=False``).

    The value is then a formula evaluated outside the theorem, not a bound that the paper proves.
    """


@dataclass(frozen=True)
class Range:
    """``param`` must lie in an interval; the lower end may depend on other parameters.

    Parameters
    ----------
    param : str
        Name of the checked parameter.
    low, high : float, or a callable of the other values
        Interval ends (``±inf`` for none).
    low_open, high_open : bool
        Whether the ends are excluded.
    low_text, high_text : str
        How a computed end is written in messages, e.g. ``"sqrt(log(1/delta**2))"``.
    source : {"domain", "limit", "hypothesis"}
        ``"domain"``: without it the formula is undefined; ``"limit"``: beyond it a term overflows a
        double (:data:`LIMITS`); both are never switched off. ``"hypothesis"``: a hypothesis of the
        theorem (``check_hypotheses=False`` relaxes it).

    Examples
    --------
    Theorem 2's hypothesis µ > √log(1/δ²), a lower end computed from δ:

    >>> import numpy as np
    >>> from bounds.validation import Range
    >>> sep = Range("mu", low=lambda v: np.sqrt(np.log(1 / v["delta"] ** 2)), low_open=True,
    ...             low_text="sqrt(log(1/delta**2))", source="hypothesis")
    >>> values = {"mu": np.array([3.0, 1.0]), "delta": np.array(0.05)}
    >>> sep.violations(values).tolist()
    [False, True]
    >>> sep.describe(values, (1,))
    '(sqrt(log(1/delta**2)) = 2.44775, inf)'
    """

    param: str
    low: float | Callable[[Values], np.ndarray] = -math.inf
    high: float | Callable[[Values], np.ndarray] = math.inf
    low_open: bool = False
    high_open: bool = False
    low_text: str = ""
    source: str = "domain"
    high_text: str = ""

    @property
    def is_domain(self) -> bool:
        """True for a condition always enforced (domain or limit), False for a theorem's hypothesis."""
        return self.source != "hypothesis"

    def _low(self, values: Values) -> np.ndarray:
        return self.low(values) if callable(self.low) else np.asarray(self.low)

    def _high(self, values: Values) -> np.ndarray:
        return self.high(values) if callable(self.high) else np.asarray(self.high)

    def violations(self, values: Values) -> np.ndarray:
        """Boolean mask (broadcast over all inputs) of the points violating the condition.

        Parameters
        ----------
        values : mapping of str to ndarray
            Must hold ``param`` and whatever a callable ``low`` reads.

        Returns
        -------
        ndarray of bool
            True where the value lies outside the interval.
        """
        v, lo, hi = np.broadcast_arrays(values[self.param], self._low(values), self._high(values))
        below = v <= lo if self.low_open else v < lo
        above = v >= hi if self.high_open else v > hi
        return below | above

    def describe(self, values: Values, index: tuple[int, ...]) -> str:
        """The interval in interval notation, e.g. ``"(0, 1)"`` or ``"[1, inf)"``, for error messages.

        Parameters
        ----------
        values : mapping of str to ndarray
            As in :meth:`violations`.
        index : tuple of int
            Element of the broadcast inputs at which a computed lower end is evaluated (``()`` for scalars).

        Returns
        -------
        str
            The interval; a computed lower end is shown as ``low_text = value``.
        """
        def at(end: np.ndarray) -> float:
            return float(np.broadcast_to(end, np.broadcast(values[self.param], end).shape)[index])

        lo_value, hi_value = at(self._low(values)), at(self._high(values))
        low = f"{self.low_text} = {lo_value:.6g}" if self.low_text else f"{lo_value:g}"
        high = f"{self.high_text} = {hi_value:.6g}" if self.high_text else f"{hi_value:g}"
        close = ")" if self.high_open or math.isinf(hi_value) else "]"
        return f"{'(' if self.low_open else '['}{low}, {high}{close}"


def as_float_arrays(values: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Convert every value to a float array and reject non-numbers and non-finite numbers.

    Parameters
    ----------
    values : mapping of str to object
        Parameter name → scalar or array_like.

    Returns
    -------
    dict of str to ndarray
        The same names, as float arrays (0-d for scalars).

    Raises
    ------
    ValueError
        Naming the parameter, for a value that is not a real number (a bool, a string, None, a
        complex number, ...) or is NaN or infinite.

    Examples
    --------
    >>> from bounds.validation import as_float_arrays
    >>> as_float_arrays({"n": float("inf")})
    Traceback (most recent call last):
        ...
    ValueError: n must be a finite real number, got inf
    >>> as_float_arrays({"n": True})
    Traceback (most recent call last):
        ...
    ValueError: n must be a finite real number, got True (a bool is not a number here)
    """
    out: dict[str, np.ndarray] = {}
    for name, value in values.items():
        if isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype == bool):
            raise ValueError(f"{name} must be a finite real number, got {value!r} (a bool is not a number here)")
        if value is None or isinstance(value, (str, bytes)):
            raise ValueError(f"{name} must be a finite real number, got {value!r}")
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{name} must be a finite real number, got {value!r}") from None
        if not np.all(np.isfinite(arr)):
            bad = float(arr[~np.isfinite(arr)].flat[0])
            raise ValueError(f"{name} must be a finite real number, got {bad!r}")
        out[name] = arr
    return out


def check(
    values: Values,
    conditions: Iterable[Range],
    check_hypotheses: bool = True,
    context: str = "the bound",
) -> None:
    """Raise ``ValueError`` on the first violated condition; see the module docstring.

    With ``check_hypotheses=False`` a violated theorem hypothesis issues one
    :class:`HypothesisWarning` per condition instead of raising.

    Parameters
    ----------
    values : mapping of str to ndarray
        Inputs as returned by :func:`as_float_arrays`; a condition on a missing name is skipped.
    conditions : iterable of Range
        Checked in order; the first violated one raises.
    check_hypotheses : bool, default True
        If False, conditions with ``source="hypothesis"`` warn instead of raising.
    context : str, default "the bound"
        What is being checked, for the message (e.g. ``"Theorem 1 (simplified)"``).

    Raises
    ------
    ValueError
        Naming the parameter, its value (and array element), the valid range and its source.

    Examples
    --------
    >>> import numpy as np
    >>> from bounds.validation import at_least_one, check
    >>> values = {"tau": np.array([2.0, 0.5])}
    >>> check(values, [at_least_one("tau")], context="Theorem 1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: tau = 0.5 (array element (1,)) is outside the valid range tau in [1, inf) (hypothesis of Theorem 1)...
    """
    for cond in conditions:
        if cond.param not in values:
            continue
        mask = cond.violations(values)
        if not np.any(mask):
            continue
        index = tuple(int(i) for i in np.argwhere(mask)[0])
        value = float(np.broadcast_to(values[cond.param], mask.shape)[index])
        where = f" (array element {index})" if mask.ndim else ""
        origin = (f"limit of {context}: beyond it a term overflows a double" if cond.source == "limit"
                  else f"{cond.source} of {context}")
        message = (
            f"{cond.param} = {value:g}{where} is outside the valid range "
            f"{cond.param} in {cond.describe(values, index)} ({origin})"
        )
        if cond.is_domain or check_hypotheses:
            hint = "" if cond.is_domain else "; pass check_hypotheses=False (CLI: --outside-hypotheses) to evaluate anyway"
            raise ValueError(message + hint)
        warnings.warn(message + "; evaluated anyway (check_hypotheses=False)", HypothesisWarning, stacklevel=3)


def check_finite(result: object, what: str, context: str, values: Mapping[str, np.ndarray]) -> None:
    """Refuse a non-finite result (an overflow of a double) with a ``ValueError`` naming the inputs.

    Inside :data:`LIMITS` the theorems' terms stay finite at unit constants and default inputs; this
    catches what is left (e.g. a hidden constant of 1e300 passed to the API), so that no NaN or inf
    is ever returned.

    Parameters
    ----------
    result : float or ndarray
        The computed value(s).
    what : str
        What was computed, e.g. ``"the term 'gen_mn'"``.
    context : str
        The bound, e.g. ``"Theorem 1 (simplified)"``.
    values : mapping of str to ndarray
        The resolved inputs, quoted (at the first bad element) in the message.

    Raises
    ------
    ValueError
        If some element of ``result`` is NaN or infinite.

    Examples
    --------
    >>> import numpy as np
    >>> from bounds.validation import check_finite
    >>> check_finite(np.array([1.0, np.inf]), "the bound", "Theorem 1", {"n": np.array([1.0, 1e-300])})
    Traceback (most recent call last):
        ...
    ValueError: Theorem 1: the bound overflows a double at n = 1e-300 (array element (1,)); keep every input inside its valid range (n, m, tau in [1, 1e30], mu**k <= 1e100, d <= 1e6) and the hidden constants and measured inputs moderate
    """
    arr = np.asarray(result, dtype=float)
    if np.all(np.isfinite(arr)):
        return
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0]) if arr.ndim else ()
    at = {k: float(np.broadcast_to(v, arr.shape)[index]) for k, v in values.items()
          if np.broadcast_shapes(np.shape(v), arr.shape) == arr.shape}
    # The variables, then any other input far from O(1) (a likely culprit).
    named = [k for k in ("n", "m", "tau", "mu", "k", "d", "delta") if k in at]
    named += [k for k, v in at.items() if k not in named and not (v == 0 or 1e-6 <= abs(v) <= 1e6)]
    shown = ", ".join(f"{k} = {at[k]:g}" for k in named)
    where = f" (array element {index})" if arr.ndim else ""
    raise ValueError(
        f"{context}: {what} overflows a double at {shown}{where}; keep every input inside its valid range "
        f"(n, m, tau in [1, 1e30], mu**k <= 1e100, d <= 1e6) and the hidden constants and measured inputs moderate"
    )


def at_most(param: str, high: float | Callable[[Values], np.ndarray], high_text: str = "") -> Range:
    """Limit 0 < ``param`` ≤ ``high`` (:data:`LIMITS`): beyond it a term would overflow a double.

    Parameters
    ----------
    param : str
        Name of the checked parameter.
    high : float or callable of the values
        The upper end.
    high_text : str, optional
        How a computed upper end is written in messages.

    Returns
    -------
    Range

    Examples
    --------
    >>> import numpy as np
    >>> from bounds.validation import at_most, check
    >>> check({"n": np.array(1e300)}, [at_most("n", 1e30)], context="Theorem 1")
    Traceback (most recent call last):
        ...
    ValueError: n = 1e+300 is outside the valid range n in (0, 1e+30] (limit of Theorem 1: beyond it a term overflows a double)
    """
    return Range(param, low=0.0, low_open=True, high=high, high_text=high_text, source="limit")


def positive(param: str) -> Range:
    """Domain condition ``param`` > 0.

    Parameters
    ----------
    param : str
        Name of the checked parameter.

    Returns
    -------
    Range
    """
    return Range(param, low=0.0, low_open=True)


def at_least_one(param: str) -> Range:
    """Hypothesis ``param`` ≥ 1 (n, m, τ, d in Theorems 1 and 2; docs/theory.md §5).

    Parameters
    ----------
    param : str
        Name of the checked parameter.

    Returns
    -------
    Range
    """
    return Range(param, low=1.0, source="hypothesis")


def nonnegative(param: str) -> Range:
    """Domain condition ``param`` ≥ 0.

    Parameters
    ----------
    param : str
        Name of the checked parameter.

    Returns
    -------
    Range
    """
    return Range(param, low=0.0)


def open_unit(param: str) -> Range:
    """Domain condition 0 < ``param`` < 1 (the confidence δ).

    Parameters
    ----------
    param : str
        Name of the checked parameter.

    Returns
    -------
    Range
    """
    return Range(param, low=0.0, high=1.0, low_open=True, high_open=True)
