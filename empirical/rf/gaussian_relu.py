"""Exact Gaussian moments of ReLU features: E[relu(z)], P(z > 0) and E[relu(z1) relu(z2)].

For the random-feature model (12) and a Gaussian component N(c, s² I) of p_t in R^d, the feature
pre-activations z_i = w_iᵀx + b_i are jointly Gaussian with mean μ_i = w_iᵀc + b_i, standard deviation
σ_i = s‖w_i‖ and correlation ρ_ij = w_iᵀw_j / (‖w_i‖‖w_j‖). Lemma 3's B1 needs E[relu(z_i) relu(z_j)];
B2 needs P(z_i > 0) through Stein's identity E[relu(z_i)(x − c)] = s² w_i P(z_i > 0) (docs/theory.md §3).

Notation: Φ, φ are the standard normal CDF and density, h = μ/σ, r = √(1 − ρ²), and
Φ₂(h1, h2; ρ) = P(Y1 < h1, Y2 < h2) for a standard bivariate normal with correlation ρ.

Accuracy (measured by tests/empirical/test_gaussian_relu.py): every function is exact in closed
form; the floating-point error is absolute, about 1e-15 on the scale of the result (σ for the mean,
σ1σ2(1 + h1² + h2²) for the product moment). Relative accuracy is 1e-8 or better wherever the result
is not itself below ~1e-6 of that scale; in the far lower tail (both h ≪ 0, the features almost never
active) the closed forms cancel and only the absolute bound holds. Nothing returns NaN for finite
input, σ ≥ 0 and |ρ| ≤ 1.

Cost: a few ``ndtr`` and one bivariate CDF (two ``owens_t``) per broadcast pair.

References
----------
D. B. Owen, "Tables for computing bivariate normal probabilities", Ann. Math. Statist. 27 (1956)
(Φ₂ through Owen's T). Y. Cho and L. K. Saul, "Kernel methods for deep learning", NeurIPS 2009
(the arc-cosine kernel, the μ = 0 case). S. Rosenbaum, "Moments of a truncated bivariate normal
distribution", JRSS B 23 (1961). arXiv:2311.01797, Lemma 3; docs/theory.md §3.
"""

from __future__ import annotations

import numpy as np
from scipy import special

_INV_2PI = 1.0 / (2.0 * np.pi)
_TINY = 1e-150  # stands in for an exact zero argument of Φ₂ (its square is still a positive double)


def _pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * np.square(x)) * np.sqrt(_INV_2PI)


def _standardise(mu, sigma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """h = μ/σ (0 where σ = 0), the σ > 0 mask and the broadcast σ; σ < 0 is refused."""
    mu, sigma = np.broadcast_arrays(np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float))
    if np.any(sigma < 0):
        raise ValueError("sigma must be non-negative")
    live = sigma > 0
    h = np.divide(mu, sigma, out=np.zeros_like(mu), where=live)
    return h, live, sigma


def relu_positive_prob(mu, sigma) -> np.ndarray:
    """P(z > 0) for z ~ N(μ, σ²): Φ(μ/σ), and 1{μ > 0} at σ = 0.

    With P(z_i > 0) Stein's identity gives E[relu(w_iᵀx + b_i)(x − c)] = s² w_i P(z_i > 0) for
    x ~ N(c, s² I): the B2 entries of a Gaussian component (docs/theory.md §3).

    Examples
    --------
    >>> relu_positive_prob([0.0, 1.0, -1.0], [1.0, 0.0, 0.0]).tolist()
    [0.5, 1.0, 0.0]
    """
    h, live, _ = _standardise(mu, sigma)
    mu = np.broadcast_to(np.asarray(mu, dtype=float), h.shape)
    return np.where(live, special.ndtr(h), (mu > 0).astype(float))


