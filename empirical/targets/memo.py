"""A per-process memo for a target's quadratures (KL(p_t ‖ π), the Fisher information of p_t).

Each is a deterministic function of p_t's parameters at t (a mixture's component means, variances and weights;
a bump's centres, half-widths, kernel width, weights and quadrature order) and, for the KL, the prior's variance.
A key of those exact bytes lets every measurement of a sweep that builds the same target reuse one value instead
of repeating the quadrature; nothing else enters the value, so the memo cannot change a number.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

__all__ = ["memoised"]

_MEMO: dict[Hashable, float] = {}
_MEMO_MAX = 1 << 14


def memoised(key: Hashable, compute: Callable[[], float]) -> float:
    """``compute()``, memoised per process under ``key`` (cleared when it holds 16384 values).

    An exception is raised each time, not stored.

    Examples
    --------
    >>> from empirical.targets.memo import memoised
    >>> calls = []
    >>> [memoised(("doc-example", 1), lambda: calls.append(1) or 2.0) for _ in range(3)], len(calls)
    ([2.0, 2.0, 2.0], 1)
    """
    if key in _MEMO:
        return _MEMO[key]
    value = compute()
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.clear()
    _MEMO[key] = value
    return value
