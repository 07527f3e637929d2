"""Input checks: finite numbers, the formulas' domain, and each theorem's hypotheses.

Every failure is a ``ValueError`` whose message names the parameter, the offending value and the
valid range. Domain and finiteness are always enforced (outside them a formula is undefined or NaN);
the theorems' hypotheses can be switched off with ``check_hypotheses=False``, which warns instead.

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
    low, high : float, or for ``low`` a callable of the other values
        Interval ends (``±inf`` for none).
    low_open, high_open : bool
        Whether the ends are excluded.
    low_text : str
        How a computed lower end is written in messages, e.g. ``"sqrt(log(1/delta**2))"``.
    source : {"domain", "hypothesis"}
        ``"domain"``: without it the formula is undefined (never switched off); ``"hypothesis"``:
        a hypothesis of the theorem (``check_hypotheses=False`` relaxes it).

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
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    low_text: str = ""
    source: str = "domain"

    @property
    def is_domain(self) -> bool:
        """True for a domain condition, False for a theorem's hypothesis."""
        return self.source == "domain"

    def _low(self, values: Values) -> np.ndarray:
        return self.low(values) if callable(self.low) else np.asarray(self.low)

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
        v, lo = np.broadcast_arrays(values[self.param], self._low(values))
        below = v <= lo if self.low_open else v < lo
        above = v >= self.high if self.high_open else v > self.high
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
        lo = self._low(values)
        lo_value = float(np.broadcast_to(lo, np.broadcast(values[self.param], lo).shape)[index])
        low = f"{self.low_text} = {lo_value:.6g}" if self.low_text else f"{lo_value:g}"
        close = ")" if self.high_open or math.isinf(self.high) else "]"
        return f"{'(' if self.low_open else '['}{low}, {self.high:g}{close}"


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
        Naming the parameter, for a value that is not a real number or is NaN or infinite.

    Examples
    --------
    >>> from bounds.validation import as_float_arrays
    >>> as_float_arrays({"n": float("inf")})
    Traceback (most recent call last):
        ...
    ValueError: n must be a finite real number, got inf
    """
    out: dict[str, np.ndarray] = {}
    for name, value in values.items():
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
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
        message = (
            f"{cond.param} = {value:g}{where} is outside the valid range "
            f"{cond.param} in {cond.describe(values, index)} ({cond.source} of {context})"
        )
        if cond.is_domain or check_hypotheses:
            hint = "" if cond.is_domain else "; pass check_hypotheses=False (CLI: --outside-hypotheses) to evaluate anyway"
            raise ValueError(message + hint)
        warnings.warn(message + "; evaluated anyway (check_hypotheses=False)", HypothesisWarning, stacklevel=3)


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
