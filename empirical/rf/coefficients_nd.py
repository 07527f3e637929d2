"""Lemma 3's B1, B2 and c exactly in d dimensions for isotropic Gaussian-mixture targets.

For p0 = Σ_k q_k N(c_k, v0 I) in R^d the forward SDE (2) gives p_t = Σ_k q_k N(r c_k, s_t² I) with
s_t² = r² v0 + σ_t² (kernel (8)). Under component k the pre-activations z_i = w_iᵀx + b_i(t),
b_i(t) = u_iᵀe(t), of the model (12) are jointly Gaussian:

    μ_ik = r w_iᵀc_k + b_i(t),   σ_i = s_t ‖w_i‖,   ρ_ij = w_iᵀw_j / (‖w_i‖ ‖w_j‖),

so with h1 = √λ σ(z)/√m, h2 = √λ ∇log p_t (docs/theory.md §3), exactly in x:

- B1_ij = Σ_t ω_t λ_t Σ_k q_k E_k[relu(z_i) relu(z_j)] / m, by the Mehler series of
  :func:`empirical.rf.relu_gram.relu_gram` (one syrk per term, a guaranteed bound ``rtol`` on the relative
  Frobenius error; the diagonal and nearly parallel pairs exactly by
  :func:`~empirical.rf.gaussian_relu.relu_product_moment`); a feature with w_i = 0 has σ_i = 0 and
  z_i = b_i constant;
- B2[i, :] = -Σ_t ω_t λ_t Σ_k q_k Φ(μ_ik/σ_i) w_i / √m, by Stein's identity (integration by parts)
  E_{p_t}[relu(z_i) ∇log p_t] = -E_{p_t}[∇_x relu(z_i)] = -w_i P_{p_t}(z_i > 0), valid because relu
  grows linearly and p_t has Gaussian tails;
- c = Σ_t ω_t λ_t E_{p_t}‖∇log p_t‖². When the means span an affine line (K <= 2, or collinear
  means), p_t is a 1-D mixture along that line times N(·, s_t² I) across it, so the Fisher information
  is that of the 1-D mixture (:meth:`GaussianMixture1D.fisher_information`) plus (d - 1)/s_t².
  Otherwise pass ``fisher`` (e.g. a target's ``fisher_information``).

(ω_t, t) is the t-quadrature of :func:`empirical.quadrature.time_grid`. In d = 1 every ρ_ij is ±1
and this reproduces the 1-D engine :func:`empirical.rf.coefficients.exact_coefficients`.
:func:`two_mode_nd_coefficients` is the shortcut for Theorem 2's target :func:`two_mode_nd`.

The empirical loss is the case var0 = 0, K = n, q_k = 1/n (p̂_t = (1/n) Σ_i N(r x_i, σ_t² I)).

Cost: with N = n_t·K rows, one (N × m) syrk per series term (the number of terms grows as the
features' correlations approach ±1, i.e. as d falls) plus N exact moments per nearly parallel pair;
d enters only through W Wᵀ and the projections W c_k. In d = 1 every pair is exact.

References
----------
arXiv:2311.01797, forward SDE (2), kernel (8), model (12) and Lemma 3; docs/theory.md §3.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .features import RandomFeatures
from .relu_gram import RTOL, positive_probability, relu_gram
from ..quadrature import TimeGrid
from ..sde import LinearSDE, ou
from ..targets import GaussianMixture1D, two_mode_nd

_CHUNK_ROWS = 2048  # rows (t node, component) per chunk of the Gram build: bounds its (rows × m) temporaries


def _check_mixture(means, weights, var0, d: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(means (K, d), weights (K,), var0) as floats; ValueError naming the parameter otherwise."""
    c = np.asarray(means, dtype=float)
    if c.ndim == 1 and d == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[0] < 1 or c.shape[1] != d:
        raise ValueError(f"means must have shape (K, {d}) with K >= 1 (d = features.d), got {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError("means must be finite")
    q = np.asarray(weights, dtype=float)
    if q.shape != (c.shape[0],):
        raise ValueError(f"weights must have shape ({c.shape[0]},) (one per mean), got {q.shape}")
    if not (np.all(np.isfinite(q)) and np.all(q > 0) and np.isclose(q.sum(), 1.0, rtol=0, atol=1e-9)):
        raise ValueError(f"weights must be finite, > 0 and sum to 1, got {q.tolist()}")
    if isinstance(var0, bool) or not (np.isscalar(var0) and np.isfinite(var0) and var0 >= 0):
        raise ValueError(f"var0 must be a finite number >= 0 (the components' variance at t = 0), got {var0!r}")
    return c, q / q.sum(), float(var0)


def _line_fisher(means: np.ndarray, weights: np.ndarray, var0: float, sde: LinearSDE) -> Callable[[float], float]:
    """t -> E_{p_t}‖∇log p_t‖² when the means lie on one line (else ValueError naming ``fisher``)."""
    d = means.shape[1]
    centred = means - means[0]
    _, sv, vt = np.linalg.svd(centred)
    scale = max(1.0, float(np.abs(means).max()))
    if sv.size > 1 and sv[1] > 1e-12 * scale:
        raise ValueError("the means do not lie on one line: pass fisher (t -> E_{p_t}‖∇log p_t‖²), "
                         "e.g. the target's fisher_information")
    line = GaussianMixture1D(means @ vt[0], var0, weights, sde=sde)

    def fisher(t: float) -> float:
        s2 = float(sde.r(t)) ** 2 * var0 + float(sde.sigma2(t))
        return line.fisher_information(t) + (d - 1) / s2

    return fisher


def mixture_coefficients(
    means: np.ndarray,
    weights: np.ndarray,
    var0: float,
    features: RandomFeatures,
    grid: TimeGrid,
    lam_values: dict[str, np.ndarray],
    sde: LinearSDE | None = None,
    fisher: Callable[[float], float] | None = None,
    rtol: float = RTOL,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, float]]:
    """(B1, B2) and c of Lemma 3 for p0 = Σ_k q_k N(c_k, var0·I) in R^d, exact in x (module docstring).

    Parameters
    ----------
    means : array_like, shape (K, d)
        Component means c_k, finite (shape (K,) is accepted when d = 1).
    weights : array_like, shape (K,)
        q_k > 0 summing to 1 (within 1e-9).
    var0 : float
        Common component variance at t = 0, >= 0 (0: point masses; every node of ``grid`` has t > 0,
        so p_t is still Gaussian there, but the Fisher information grows like d/σ_t² as t -> 0).
    features : RandomFeatures
        Frozen features (W, U) of the model (12), any d; rows with w_i = 0 are allowed.
    grid : TimeGrid
        The t-quadrature (:func:`empirical.quadrature.time_grid`).
    lam_values : dict of name -> ndarray
        λ at the nodes of ``grid`` for each weighting (e.g. :func:`empirical.rf.loss.weighting` with d).
    sde : LinearSDE, optional
        Forward process (2); OU with the features' horizon by default. Its T must equal ``features.T``.
    fisher : callable t -> float, optional
        E_{p_t}‖∇log p_t‖²; by default computed exactly when the means lie on one line.
    rtol : float, default 1e-8
        Guaranteed bound on ‖B1 - B1_exact‖_F / ‖B1‖_F of the Mehler series (:func:`empirical.rf.relu_gram.relu_gram`);
        pairs of nearly parallel features and the diagonal are exact to round-off.

    Returns
    -------
    coefs : dict of name -> (B1 (m, m), B2 (m, d))
        The same structure as :func:`empirical.rf.coefficients.exact_coefficients`; B1 exactly symmetric.
    consts : dict of name -> float
        The constant c of Lemma 3 for each weighting.

    Raises
    ------
    ValueError
        If ``means``, ``weights`` or ``var0`` is outside the ranges above or does not match
        ``features.d``; if ``sde.T`` differs from ``features.T``; if a ``lam_values`` entry is not a
        finite array with one value per node; if the means do not lie on one line and no ``fisher``
        is given.

    Examples
    --------
    Theorem 2's two-mode target in R^2 (modes ±2 e1); c agrees with the product target's exact
    Fisher information:

    >>> import numpy as np
    >>> from empirical.rf.coefficients_nd import mixture_coefficients
    >>> from empirical.rf.features import draw_features
    >>> from empirical.rf.loss import weighting
    >>> from empirical.quadrature import time_grid
    >>> from empirical.sde import ou
    >>> from empirical.targets import two_mode_nd
    >>> sde, g, f = ou(), time_grid(5.0, 8), draw_features(8, d=2, seed=0)
    >>> lam = {"std": weighting("std", sde, g.t, d=2)}
    >>> coefs, consts = mixture_coefficients([[-2.0, 0.0], [2.0, 0.0]], [0.5, 0.5], 1.0, f, g, lam, sde)
    >>> B1, B2 = coefs["std"]
    >>> B1.shape, B2.shape, bool(np.array_equal(B1, B1.T))
    ((8, 8), (8, 2), True)
    >>> p = two_mode_nd(2.0, 2, sde=sde)
    >>> bool(np.isclose(consts["std"], sum(w * l * p.fisher_information(t) for t, w, l in zip(g.t, g.w, lam["std"]))))
    True
    """
    sde = sde or ou(features.T)
    if not np.isclose(sde.T, features.T, rtol=1e-12, atol=0):
        raise ValueError(f"features.T must equal the SDE horizon T = {sde.T}, got {features.T}")
    means, q, var0 = _check_mixture(means, weights, var0, features.d)
    n = grid.t.size
    lams = {}
    for k, v in lam_values.items():
        v = np.asarray(v, dtype=float)
        if v.shape != (n,) or not np.all(np.isfinite(v)):
            raise ValueError(f"lam_values[{k!r}] must be a finite array of shape ({n},) (one per t node), got {v.shape}")
        lams[k] = v
    fisher = fisher or _line_fisher(means, q, var0, sde)

    W, m = features.W, features.m
    norms = np.linalg.norm(W, axis=1)
    live = norms > 0
    unit = np.divide(W, norms[:, None], out=np.zeros_like(W), where=live[:, None])
    rho = np.clip(unit @ unit.T, -1.0, 1.0)
    rho[np.diag_indices(m)] = np.where(live, 1.0, 0.0)
    proj = means @ W.T  # (K, m): w_iᵀc_k
    names = list(lams)
    lam_matrix = np.stack([lams[k] for k in names])  # (W, n_t)
    per_chunk = max(1, _CHUNK_ROWS // q.size)

    def rows():
        for lo in range(0, n, per_chunk):
            ts = grid.t[lo:lo + per_chunk]
            r = np.asarray(sde.r(ts), dtype=float)
            s = np.sqrt(r * r * var0 + np.asarray(sde.sigma2(ts), dtype=float))
            bias = np.stack([features.bias(t) for t in ts])  # (n_c, m)
            mu = (r[:, None, None] * proj[None] + bias[:, None, :]).reshape(-1, m)
            sigma = np.repeat(s[:, None] * norms[None, :], q.size, axis=0)
            w = (grid.w[lo:lo + per_chunk] * lam_matrix[:, lo:lo + per_chunk])[:, :, None] * q[None, None, :]
            yield mu, sigma, w.reshape(len(names), -1)

    gram = relu_gram(rows, rho, rtol=rtol)
    pos = positive_probability(rows, m, len(names))
    info = np.array([fisher(t) for t in grid.t])
    coefs = {k: (gram.G[i] / m, -pos[i][:, None] * W / np.sqrt(m)) for i, k in enumerate(names)}
    return coefs, {k: float(np.sum(grid.w * lams[k] * info)) for k in names}


def two_mode_nd_coefficients(
    mu: float,
    d: int,
    weights: tuple[float, float],
    features: RandomFeatures,
    grid: TimeGrid,
    lam_values: dict[str, np.ndarray],
    direction: np.ndarray | None = None,
    sde: LinearSDE | None = None,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, float]]:
    """:func:`mixture_coefficients` for Theorem 2's target q1 N(-µu, I) + q2 N(µu, I) in R^d.

    The target is :func:`empirical.targets.two_mode_nd` (its checks apply); c uses its exact
    ``fisher_information``.

    Parameters
    ----------
    mu, d, weights, direction
        As in :func:`empirical.targets.two_mode_nd` (direction u, e1 by default).
    features, grid, lam_values, sde
        As in :func:`mixture_coefficients`.

    Returns
    -------
    coefs, consts
        As in :func:`mixture_coefficients`.

    Raises
    ------
    ValueError
        From :func:`empirical.targets.two_mode_nd` or :func:`mixture_coefficients`.

    Examples
    --------
    Under OU, g(t)² = 2, so the 'g2' weighting is the constant 2:

    >>> from empirical.rf.coefficients_nd import two_mode_nd_coefficients
    >>> from empirical.rf.features import draw_features
    >>> from empirical.quadrature import time_grid
    >>> g = time_grid(5.0, 4)
    >>> coefs, consts = two_mode_nd_coefficients(3.0, 3, (0.5, 0.5), draw_features(6, d=3), g, {"g2": 2.0 + 0 * g.t})
    >>> coefs["g2"][1].shape, consts["g2"] > 0
    ((6, 3), True)
    """
    sde = sde or ou(features.T)
    target = two_mode_nd(mu, d, weights, direction=direction, sde=sde)
    u = target.direction
    return mixture_coefficients(np.stack([-mu * u, mu * u]), weights, 1.0, features, grid, lam_values, sde,
                                fisher=target.fisher_information)
