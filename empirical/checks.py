"""Argument checks shared by the engine: each raises ``ValueError`` naming the parameter and its range."""

from __future__ import annotations

import numpy as np


def check_int(name: str, value: int, low: int) -> int:
    """``value`` as an int, or ValueError naming ``name`` when it is not an integer >= ``low``.

    Parameters
    ----------
    name : str
        Parameter name for the error message.
    value : int
        The value to check; a bool is rejected.
    low : int
        Smallest valid value.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``value`` is not an integer >= ``low``.

    Examples
    --------
    >>> from empirical.checks import check_int
    >>> check_int("n_t", 16, 1)
    16
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_horizon(T: float) -> float:
    """The horizon T of the forward process, a finite number > 0.

    Parameters
    ----------
    T : float
        Horizon of the forward SDE (2) (docs/theory.md §1).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``T`` is not a finite number > 0.
    """
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T must be a finite number > 0, got {T!r}")
    return float(T)


def check_t0(t0: float, T: float) -> float:
    """The start t0 of the t-integrals (and the end of the reverse processes), in [0, T).

    Parameters
    ----------
    t0 : float
        Cut-off time (docs/theory.md §1); 0 is the paper's setting.
    T : float
        Horizon.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``t0`` is not a number in [0, T).
    """
    if not (np.isfinite(t0) and 0.0 <= t0 < T):
        raise ValueError(f"t0 must be a number in [0, T) = [0, {T}), got {t0!r}")
    return float(t0)
