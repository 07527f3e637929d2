"""Gram matrices of Gaussian ReLU features by the Mehler (Hermite) series, with a rigorous error bound.

Lemma 3's B1 for a Gaussian mixture (the population target, or the empirical measure p̂_t, a mixture
of n Gaussians N(r x_i, σ_t² I)) is a weighted sum over rows r = (t node, component) of

    G_jk = Σ_r ω_r E[relu(z_j) relu(z_k)],   (z_j, z_k) ~ N((μ_rj, μ_rk), (σ_rj², ρ_jk σ_rj σ_rk, σ_rk²)),

with a correlation ρ_jk = w_jᵀw_k/(‖w_j‖‖w_k‖) that is the same on every row. Writing
z = μ + σX, X standard normal, Mehler's formula expands the bivariate moment in ρ:

    E[relu(z_j) relu(z_k)] = Σ_{l ≥ 0} ρ_jk^l ã_l(j) ã_l(k),   ã_l = E[relu(μ + σX) He_l(X)] / √(l!),

and by Stein's identity (E[f(X) He_l(X)] = E[f'(X) He_{l-1}(X)]) the coefficients are closed form,
with h = μ/σ:

    ã_0 = μ Φ(h) + σ φ(h),   ã_1 = σ Φ(h),   ã_l = σ φ(h) ψ_{l-2}(-h) / √(l(l - 1))  (l >= 2),

ψ_k = He_k/√(k!) the normalised probabilists' Hermite polynomials. So the series part of G is
Σ_l ρ^{∘l} ∘ (Ã_lᵀ Ω Ã_l): one symmetric rank-N update (a BLAS syrk) per term instead of N·m²/2
bivariate normal CDFs. Parseval (Σ_l ã_l² = E[relu(z)²] = (μ² + σ²)Φ(h) + μσφ(h)) bounds the
remainder after L terms, by Cauchy–Schwarz over rows and l,

    |G_jk - Σ_{l<=L} ...| <= |ρ_jk|^{L+1} √(τ_j τ_k),   τ_j = Σ_r ω_r (E[relu(z_rj)²] - Σ_{l<=L} ã_l(rj)²),

which is what :attr:`ReluGram.error_bound` reports (Frobenius norm over the series pairs). Pairs whose
|ρ| is close to 1 converge slowly: they are computed exactly (:func:`~empirical.rf.gaussian_relu.relu_product_moment`),
and so is the diagonal (ρ = 1, E[relu²] in closed form). The cut in |ρ| and the number of terms are
chosen before the main pass to meet ``rtol`` at the least estimated cost, from an a-priori form of the
bound with τ_j replaced by its upper bound D_j = G_jj.

Measured (tests/empirical/test_relu_gram.py): against the all-exact Gram the error is below the
bound, and the bound below ``rtol`` relative to ‖G‖_F; d = 1 (every |ρ| = 1) is all exact.

References
----------
F. G. Mehler (1866); R. O'Donnell, "Analysis of Boolean Functions" (2014), §11.2 (Hermite expansion of
correlated Gaussians). Y. Cho and L. K. Saul, NeurIPS 2009 (the arc-cosine kernel, the μ = 0 case).
arXiv:2311.01797, model (12) and Lemma 3; docs/theory.md §3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
from scipy import special
from threadpoolctl import threadpool_limits

from .gaussian_relu import relu_mean, relu_positive_prob, relu_product_moment

Rows = Callable[[], Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]]
"""A callable returning an iterable of chunks (mu (N_c, m), sigma (N_c, m), weights (W, N_c)); called twice."""

MAX_TERMS = 48
RTOL = 1e-8
# Cost model (measured on 2 shared cores): one syrk of an (N, m) block costs ~1.1e-11 s per N·m²,
# building one coefficient block ~5e-9 s per N·m, one exact bivariate moment ~5.5e-7 s per row·pair.
_SYRK, _ELEM, _PAIR = 1.1e-11, 5e-9, 5.5e-7
_N_BINS = 256
_PAIR_BLOCK = 2_000_000
_FLUSH = 1e-150  # below it a value or its square (in Parseval sums, in the syrk) would be subnormal: ~100x slower arithmetic
_SAMPLE_PER_CHUNK = 32
_THREADED_M = 512


@dataclass(frozen=True)
class ReluGram:
    """G (W, m, m) and the Frobenius bound on its error per weighting.

    Attributes
    ----------
    G : ndarray of shape (W, m, m)
        Σ_r ω_r E[relu(z_j) relu(z_k)] for each of the W weight vectors; exactly symmetric.
    error_bound : ndarray of shape (W,)
        ‖G - G_exact‖_F <= error_bound (the series remainder over the series pairs; exact pairs and
        the diagonal contribute only round-off).
    terms : int
        Series terms used (l = 0 .. terms - 1; 0 when every pair was computed exactly).
    exact_pairs : int
        Off-diagonal pairs j < k computed exactly (|ρ_jk| above the cut).
    cut : float
        Pairs with |ρ| > cut were computed exactly.
    """

    G: np.ndarray
    error_bound: np.ndarray
    terms: int
    exact_pairs: int
    cut: float


def _second_moment(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """E[relu(μ + σX)²] = (μ² + σ²)Φ(h) + μσφ(h), h = μ/σ; max(μ, 0)² at σ = 0."""
    live = sigma > 0
    h = np.divide(mu, sigma, out=np.zeros_like(mu), where=live)
    phi = np.exp(-0.5 * h * h) / np.sqrt(2.0 * np.pi)
    return np.where(live, (mu * mu + sigma * sigma) * special.ndtr(h) + mu * sigma * phi, np.maximum(mu, 0.0) ** 2)


def _coefficients(mu: np.ndarray, sigma: np.ndarray, terms: int) -> Iterator[np.ndarray]:
    """ã_0, ã_1, ..., ã_{terms-1} of the rows (module docstring), each of the shape of ``mu``."""
    if terms <= 0:
        return
    yield relu_mean(mu, sigma)
    if terms == 1:
        return
    live = sigma > 0
    h = np.divide(mu, sigma, out=np.zeros_like(mu), where=live)
    yield np.where(live, sigma * special.ndtr(h), 0.0)
    scale = np.where(live, sigma * np.exp(-0.5 * h * h) / np.sqrt(2.0 * np.pi), 0.0)
    scale[np.abs(scale) < _FLUSH] = 0.0
    # φ(h) underflows to 0 for |h| > 38 while ψ_k(-h) may overflow: the product is 0 there
    x, prev, cur = np.where(scale > 0, -h, 0.0), np.zeros_like(h), np.ones_like(h)
    for l in range(2, terms):
        coef = scale * cur / np.sqrt(l * (l - 1.0))
        coef[np.abs(coef) < _FLUSH] = 0.0  # subnormal entries slow the syrk ~10× (measured)
        yield coef
        k = l - 2  # cur = ψ_k(x); ψ_{k+1} = (x ψ_k - √k ψ_{k-1}) / √(k+1)
        prev, cur = cur, (x * cur - np.sqrt(k) * prev) / np.sqrt(k + 1.0)


def _tail_profile(mu: np.ndarray, sigma: np.ndarray, w: np.ndarray, max_terms: int) -> np.ndarray:
    """f[w, L-1] = max_j τ_j(L)/D_j on the given rows, L = 1..max_terms (the fraction of E[relu²] left)."""
    D = w @ _second_moment(mu, sigma)
    partial, out = np.zeros_like(mu), []
    for coef in _coefficients(mu, sigma, max_terms):
        partial += coef * coef
        left = w @ np.maximum(_second_moment(mu, sigma) - partial, 0.0) if not out else D - w @ partial
        out.append(np.max(np.divide(np.maximum(left, 0.0), D, out=np.zeros_like(D), where=D > 0), axis=1))
    return np.stack(out, axis=1)


def _plan(rho: np.ndarray, D: np.ndarray, profile: np.ndarray, n_rows: int, rtol: float) -> tuple[float, int]:
    """(cut, terms) of least estimated cost whose estimated bound meets ``rtol`` for every weighting.

    Estimated bound after L terms: f(L)² Σ_{series pairs} |ρ|^{2L} D_j D_k, with f the tail profile of a
    subsample of rows and |ρ| bounded above bin by bin; ‖G‖_F >= ‖D‖ (G has non-negative entries).
    The plan is only an estimate: :func:`relu_gram` checks the rigorous bound afterwards.
    """
    m, max_terms = rho.shape[0], profile.shape[1]
    off = ~np.eye(m, dtype=bool)
    a = np.abs(rho[off])
    if a.size == 0:
        return 1.0, 0
    edges = np.linspace(0.0, 1.0, _N_BINS + 1)
    which = np.minimum(np.searchsorted(edges, a, side="left") - 1, _N_BINS - 1).clip(0)
    counts = np.bincount(which, minlength=_N_BINS)
    mass = np.stack([np.bincount(which, weights=np.outer(Dw, Dw)[off], minlength=_N_BINS) for Dw in D])
    target = (rtol * np.linalg.norm(D, axis=1)) ** 2
    cum_pairs = np.cumsum(counts[::-1])[::-1]  # pairs in bins b.. (exact when the cut is edges[b])
    per_term = n_rows * D.shape[0] * (m * m * _SYRK + m * _ELEM)
    best = (-1.0, 0, n_rows * a.size / 2 * _PAIR)  # everything exact (every |ρ| > -1)
    L = np.arange(1, max_terms + 1)
    powers = edges[1:][None, :] ** (2 * L)[:, None] * (profile[:, :, None] ** 2).max(axis=0)[None]  # (1, L, bins)
    for b in range(1, _N_BINS + 1):  # series on bins < b, exact on bins >= b
        bound = mass[:, None, :b] * powers[:, :, :b]  # (W, L, b)
        ok = np.all(bound.sum(axis=2) <= target[:, None], axis=0)
        if not ok.any():
            continue
        terms = int(np.argmax(ok)) + 1
        exact = cum_pairs[b] / 2 if b < _N_BINS else 0
        cost = terms * per_term + n_rows * exact * _PAIR
        if cost < best[2]:
            best = (float(edges[b]) if b < _N_BINS else 1.0, terms, cost)
    return best[0], best[1]


def _check_args(rho, rtol, max_terms) -> np.ndarray:
    if not (np.isscalar(rtol) and 0 < rtol < 1):
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    if not (isinstance(max_terms, (int, np.integer)) and max_terms >= 1):
        raise ValueError(f"max_terms must be an integer >= 1, got {max_terms!r}")
    rho = np.asarray(rho, dtype=float)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1] or np.any(np.abs(rho) > 1):
        raise ValueError(f"rho must be a square matrix with |rho| <= 1, got shape {rho.shape}")
    return rho


def _series(rows: Rows, rho: np.ndarray, G: np.ndarray, first: int, last: int) -> np.ndarray:
    """Add terms l = first .. last - 1 of the series to G (in place); return τ (W, m) after ``last`` terms."""
    if rho.shape[0] < _THREADED_M:
        # Thin syrks gain nothing from a second BLAS thread and lose up to 5x when the cores are shared
        # (measured: 9.3 s single-threaded against 52 s with 2 threads at m = 64 under a load of 6).
        with threadpool_limits(1, "blas"):
            return _series_terms(rows, rho, G, first, last)
    return _series_terms(rows, rho, G, first, last)


def _series_terms(rows: Rows, rho: np.ndarray, G: np.ndarray, first: int, last: int) -> np.ndarray:
    tail = None
    for mu, sigma, w in rows():
        w = np.asarray(w, dtype=float)
        roots = np.sqrt(w)
        partial = np.zeros_like(mu)
        power = rho ** first if first else np.ones_like(rho)
        for l, coef in enumerate(_coefficients(mu, sigma, last)):
            partial += coef * coef
            if l < first:
                continue
            for k in range(w.shape[0]):
                X = roots[k][:, None] * coef
                G[k] += power * (X.T @ X)
            power = power * rho
            power[np.abs(power) < _FLUSH] = 0.0  # subnormal ρ^l would slow every later product
        part = w @ np.maximum(_second_moment(mu, sigma) - partial, 0.0)
        tail = part if tail is None else tail + part
    return tail


def _exact_pairs(rows: Rows, rho: np.ndarray, ei: np.ndarray, ej: np.ndarray, n_weights: int) -> np.ndarray:
    """Σ_r ω_{w,r} E[relu(z_ri) relu(z_rj)] for the pairs (ei, ej) exactly, shape (W, P)."""
    out = np.zeros((n_weights, ei.size))
    if not ei.size:
        return out
    for mu, sigma, w in rows():
        w = np.asarray(w, dtype=float)
        step = max(1, _PAIR_BLOCK // max(mu.shape[0], 1))  # bound the (rows × pairs) temporaries
        for s in range(0, ei.size, step):
            a, b = ei[s:s + step], ej[s:s + step]
            out[:, s:s + step] += w @ relu_product_moment(mu[:, a], mu[:, b], sigma[:, a], sigma[:, b], rho[a, b])
    return out


def relu_gram(rows: Rows, rho: np.ndarray, rtol: float = RTOL, max_terms: int = MAX_TERMS) -> ReluGram:
    """G_w = Σ_r ω_{w,r} E[relu(z_rj) relu(z_rk)] for W weightings, by the Mehler series (module docstring).

    The cut and the number of terms are planned from a subsample of rows; if the rigorous bound then
    misses ``rtol``, the series is extended (up to ``max_terms``) and, past that, the pairs with the
    largest bounds are computed exactly until it is met: the returned bound is always <= rtol·‖G‖_F.

    Parameters
    ----------
    rows : callable
        ``rows()`` returns an iterable of chunks (mu (N_c, m), sigma (N_c, m) >= 0, weights (W, N_c) >= 0);
        it is called several times and must give the same chunks each time.
    rho : ndarray of shape (m, m)
        Correlations of the pre-activations, symmetric, |ρ| <= 1, diagonal 1 for features with σ > 0.
    rtol : float, default 1e-8
        Guaranteed bound on ‖G - G_exact‖_F / ‖G‖_F, in (0, 1).
    max_terms : int, default 48
        Most series terms.

    Returns
    -------
    ReluGram

    Raises
    ------
    ValueError
        If ``rtol`` is not in (0, 1), ``max_terms`` < 1, or ``rho`` is not a square matrix with |ρ| <= 1.

    Examples
    --------
    Two features at 60° and one row with μ = 0, σ = 1: the arc-cosine kernel (Cho & Saul 2009):

    >>> import numpy as np
    >>> from empirical.rf.relu_gram import relu_gram
    >>> rho = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> g = relu_gram(lambda: [(np.zeros((1, 2)), np.ones((1, 2)), np.ones((1, 1)))], rho, rtol=1e-12)
    >>> bool(abs(g.G[0, 0, 1] - (np.sqrt(0.75) + (np.pi - np.arccos(0.5)) * 0.5) / (2 * np.pi)) < 1e-12)
    True
    """
    rho = _check_args(rho, rtol, max_terms)
    m = rho.shape[0]
    D, n_rows, sample = None, 0, []
    for mu, sigma, w in rows():
        w = np.asarray(w, dtype=float)
        part = w @ _second_moment(mu, sigma)
        D = part if D is None else D + part
        n_rows += mu.shape[0]
        step = max(1, mu.shape[0] // _SAMPLE_PER_CHUNK)
        sample.append((mu[::step], sigma[::step], w[:, ::step]))
    profile = _tail_profile(*(np.concatenate(v, axis=-2 if i < 2 else -1) for i, v in enumerate(zip(*sample))),
                            max_terms)
    cut, terms = _plan(rho, D, profile, n_rows, rtol)
    iu, ju = np.triu_indices(m, 1)
    pick = np.abs(rho[iu, ju]) > cut
    series = np.ones((m, m), dtype=bool)
    series[np.diag_indices(m)] = False
    series[iu[pick], ju[pick]] = series[ju[pick], iu[pick]] = False
    G = np.zeros((D.shape[0], m, m))
    done, tail = 0, D.copy()
    while True:
        if terms > done:
            tail = _series(rows, rho, G, done, terms)
            done = terms
        tail_r = tail + 4 * max(done, 1) * np.finfo(float).eps * D  # round-off of the Parseval difference
        contrib = np.where(series, np.abs(rho) ** (2 * done), 0.0)[None] * tail_r[:, :, None] * tail_r[:, None, :]
        target = (rtol * np.linalg.norm(np.maximum(G, 0) + np.eye(m) * D[:, None, :], axis=(1, 2))) ** 2
        if np.all(contrib.sum(axis=(1, 2)) <= target) or not series.any():
            break
        if done < max_terms:
            terms = min(max_terms, 2 * done + 1)
            continue
        worst = np.argsort(contrib.max(axis=0), axis=None)[::-1]  # move the largest pairs to the exact set
        left = np.cumsum(np.sort(contrib.sum(axis=0), axis=None)[::-1])
        k = int(np.searchsorted(-(contrib.sum(axis=(0, 1, 2)) - left), -target.min())) + 1
        jj, kk = np.unravel_index(worst[:k], (m, m))
        series[jj, kk] = series[kk, jj] = False
    ei, ej = np.nonzero(np.triu(~series, 1))
    exact = _exact_pairs(rows, rho, ei, ej, D.shape[0])
    bound = np.sqrt(contrib.sum(axis=(1, 2)) if series.any() else np.zeros(D.shape[0]))
    for k in range(D.shape[0]):
        G[k] = 0.5 * (G[k] + G[k].T)
        G[k][np.diag_indices(m)] = D[k]
        G[k][ei, ej] = G[k][ej, ei] = exact[k]
    return ReluGram(G, bound, done, int(ei.size), float(cut))


def positive_probability(rows: Rows, m: int, n_weights: int) -> np.ndarray:
    """Σ_r ω_{w,r} P(z_rj > 0), shape (W, m): the B2 factor of Stein's identity (docs/theory.md §3)."""
    out = np.zeros((n_weights, m))
    for mu, sigma, w in rows():
        out += np.asarray(w, dtype=float) @ relu_positive_prob(mu, sigma)
    return out
