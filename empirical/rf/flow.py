"""Exact gradient flows (9)-(10) of the quadratic loss of Lemma 3, at any training time τ.

dθ/dτ = -∇_θ L̃ with θ = vec(A)/√m, i.e. dΘᵀ/dτ = -2 (B1 Θᵀ - B2). With B1 = V diag(β) Vᵀ:

    Θ(τ)ᵀ = Θ0ᵀ + V diag((1 - e^{-2βτ})/β) Vᵀ (B2 - B1 Θ0ᵀ),   (1 - e^{-2βτ})/β -> 2τ at β = 0,

so one eigendecomposition serves every τ (docs/theory.md §3). In the A convention dA/dτ = -m ∇_A L̃.

References
----------
arXiv:2311.01797, flows (9)-(10) of the quadratic loss of Lemma 3; docs/theory.md §3 (the closed
form is derived there, not printed in the paper).
"""

from __future__ import annotations

import numpy as np

from .quadratic import QuadraticLoss


def flow_factor(beta: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """(1 - e^{-2βτ})/β for every (τ, β), shape (len(taus), len(beta)); 2τ at β = 0 (expm1 keeps small βτ exact).

    Parameters
    ----------
    beta : ndarray of shape (m,)
        Eigenvalues of B1, >= 0.
    taus : ndarray of shape (k,)
        Training times, >= 0.

    Returns
    -------
    ndarray of shape (k, m)

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.rf.flow import flow_factor
    >>> flow_factor(np.array([0.0, 0.5]), np.array([1.0])).round(6).tolist()  # [2τ, (1 - e^{-1})/0.5]
    [[2.0, 1.264241]]
    """
    bt = np.multiply.outer(taus, beta)
    safe = np.where(beta > 0, beta, 1.0)
    return np.where(beta > 0, -np.expm1(-2.0 * bt) / safe, 2.0 * taus[:, None])


def gradient_flow(loss: QuadraticLoss, taus: np.ndarray, A0: np.ndarray | None = None) -> np.ndarray:
    """A(τ) on the gradient flow of ``loss`` from A0 (default 0), for each τ >= 0.

    Empirical flow (9): pass the empirical loss; population flow (10): the population loss.

    Parameters
    ----------
    loss : QuadraticLoss
        The loss of Lemma 3 that the flow descends (:mod:`empirical.rf.loss`).
    taus : array_like of shape (k,)
        Training times τ, finite and >= 0, in any order.
    A0 : ndarray of shape (d, m), optional
        The start A(0) in the (1/m) A convention of (12); default 0 (docs/theory.md §2).

    Returns
    -------
    ndarray of shape (len(taus), d, m)

    Raises
    ------
    ValueError
        If ``taus`` is not a 1-D array of finite values >= 0, or ``A0`` has the wrong shape.

    Examples
    --------
    The flow starts at A(0) = 0 and tends to the minimiser of the loss:

    >>> import numpy as np
    >>> from empirical.rf.features import draw_features
    >>> from empirical.rf.flow import gradient_flow
    >>> from empirical.rf.loss import population_loss
    >>> from empirical.targets import two_mode
    >>> L = population_loss(two_mode(3.0), draw_features(8, seed=0), n_t=16)
    >>> A = gradient_flow(L, [0.0, 1.0, 1e9])
    >>> A.shape, bool(np.all(A[0] == 0))
    ((3, 1, 8), True)
    >>> bool(L.value(A[1]) < L.value(A[0]))  # the loss decreases along the flow
    True
    >>> bool(np.allclose(A[-1], L.minimizer(), rtol=0, atol=1e-8))
    True
    """
    taus = np.atleast_1d(np.asarray(taus, dtype=float))
    if taus.ndim != 1 or not np.all(np.isfinite(taus)) or np.any(taus < 0):
        raise ValueError(f"taus must be a 1-D array of finite values >= 0, got {taus!r}")
    m, d = loss.m, loss.d
    A0 = np.zeros((d, m)) if A0 is None else np.asarray(A0, dtype=float)
    if A0.shape != (d, m):
        raise ValueError(f"A0 must have shape ({d}, {m}), got {A0.shape}")
    beta, V = loss.spectrum
    th0 = A0.T / np.sqrt(m)
    G = V.T @ (loss.B2 - loss.B1 @ th0)
    F = flow_factor(beta, taus)
    # (τ, m, d): V @ (F_τ ⊙ G) for all τ as one GEMM over the stacked right-hand sides.
    step = (V @ (F.T[:, :, None] * G[:, None, :]).reshape(m, -1)).reshape(m, taus.size, d)
    return np.sqrt(m) * (th0[None] + step.transpose(1, 0, 2)).transpose(0, 2, 1)
