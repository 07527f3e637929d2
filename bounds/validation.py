"""Input checks: finite numbers, the formulas' domain, and each theorem's hypotheses.

Every failure is a ``ValueError`` whose message names the parameter, the offending value and the
valid range. Domain and finiteness are always enforced (outside them a formula is undefined or NaN);
the theorems' hypotheses can be switched off with ``check_hypotheses=False``, which warns instead.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

Values = Mapping[str, np.ndarray]


class HypothesisWarning(UserWarning):
    """A bound was evaluated outside the hypotheses of its theorem (``check_hypotheses=False``)."""


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
        return self.source == "domain"

    def _low(self, values: Values) -> np.ndarray:
        return self.low(values) if callable(self.low) else np.asarray(self.low)

    def violations(self, values: Values) -> np.ndarray:
        """Boolean mask (broadcast over all inputs) of the points violating the condition."""
        v, lo = np.broadcast_arrays(values[self.param], self._low(values))
        below = v <= lo if self.low_open else v < lo
        above = v >= self.high if self.high_open else v > self.high
        return below | above

    def describe(self, values: Values, index: tuple[int, ...]) -> str:
        lo = self._low(values)
        lo_value = float(np.broadcast_to(lo, np.broadcast(values[self.param], lo).shape)[index])
        low = f"{self.low_text} = {lo_value:.6g}" if self.low_text else f"{lo_value:g}"
        close = ")" if self.high_open or math.isinf(self.high) else "]"
        return f"{'(' if self.low_open else '['}{low}, {self.high:g}{close}"


def as_float_arrays(values: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Convert every value to a float array and reject non-numbers and non-finite numbers."""
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
    return Range(param, low=0.0, low_open=True)


def at_least_one(param: str) -> Range:
    return Range(param, low=1.0, source="hypothesis")


def nonnegative(param: str) -> Range:
    return Range(param, low=0.0)


def open_unit(param: str) -> Range:
    return Range(param, low=0.0, high=1.0, low_open=True, high_open=True)
