"""Argument checks shared by the engine: each raises ``ValueError`` naming the parameter and its range."""

from __future__ import annotations

import numpy as np


def check_int(name: str, value: int, low: int) -> int:
    """``value`` as an int, or ValueError naming ``name`` when it is not an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_horizon(T: float) -> float:
    """The horizon T of the forward process, a finite number > 0."""
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T must be a finite number > 0, got {T!r}")
    return float(T)


def check_t0(t0: float, T: float) -> float:
    """The start t0 of the t-integrals (and the end of the reverse processes), in [0, T)."""
    if not (np.isfinite(t0) and 0.0 <= t0 < T):
        raise ValueError(f"t0 must be a number in [0, T) = [0, {T}), got {t0!r}")
    return float(t0)