def relu_mean(mu, sigma) -> np.ndarray:
    """E[relu(z)] for z ~ N(μ, σ²): μ Φ(μ/σ) + σ φ(μ/σ), and max(μ, 0) at σ = 0.

    Derivation: E[(μ + σy) 1{y > −h}] = μ Φ(h) + σ E[y 1{y > −h}] = μ Φ(h) + σ φ(h), h = μ/σ.
    For h ≪ 0 the two terms cancel to σ φ(h)/h² (1 + O(1/h²)); the relative error is about
    h² · 1e-16.

    Examples
    --------
    >>> bool(np.isclose(relu_mean(0.0, 1.0), 1 / np.sqrt(2 * np.pi)))
    True
    >>> relu_mean([-1.0, 2.0], 0.0).tolist()
    [0.0, 2.0]
    """
    h, live, sigma = _standardise(mu, sigma)
    mu = np.broadcast_to(np.asarray(mu, dtype=float), h.shape)
    return np.where(live, sigma * (h * special.ndtr(h) + _pdf(h)), np.maximum(mu, 0.0))


def bivariate_normal_cdf(h1, h2, rho) -> np.ndarray:
    """Φ₂(h1, h2; ρ) = P(Y1 < h1, Y2 < h2), (Y1, Y2) standard bivariate normal, correlation ρ.

    Owen (1956): with r = √(1 − ρ²), a1 = (h2 − ρh1)/(h1 r), a2 = (h1 − ρh2)/(h2 r),

        Φ₂ = ½Φ(h1) + ½Φ(h2) − T(h1, a1) − T(h2, a2) − β,

    β = 0 if h1h2 > 0 or (h1h2 = 0 and h1 + h2 ≥ 0), else ½; T is Owen's T function
    (``scipy.special.owens_t``). An exact zero h is replaced by 1e-150 (the formula is continuous
    there; it then gives ¼ + arcsin(ρ)/(2π) at h1 = h2 = 0). At |ρ| = 1: Φ(min(h1, h2)) for ρ = 1,
    max(0, Φ(h1) − Φ(−h2)) for ρ = −1. Absolute error ~1e-16 (against scipy's
    ``multivariate_normal.cdf`` to 1e-7, its own tolerance); not relatively accurate when Φ₂ is far
    below min(Φ(h1), Φ(h2)).

    Examples
    --------
    >>> float(bivariate_normal_cdf(0.0, 0.0, 0.5))  # ¼ + arcsin(½)/(2π) = 1/3
    0.3333333333333333
    >>> float(bivariate_normal_cdf(1.0, 2.0, 0.0)) == float(special.ndtr(1.0) * special.ndtr(2.0))
    True
    """
    h1, h2, rho = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (h1, h2, rho)))
    if np.any(np.abs(rho) > 1):
        raise ValueError("|rho| must be at most 1")
    r = np.sqrt((1.0 - rho) * (1.0 + rho))
    degenerate = r == 0
    rs = np.where(degenerate, 1.0, r)
    a = np.where(h1 == 0, _TINY, h1)
    b = np.where(h2 == 0, _TINY, h2)
    with np.errstate(over="ignore"):
        t = special.owens_t(a, (b - rho * a) / (a * rs)) + special.owens_t(b, (a - rho * b) / (b * rs))
    beta = np.where(a * b > 0, 0.0, 0.5)
    owen = 0.5 * special.ndtr(a) + 0.5 * special.ndtr(b) - t - beta
    plus = special.ndtr(np.minimum(h1, h2))
    minus = np.where(h1 + h2 > 0, np.where(h1 <= 0, special.ndtr(h1) - special.ndtr(-h2),
                                           special.ndtr(h2) - special.ndtr(-h1)), 0.0)
    out = np.where(degenerate, np.where(rho > 0, plus, minus), owen)
    return np.clip(out, 0.0, 1.0)


