"""Model scores for the KL tests: fitted random-ReLU, perturbed exact, linear (THEORY §2, §4)."""

from __future__ import annotations

import numpy as np

from empirical.score_models import PerturbedScore, ReluScore, exact_score, random_relu_features
from empirical.targets import GaussianMixture1D


def fitted_relu(target: GaussianMixture1D, m: int, seed: int, ridge: float = 1e-6, noise: float = 0.0) -> ReluScore:
    """A random-feature score (12) with a by ridge regression on the exact score over (t, x) draws
    from p_t, t ~ U(0, T); ``noise`` adds N(0, noise²) to each a_i (a badly trained model)."""
    rng = np.random.default_rng(seed)
    w, u = random_relu_features(m, rng)
    T = target.sde.T
    t = rng.uniform(0.0, T, 4000)
    x = np.concatenate([target.sample(1, rng, tk) for tk in t])
    feats = np.maximum(x[:, None] * w + u[:, 0] + u[:, 1] * (t[:, None] / T), 0.0) / m
    y = np.concatenate([target.score(tk, np.array([xk])) for tk, xk in zip(t, x)])
    a = np.linalg.solve(feats.T @ feats + ridge * np.eye(m) / m, feats.T @ y)
    return ReluScore(w, u, a + noise * rng.standard_normal(m), T)


def bump_perturbed(target: GaussianMixture1D, eps: float, centre: float = 1.0) -> PerturbedScore:
    """Exact score + eps · h, h(t, x) = (x - c) exp(-(x - c)²/2): a smooth, bounded error."""

    def h(t: float, x: np.ndarray) -> np.ndarray:
        z = np.asarray(x, dtype=float) - centre
        return z * np.exp(-0.5 * z * z)

    def h_dx(t: float, x: np.ndarray) -> np.ndarray:
        z = np.asarray(x, dtype=float) - centre
        return (1.0 - z * z) * np.exp(-0.5 * z * z)

    return PerturbedScore(exact_score(target), h, h_dx, eps)
