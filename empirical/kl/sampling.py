"""Sample-based KL of the reverse-SDE sampler (3): the usual practice, kept for comparison only.

Samples by Euler–Maruyama on the time nodes of :func:`empirical.quadrature.time_steps`; the estimate is the binned KL
Σ_j P_j log(P_j / Q̂_j) over bins of equal p_{t0}-mass (quantile bins, the outer two unbounded, so
that no bin is empty for want of p_{t0}-mass), with P_j the exact bin masses and Q̂_j the sample
frequencies. By data processing it is a lower bound of KL(p_{t0} ‖ q^SDE) at any binning; its
sampling bias is about (bins - 1)/(2N).
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
    """Euler–Maruyama for (3) from T down to ``t_nodes[0]``; ``x_start`` None draws n from π."""
    n = check_int("n", n, 1)
    x = rng.standard_normal(n) if x_start is None else np.array(x_start, dtype=float)
    for t_hi, t_lo in zip(t_nodes[:0:-1], t_nodes[-2::-1]):
        dt, g2 = t_hi - t_lo, float(sde.g2(t_hi))
        x = x + (-float(sde.f(t_hi)) * x + g2 * score(t_hi, x)) * dt + np.sqrt(g2 * dt) * rng.standard_normal(x.size)
    return x


def binned_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Σ_j p_j log(p_j / q_j) along the last axis; +inf where q_j = 0 < p_j."""
    with np.errstate(divide="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(q)), 0.0)
    return terms.sum(axis=-1)


def quantile_edges(target: Target1D, t0: float, n_bins: int) -> np.ndarray:
    """The n_bins - 1 inner edges of equal-mass bins of p_{t0} (cdf inverted on a fine grid)."""
    x = np.linspace(*target.support(t0, tail=10.0), 20_001)
    return np.interp(np.arange(1, n_bins) / n_bins, target.cdf(t0, x), x)


def bin_masses(target: Target1D, t0: float, inner_edges: np.ndarray) -> np.ndarray:
    """Exact masses of p_{t0} in (-inf, e_0], (e_0, e_1], ..., (e_last, inf)."""
    return np.diff(np.concatenate([[0.0], target.cdf(t0, inner_edges), [1.0]]))


def sample_kl(target: Target1D, score: ScoreModel, t0: float = 0.0, n_samples: int = 100_000,
              n_steps: int = 400, n_bins: int = 40, n_boot: int = 400,
              level: float = 0.95, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Binned KL of ``n_samples`` sampler draws against p_{t0}, with a bootstrap percentile interval.

    Bins: ``n_bins`` bins of equal p_{t0}-mass (``quantile_edges``). The bootstrap
    resamples the draws (multinomial on the counts, the same thing) ``n_boot`` times.
    Returns (estimate, (lo, hi)).
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
