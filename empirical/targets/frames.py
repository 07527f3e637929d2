"""Orthonormal frames in R^d for targets whose modes lie along a direction u (docs/theory.md §6):
a Householder reflection Q with Q e1 = u, and seeded uniform random directions.

References
----------
arXiv:2311.01797, Theorem 2 (modes along e1); docs/theory.md §6.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def unit_vector(direction: Sequence[float] | np.ndarray, d: int) -> np.ndarray:
    """``direction`` as a unit vector of R^d; ValueError if it has another length, a non-finite entry or is 0."""
    u = np.asarray(direction, dtype=float)
    if u.shape != (d,):
        raise ValueError(f"direction must have shape ({d},), got {u.shape}")
    norm = float(np.linalg.norm(u))
    if not (np.all(np.isfinite(u)) and norm > 0):
        raise ValueError(f"direction must be finite and nonzero, got {direction!r}")
    return u / norm


def frame(direction: Sequence[float] | np.ndarray) -> np.ndarray:
    """An orthogonal matrix Q whose first column is the unit vector along ``direction``.

    A Householder reflection: Q = H_{e1-u} (which maps e1 to u) when u_1 < 0, and Q = -H_{e1+u}
    otherwise, so the reflected vector never has norm below √2 (no cancellation). Q = I when u = e1.

    Parameters
    ----------
    direction : array_like, shape (d,)
        A finite nonzero vector; it is normalised to u.

    Returns
    -------
    ndarray, shape (d, d)
        Orthogonal Q with Q e1 = u.

    Raises
    ------
    ValueError
        If ``direction`` is not a finite nonzero 1-D vector.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.targets.product import frame
    >>> Q = frame([1.0, 1.0, 0.0])
    >>> bool(np.allclose(Q[:, 0], [2**-0.5, 2**-0.5, 0.0])), bool(np.allclose(Q.T @ Q, np.eye(3)))
    (True, True)
    """
    v = np.asarray(direction, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"direction must be a 1-D vector, got shape {v.shape}")
    d = v.size
    u = unit_vector(v, d)
    e1 = np.zeros(d)
    e1[0] = 1.0
    if np.array_equal(u, e1):
        return np.eye(d)
    if u[0] < 0:
        w = e1 - u
        return np.eye(d) - 2.0 * np.outer(w, w) / (w @ w)
    w = e1 + u
    return 2.0 * np.outer(w, w) / (w @ w) - np.eye(d)


def random_direction(d: int, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """A unit vector drawn uniformly from the sphere S^{d-1} (a normalised standard normal vector).

    Parameters
    ----------
    d : int
        Dimension, >= 1.
    seed : int, Generator or None, default 0
        Passed to ``numpy.random.default_rng``; the same seed gives the same direction.

    Returns
    -------
    ndarray, shape (d,)
        Unit vector.

    Raises
    ------
    ValueError
        If ``d`` is not an integer >= 1.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.targets import random_direction
    >>> u = random_direction(5, seed=1)
    >>> u.shape, bool(np.isclose(np.linalg.norm(u), 1.0))
    ((5,), True)
    >>> bool(np.array_equal(u, random_direction(5, seed=1)))
    True
    """
    if not (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1):
        raise ValueError(f"d must be an integer >= 1, got {d!r}")
    rng = np.random.default_rng(seed)
    while True:
        v = rng.standard_normal(int(d))
        norm = float(np.linalg.norm(v))
        if norm > 0:
            return v / norm
