"""Sample-based KL of the reverse-SDE sampler (3): the usual practice, kept for comparison only.

Samples by Euler–Maruyama on the time nodes of :func:`empirical.quadrature.time_steps`; the estimate is the binned KL
Σ_j P_j log(P_j / Q̂_j) over bins of equal p_{t0}-mass (quantile bins, the outer two unbounded, so
that no bin is empty for want of p_{t0}-mass), with P_j the exact bin masses and Q̂_j the sample
frequencies. By data processing it is a lower bound of KL(p_{t0} ‖ q^SDE) at any binning; its
sampling bias is about (bins - 1)/(2N).

References
----------
arXiv:2311.01797, reverse SDE (3); docs/theory.md §4 (sample-based estimates, for comparison only).
"""

from __future__ import annotations

import numpy as np

from ..checks import check_int, check_t0
from ..quadrature import time_steps
from ..scores import ScoreModel
from ..sde import LinearSDE
from ..targets import Target1D


def reverse_sde_samples(sde: LinearSDE, score: ScoreModel, n: int, t_nodes: np.ndarray,
                        rng: np.random.Generator, x_start: np.ndarray | None = None) -> np.ndarray:
    """Euler–Maruyama for (3) from T down to ``t_nodes[0]``; ``x_start`` None draws n from π.

    Parameters
    ----------
    sde : LinearSDE
        The forward SDE (2).
    score : ScoreModel
        The model score driving (3).
    n : int
        Number of samples, >= 1 (used when ``x_start`` is None).
    t_nodes : ndarray
        Increasing times, the last one T.
    rng : numpy.random.Generator
    x_start : ndarray, optional
        Start points at T.

    Returns
    -------
    ndarray
        Samples at ``t_nodes[0]``.
    """
    n = check_int("n", n, 1)
    x = rng.standard_normal(n) if x_start is None else np.array(x_start, dtype=float)
    for t_hi, t_lo in zip(t_nodes[:0:-1], t_nodes[-2::-1]):
        dt, g2 = t_hi - t_lo, float(sde.g2(t_hi))
        x = x + (-float(sde.f(t_hi)) * x + g2 * score(t_hi, x)) * dt + np.sqrt(g2 * dt) * rng.standard_normal(x.size)
    return x


def binned_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Σ_j p_j log(p_j / q_j) along the last axis; +inf where q_j = 0 < p_j.

    Parameters
    ----------
    p, q : ndarray
        Bin probabilities (>= 0) along the last axis, broadcastable.

    Returns
    -------
    ndarray
        The leading shape.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.kl.sampling import binned_kl
    >>> bool(np.isclose(binned_kl(np.array([0.5, 0.5]), np.array([0.25, 0.75])), 0.5 * np.log(4 / 3)))
    True
    """
    with np.errstate(divide="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
    return terms.sum(axis=-1)


def quantile_edges(target: Target1D, t0: float, n_bins: int) -> np.ndarray:
    """The n_bins - 1 inner edges of equal-mass bins of p_{t0} (cdf inverted on a fine grid).

    Parameters
    ----------
    target : Target1D
    t0 : float
        Time in [0, T).
    n_bins : int
        Number of bins, >= 2.

    Returns
    -------
    ndarray of shape (n_bins - 1,)
    """
    x = np.linspace(*target.support(t0, tail=10.0), 20_001)
    return np.interp(np.arange(1, n_bins) / n_bins, target.cdf(t0, x), x)


def bin_masses(target: Target1D, t0: float, inner_edges: np.ndarray) -> np.ndarray:
    """Exact masses of p_{t0} in (-inf, e_0], (e_0, e_1], ..., (e_last, inf).

    Parameters
    ----------
    target : Target1D
    t0 : float
        Time in [0, T).
    inner_edges : ndarray
        Increasing inner edges.

    Returns
    -------
    ndarray of shape (len(inner_edges) + 1,)
        Summing to 1.
    """
    return np.diff(np.concatenate([[0.0], target.cdf(t0, inner_edges), [1.0]]))


def sample_kl(target: Target1D, score: ScoreModel, t0: float = 0.0, n_samples: int = 100_000,
              n_steps: int = 400, n_bins: int = 40, n_boot: int = 400,
              level: float = 0.95, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Binned KL of ``n_samples`` sampler draws against p_{t0}, with a bootstrap percentile interval.

    Bins: ``n_bins`` bins of equal p_{t0}-mass (``quantile_edges``). The bootstrap
    resamples the draws (multinomial on the counts, the same thing) ``n_boot`` times.
    Returns (estimate, (lo, hi)).

    Parameters
    ----------
    target : Target1D
        p0 and its forward SDE; the reference density is p_{t0}.
    score : ScoreModel
        The model score driving the sampler (3).
    t0 : float, default 0.0
        Where the sampler stops, in [0, T).
    n_samples, n_steps : int, default 100_000, 400
        Draws (>= 1) and Euler–Maruyama steps (>= 1, graded towards t0).
    n_bins, n_boot : int, default 40, 400
        Equal-mass bins (>= 2) and bootstrap resamples (>= 1).
    level : float, default 0.95
        Level of the percentile interval, in (0, 1).
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` (draws and bootstrap).

    Returns
    -------
    estimate : float
        The binned KL, a lower bound of K2 up to sampling bias.
    (lo, hi) : tuple of float
        Bootstrap percentile interval.

    Raises
    ------
    ValueError
        If an argument is outside the range above.

    Examples
    --------
    The exact score leaves only the sampling bias, about (bins - 1)/(2N) = 2e-4 here; a score off
    by 0.2 (1 - e^{-t}) comes out near its K2, 0.02 (1 - e^{-2T})² ≈ 0.015:

    >>> from empirical.kl import sample_kl
    >>> from empirical.scores import exact_score
    >>> from empirical.sde import ou
    >>> from empirical.targets import gaussian
    >>> p = gaussian(0.0, 1.0, sde=ou(1.0))
    >>> est, (lo, hi) = sample_kl(p, exact_score(p), n_samples=20_000, n_steps=40, n_bins=10, n_boot=50)
    >>> est < 0.002, lo <= hi
    (True, True)
    >>> shifted = exact_score(gaussian(0.2, 1.0, sde=ou(1.0)))
    >>> est, _ = sample_kl(p, shifted, n_samples=20_000, n_steps=40, n_bins=10, n_boot=50)
    >>> 0.01 < est < 0.02
    True
    """
    t0 = check_t0(t0, target.sde.T)
    n_bins = check_int("n_bins", n_bins, 2)
    n_boot = check_int("n_boot", n_boot, 1)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    x = reverse_sde_samples(target.sde, score, n_samples, time_steps(t0, target.sde.T, n_steps), rng)
    edges = quantile_edges(target, t0, n_bins)
    p = bin_masses(target, t0, edges)
    counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=n_bins)
    q_hat = counts / x.size
    boot = binned_kl(p, rng.multinomial(x.size, q_hat, size=n_boot) / x.size)
    lo, hi = np.quantile(boot, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(binned_kl(p, q_hat)), (float(lo), float(hi))
