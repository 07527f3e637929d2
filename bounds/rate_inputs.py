"""Inputs of :mod:`bounds.rates`: the coupling exponent a (m = c·n^a) and the fixed inputs, checked.

Every failure is a ``ValueError`` naming the parameter (``m_exponent``, or the CLI's ``--m-exponent``).

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, On the Generalization Properties of Diffusion Models, NeurIPS 2023,
arXiv:2311.01797: corollary (16) and its general-m form. docs/theory.md §5.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from bounds import symbols as S
from bounds.bound import Bound
from bounds.validation import as_float_arrays, check

GROWTH = (S.n, S.m, S.tau, S.mu)
"""The variables whose growth :func:`bounds.rates.rates` follows (never fixed by ``values``)."""

EXPONENT_MAX = 10**6
"""Largest numerator or denominator of the coupling exponent a accepted by :func:`parse_exponent`."""


def parse_exponent(value: object, name: str = "m_exponent") -> sp.Rational:
    """A positive exact rational from an int, a float, a sympy number or a string like "3/2".

    Parameters
    ----------
    value : int, float, sympy number or str
        The exponent, > 0. A float is read from its decimal string (0.5 → 1/2).
    name : str, default "m_exponent"
        Parameter name used in error messages.

    Returns
    -------
    sympy Rational

    Raises
    ------
    ValueError
        Naming ``name``, if ``value`` is not a rational number (a bool, "1/0", "inf", ...), is ≤ 0, or
        has a numerator or denominator above :data:`EXPONENT_MAX`.

    Examples
    --------
    >>> from bounds.rate_inputs import parse_exponent
    >>> parse_exponent("3/2"), parse_exponent(0.5)
    (3/2, 1/2)
    >>> parse_exponent("1/0", "--m-exponent")
    Traceback (most recent call last):
        ...
    ValueError: --m-exponent must be a positive rational number such as 1 or 3/2 (finite, > 0), got '1/0'
    """
    bad = f"{name} must be a positive rational number such as 1 or 3/2 (finite, > 0), got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, str, np.integer, np.floating,
                                                                       sp.Rational, sp.Float)):
        raise ValueError(bad)
    try:
        r = sp.Rational(str(value).strip())
    except (TypeError, ValueError, SyntaxError, ZeroDivisionError, OverflowError, AttributeError):
        raise ValueError(bad) from None
    if not (r.is_finite and r.is_rational and r > 0):
        raise ValueError(bad)
    if max(abs(r.p), r.q) > EXPONENT_MAX:
        raise ValueError(f"{name} must be a ratio of integers of at most {EXPONENT_MAX:g} (e.g. 3/2), got {value!r}")
    return r


def checked_values(bound: Bound, values: dict[str, object]) -> dict[str, float]:
    """``values`` as floats, each an input of ``bound`` other than n, m, τ, µ, finite and in its domain."""
    if not isinstance(bound, Bound):
        raise ValueError(f"bound must be a Bound (e.g. theorem1() or theorem2()), got {type(bound).__name__}")
    accepted = sorted(s.name for s in bound.parameters if s not in GROWTH)
    unknown = [k for k in values if k not in accepted]
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for the rates of {bound.name} (n, m, tau, mu are "
                         f"the growing variables); valid: {accepted}")
    arrays = as_float_arrays(values)
    check(arrays, bound.conditions, check_hypotheses=False, context=bound.name)
    shaped = [k for k, v in arrays.items() if v.ndim]
    if shaped:
        raise ValueError(f"{shaped[0]} must be a scalar for the rates, got an array of shape {arrays[shaped[0]].shape}")
    return {k: float(v) for k, v in arrays.items()}