def _conditional_cdf(num: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Φ(num/r), with the |ρ| = 1 limits: 1, 0 or ½ (num > 0, < 0, = 0; the ½ cancels out exactly)."""
    live = r > 0
    x = np.divide(num, r, out=np.zeros_like(num), where=live)
    return np.where(live, special.ndtr(x), np.where(num > 0, 1.0, np.where(num < 0, 0.0, 0.5)))


def relu_product_moment(mu1, mu2, sigma1, sigma2, rho) -> np.ndarray:
    """E[relu(z1) relu(z2)] for jointly Gaussian z_k ~ N(μ_k, σ_k²) with correlation ρ; broadcasts.

    With h_k = μ_k/σ_k, r = √(1 − ρ²), A1 = (h1 − ρh2)/r, A2 = (h2 − ρh1)/r:

        E[relu(z1) relu(z2)] = σ1σ2 [ (h1h2 + ρ) Φ₂(h1, h2; ρ) + h1 φ(h2) Φ(A1) + h2 φ(h1) Φ(A2)
                                      + r φ(h1) φ(A2) ],

    where r φ(h1) φ(A2) = r/(2π) exp(−(h1² − 2ρh1h2 + h2²)/(2r²)) is symmetric in (1, 2).

    Derivation: z_k = σ_k (y_k + h_k) with (y1, y2) standard, correlation ρ, so the moment is
    σ1σ2 E[(y1 + h1)(y2 + h2) 1_R], R = {y1 > −h1, y2 > −h2}, and P(R) = Φ₂(h1, h2; ρ) since −y has
    the same law. Stein's identity for a bivariate normal, E[y1 g(y)] = E[∂1 g] + ρ E[∂2 g], gives
    E[y1 1_R] = φ(h1)Φ(A2) + ρ φ(h2)Φ(A1) (the ∂'s are δ's on the edges of R; y2 | y1 = −h1 is
    N(−ρh1, r²)) and E[y1 y2 1_R] = ρΦ₂ + r φ(h1)φ(A2) − ρh1 φ(h1)Φ(A2) − ρh2 φ(h2)Φ(A1). Summing
    E[y1y2 1_R] + h1 E[y2 1_R] + h2 E[y1 1_R] + h1h2 Φ₂, the ρh φΦ terms cancel and the formula remains.
    Checks (all tested): μ = 0 gives the arc-cosine kernel of Cho & Saul (2009),
    σ1σ2/(2π) (√(1 − ρ²) + (π − arccos ρ) ρ), since Φ₂(0, 0; ρ) = (π − arccos ρ)/(2π); ρ = 1 with
    equal (μ, σ) gives E[relu(z)²] = (μ² + σ²)Φ(h) + μσφ(h); ρ = 0 gives the product of the means.

    Limits: at |ρ| = 1 the Φ(A_k) become 1, 0 or ½ (the last where it cancels) and the r-term is 0;
    at σ_k = 0, z_k = μ_k is constant and the moment is relu(μ_k) E[relu(z_other)].
    Accuracy and timing: see the module docstring (absolute ~1e-15 σ1σ2(1 + h1² + h2²); 0.5-0.8 s
    for 1e6 pairs).

    Examples
    --------
    >>> m = relu_product_moment(0.0, 0.0, 1.0, 1.0, 0.5)
    >>> bool(np.isclose(m, (np.sqrt(0.75) + (np.pi - np.arccos(0.5)) * 0.5) / (2 * np.pi)))
    True
    >>> relu_product_moment(np.zeros((3, 1)), np.zeros(4), 1.0, 2.0, 0.0).shape
    (3, 4)
    """
    h1, live1, s1 = _standardise(mu1, sigma1)
    h2, live2, s2 = _standardise(mu2, sigma2)
    h1, h2, s1, s2, live1, live2, rho = np.broadcast_arrays(h1, h2, s1, s2, live1, live2,
                                                            np.asarray(rho, dtype=float))
    if np.any(np.abs(rho) > 1):
        raise ValueError("|rho| must be at most 1")
    r = np.sqrt((1.0 - rho) * (1.0 + rho))
    c1, c2 = _conditional_cdf(h1 - rho * h2, r), _conditional_cdf(h2 - rho * h1, r)
    a2 = np.divide(h2 - rho * h1, r, out=np.zeros_like(h1), where=r > 0)
    tail = np.where(r > 0, r * _pdf(h1) * _pdf(a2), 0.0)
    core = ((h1 * h2 + rho) * bivariate_normal_cdf(h1, h2, rho) + h1 * _pdf(h2) * c1
            + h2 * _pdf(h1) * c2 + tail)
    both = s1 * s2 * np.maximum(core, 0.0)  # the moment is ≥ 0; far-tail rounding can dip below
    m1, m2 = (np.broadcast_to(np.asarray(m, dtype=float), h1.shape) for m in (mu1, mu2))
    one_fixed = np.where(live1, relu_mean(m1, s1) * np.maximum(m2, 0.0), np.maximum(m1, 0.0) * relu_mean(m2, s2))
    return np.where(live1 & live2, both, one_fixed)
