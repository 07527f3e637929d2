"""The discrete KL divergences behind every measurement.

Between cell averages (:func:`kl_cells`), and between log-densities on nodes (:func:`kl_nodes`).

References
----------
docs/theory.md §4 (the quantities K2-K4 that these discretise).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

_P_FLOOR = 1e-30
_UNDERFLOW_MASS = 1e-15


def kl_cells(p: np.ndarray, q: np.ndarray, h: float | np.ndarray) -> float:
    """Σ_i h_i p_i log(p_i / q_i) for cell averages: the KL of the two coarse-grained laws.

    The cells may have any widths h_i (one width for all, or one per cell). By the data-processing
    inequality it is at most the KL of the densities; the gap is O(h²) where the cells are smooth.
    Cells with p_i < 1e-30 max(p) are left out: for any q_i above the smallest double their
    terms add up to less than 1e-26 (p_i log(p_i/q_i) < 745 p_i), while there q_i is below the
    solvers' round-off and may come out <= 0. Kept cells whose q_i underflowed to <= 0 while
    holding less than ``_UNDERFLOW_MASS`` of p in total (Σ h_i p_i over them) are evaluated at q_i =
    the smallest normal double (their terms then add at most 709 x that mass); more mass there makes
    the KL +inf.

    Parameters
    ----------
    p, q : ndarray of shape (N,)
        Cell averages (densities) of the two laws on the same cells; p >= 0 with max(p) > 0.
    h : float or ndarray of shape (N,)
        Cell width(s), > 0 (``FPSolution.h``).

    Returns
    -------
    float
        >= 0 up to round-off when both laws carry mass 1; +inf as above.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.kl import kl_cells
    >>> kl = kl_cells(np.array([0.5, 0.5]), np.array([0.25, 0.75]), 1.0)
    >>> bool(np.isclose(kl, 0.5 * np.log(2) + 0.5 * np.log(2 / 3), rtol=1e-15))
    True
    >>> # the same masses on cells of widths 0.5 and 2: the same KL
    >>> bool(np.isclose(kl_cells(np.array([1.0, 0.25]), np.array([0.5, 0.375]), np.array([0.5, 2.0])), kl, rtol=1e-15))
    True
    """
    h = np.broadcast_to(np.asarray(h, dtype=float), np.shape(p))
    mask = p >= _P_FLOOR * np.max(p)
    under = mask & (q <= 0)
    if np.any(under):
        if np.sum(h[under] * p[under]) >= _UNDERFLOW_MASS:
            return float("inf")
        q = np.where(under, np.finfo(float).tiny, q)
    return float(np.sum(h[mask] * p[mask] * np.log(p[mask] / q[mask])))


def kl_nodes(logp: np.ndarray, logq: np.ndarray, x: np.ndarray) -> float:
    """∫ p (log p - log q) dx by the trapezoid rule on nodes (spectral for smooth, Gaussian-tailed p).

    Parameters
    ----------
    logp, logq : ndarray of shape (N,)
        Log-densities at the nodes; logp may be -inf (p = 0 there counts 0).
    x : ndarray of shape (N,)
        Increasing nodes.

    Returns
    -------
    float

    Examples
    --------
    KL(N(0, 1) ‖ N(1, 1)) = ½:

    >>> import numpy as np
    >>> from empirical.kl.divergence import kl_nodes
    >>> x = np.linspace(-12.0, 12.0, 481)
    >>> round(kl_nodes(-x**2 / 2 - np.log(2 * np.pi) / 2, -(x - 1)**2 / 2 - np.log(2 * np.pi) / 2, x), 12)
    0.5
    """
    p = np.exp(logp)
    with np.errstate(invalid="ignore"):
        terms = np.where(p > 0, p * (logp - logq), 0.0)  # 0 log 0 = 0 where p_{t0} vanishes (compact support)
    return float(integrate.trapezoid(terms, x))
