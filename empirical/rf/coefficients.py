"""The coefficients B1, B2 of Lemma 3 for the random-feature model (12).

Exact in x in 1-D, or as sample averages (any d).

With Θ := A/√m, h1 = √λ σ(Wx + Ue(t))/√m and h2 = √λ ∇log p_t(x), B1 = E[h1 h1ᵀ] (m×m) and
B2 = E[h1 h2ᵀ] (m×d), the expectation over t ~ U(t0, T) and x ~ p_t (docs/theory.md §3).

1-D, exact in x (no x-grid):
- B2 by Stein's identity, E_{p_t}[φ_i ∇log p_t] = -w_i P_{p_t}(w_i x + b_i(t) > 0): a CDF at the kink.
- B1 from the partial moments F_k(z) = ∫_{-∞}^z x^k p_t: a pair of ReLUs is jointly active on an
  interval whose ends are kinks k_j = -b_j/w_j or ±∞, and ∫_lo^hi (w_i x + b_i)(w_j x + b_j) p_t
  = H_ij(hi) - H_ij(lo), H_ij(z) = w_i w_j F2 + (w_i b_j + w_j b_i) F1 + b_i b_j F0. H_ij(k_j) enters
  with sign -sign(w_j) exactly when k_j lies inside the active half-line of feature i, and
  H_ij(+∞) exactly when both features point right; so per t node one needs F at the m kinks and
  one m×m masked rank-2 update.
For the empirical loss, p_t is the n-component mixture p̂_t (Stein's lemma on each Gaussian kernel).

References
----------
arXiv:2311.01797, Lemma 3 for the model (12); docs/theory.md §3.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
from scipy import special

from .features import RandomFeatures
from ..quadrature import TimeGrid
from ..targets import GaussianMixture1D, Target1D

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _mixture_moments(mk: np.ndarray, sk: np.ndarray, q: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """F_k(z), k = 0, 1, 2, of Σ q N(mk, sk²) (all sk > 0) with the component sums done as GEMMs."""
    a = (z[:, None] - mk) / sk
    cdf = special.ndtr(a)
    np.square(a, out=a)
    a *= -0.5
    pdf = np.exp(a, out=a)
    C = cdf @ np.stack([q, q * mk, q * (mk**2 + sk**2)], axis=1)
    P = pdf @ np.stack([q * sk, q * sk * mk], axis=1) * _INV_SQRT_2PI
    return C[:, 0], C[:, 1] - P[:, 0], C[:, 2] - P[:, 1] - z * P[:, 0]


def partial_moments(target: Target1D, t: float, z: np.ndarray, chunk: int = 1 << 21) -> tuple[np.ndarray, ...]:
    """F_k(z) = ∫_{-∞}^z x^k p_t(x) dx for k = 0, 1, 2.

    Gaussian mixtures with t > 0 take a vectorised GEMM path (the hot loop of the exact loss);
    every other target uses its own ``partial_moments``.

    Parameters
    ----------
    target : Target1D
        The target p0, diffused to time t.
    t : float
        Time in [0, T].
    z : array_like
        Upper limits.
    chunk : int, default 2**21
        Mixture path: at most about ``chunk`` (point, component) pairs per block, >= 1.

    Returns
    -------
    F0, F1, F2 : ndarray
        Shaped like ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.rf.coefficients import partial_moments
    >>> from empirical.targets import gaussian
    >>> F0, F1, F2 = partial_moments(gaussian(0.0, 1.0), 1.0, np.array([0.0]))
    >>> round(float(F0[0]), 12), round(float(F1[0] * np.sqrt(2 * np.pi)), 12), round(float(F2[0]), 12)
    (0.5, -1.0, 0.5)
    """
    z = np.asarray(z, dtype=float)
    if not isinstance(target, GaussianMixture1D):
        return target.partial_moments(t, z)
    mk, vk = target.components(t)
    if np.any(vk <= 0):
        return target.partial_moments(t, z)
    sk, q = np.sqrt(vk), target.weights
    step = max(1, chunk // mk.size)
    parts = [_mixture_moments(mk, sk, q, z[i : i + step]) for i in range(0, z.size, step)]
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def total_moments(target: Target1D, t: float) -> np.ndarray:
    """(F_0, F_1, F_2) at +∞: 1, E[x_t], E[x_t²] (evaluated far beyond the support, 40 std out).

    Parameters
    ----------
    target : Target1D
    t : float
        Time in [0, T].

    Returns
    -------
    ndarray of shape (3,)
    """
    z = np.array([target.support(t, 40.0)[1]])
    return np.array([f[0] for f in partial_moments(target, t, z)])


def w1d(features: RandomFeatures) -> np.ndarray:
    """The 1-D feature weights w_i (``features.W[:, 0]``), whose kinks -b_i/w_i the exact loss needs.

    Parameters
    ----------
    features : RandomFeatures

    Returns
    -------
    ndarray of shape (m,)

    Raises
    ------
    ValueError
        If ``features.d`` is not 1, or some w_i is 0 (a feature without a kink).
    """
    if features.d != 1:
        raise ValueError(f"the exact-in-x loss is 1-D: features.d must be 1, got {features.d} (use noise_draws / samples)")
    w = features.W[:, 0]
    if np.any(w == 0):
        raise ValueError("W must have no zero entry in 1-D (a feature without a kink); redraw the features")
    return w


_WORKERS = 2
"""Threads over blocks of t nodes (numpy and scipy.special release the GIL). A constant, not the CPU
count, so that the summation order, hence every bit of the result, is the same on every machine."""


def _exact_block(target: Target1D, w: np.ndarray, U: np.ndarray, embed: Callable[[float], np.ndarray], grid: TimeGrid,
                 lam_values: dict[str, np.ndarray], nodes: np.ndarray) -> dict[str, list]:
    """Sums over ``nodes`` of: the masked rank-2 updates (unsymmetrised), B2, and the kernel K of the +∞ term.

    Features come sorted, right-pointing (w > 0) first, so that "k_j lies in feature i's half-line" is
    one comparison per row block. Buffers are reused: per node about five passes over an m×m array.
    """
    m, d_e = w.size, U.shape[1]
    n_right = int(np.sum(w > 0))
    sgn = np.sign(w)
    diag = np.arange(m)
    H, tmp, inside = np.empty((m, m)), np.empty((m, m)), np.empty((m, m), dtype=bool)
    out = {k: [np.zeros((m, m)), np.zeros(m), np.zeros((1 + d_e, 1 + d_e))] for k in lam_values}
    names = list(lam_values)
    for j in nodes:
        t = grid.t[j]
        e = embed(t)
        b = U @ e
        kink = -b / w
        F0, F1, F2 = partial_moments(target, t, kink)
        coefs = [grid.w[j] * lam_values[k][j] for k in names]
        # H[i, j] = coef · H_ij(k_j) with the sign -sign(w_j) folded in (module docstring).
        scale = -sgn * coefs[0]
        np.multiply(w[:, None], scale * (w * F2 + b * F1), out=H)
        np.multiply(b[:, None], scale * (w * F1 + b * F0), out=tmp)
        H += tmp
        np.less(kink[:n_right, None], kink, out=inside[:n_right])
        np.greater(kink[n_right:, None], kink, out=inside[n_right:])
        # A feature paired with itself: both "ends" are its own kink, each counted with weight 1/2.
        inside[diag, diag] = False
        half_diag = 0.5 * H[diag, diag]
        np.multiply(H, inside, out=H)
        mu0, mu1, mu2 = total_moments(target, t)
        # H_ij(+∞) = [w_i, u_i] K_t [w_j, u_j]ᵀ with K_t = [[μ2, μ1 eᵀ], [μ1 e, μ0 e eᵀ]] (b = U e).
        K = np.block([[np.array([[mu2]]), mu1 * e[None, :]], [mu1 * e[:, None], mu0 * np.outer(e, e)]])
        p_active = np.where(w > 0, 1.0 - F0, F0)
        for k, coef in zip(names, coefs):
            acc = out[k]
            ratio = coef / coefs[0]
            acc[0] += H if ratio == 1.0 else np.multiply(H, ratio, out=tmp)
            acc[0][diag, diag] += ratio * half_diag
            acc[1] -= coef * w * p_active
            acc[2] += coef * K
    return out


def exact_coefficients(
    target: Target1D, features: RandomFeatures, grid: TimeGrid, lam_values: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """B1 (m, m) and B2 (m, 1) for each weighting, exact in x (module docstring), one pass over t.

    Parameters
    ----------
    target : Target1D
        p0 (or p̂0 for the empirical loss) and its forward SDE.
    features : RandomFeatures
        Frozen features with d = 1 and no zero w_i (:func:`w1d`).
    grid : TimeGrid
        The t-quadrature (:func:`empirical.quadrature.time_grid`).
    lam_values : dict of name -> ndarray
        λ at the nodes of ``grid`` for each weighting.

    Returns
    -------
    dict of name -> (B1, B2)

    Raises
    ------
    ValueError
        From :func:`w1d`.
    """
    w = w1d(features)
    m = w.size
    order = np.argsort(w <= 0, kind="stable")
    back = np.argsort(order)
    w, U = w[order], features.U[order]
    blocks = np.array_split(np.arange(grid.t.size), _WORKERS)
    with ThreadPoolExecutor(_WORKERS) as pool:
        parts = list(pool.map(lambda nodes: _exact_block(target, w, U, features.embed, grid, lam_values, nodes),
                              blocks))
    Z = np.concatenate([w[:, None], U], axis=1) * (w > 0)[:, None]
    out = {}
    for k in lam_values:
        X, b2, K = (sum(p[k][i] for p in parts) for i in range(3))
        B1 = (X + X.T + Z @ K @ Z.T) / m
        out[k] = (B1[np.ix_(back, back)], b2[back, None] / np.sqrt(m))
    return out


def sample_coefficients(
    features: RandomFeatures,
    grid: TimeGrid,
    lam_values: dict[str, np.ndarray],
    draw: Callable[[int, float], tuple[np.ndarray, np.ndarray]],
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, float]]:
    """(B1, B2) and c as sample averages: ``draw(j, t)`` gives points x (N, d) and regression targets y (N, d).

    Parameters
    ----------
    features : RandomFeatures
        Frozen features (any d).
    grid : TimeGrid
        The t-quadrature.
    lam_values : dict of name -> ndarray
        λ at the nodes of ``grid`` for each weighting.
    draw : callable (j, t) -> (x, y)
        Samples at the j-th node: y = ∇log p_t(x) (population) or the DSM target -ε/σ_t (empirical).

    Returns
    -------
    coefs : dict of name -> (B1, B2)
    consts : dict of name -> float
        The constant c of Lemma 3 for each weighting.
    """
    m, d = features.m, features.d
    acc = {k: [np.zeros((m, m)), np.zeros((m, d)), 0.0] for k in lam_values}
    for j, t in enumerate(grid.t):
        x, y = draw(j, t)
        phi = features.phi(t, x)
        n = x.shape[0]
        G1, G2, g0 = phi.T @ phi / (n * m), phi.T @ y / (n * np.sqrt(m)), float(np.sum(y * y)) / n
        for k, lam in lam_values.items():
            coef = grid.w[j] * lam[j]
            acc[k][0] += coef * G1
            acc[k][1] += coef * G2
            acc[k][2] += coef * g0
    return {k: (v[0], v[1]) for k, v in acc.items()}, {k: v[2] for k, v in acc.items()}
