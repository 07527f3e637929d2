"""Model scores for the KL tests: fitted random-ReLU, perturbed exact, linear (THEORY §2, §4)."""

from __future__ import annotations

import numpy as np

from empirical.score_models import LinearScore, PerturbedScore, ReluScore, exact_score, random_relu_features
from empirical.sde import ou
from empirical.targets import GaussianMixture1D, gaussian

# The closed-form reference case: p0 = N(0.5, 0.7) under OU with T = 2, and a linear model score
# s = a(t) x + b(t) that is not the exact one (exact: a = -1/V_t, b = mean_t/V_t).
GAUSS = gaussian(0.5, 0.7, sde=ou(2.0))


def linear_a(t: float) -> float:
    return -1.3 + 0.1 * t


def linear_b(t: float) -> float:
    return 0.4 - 0.05 * t


LINEAR = LinearScore(linear_a, linear_b)


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


def kl_normal(m0: float, v0: float, m1: float, v1: float) -> float:
    """KL(N(m0, v0) ‖ N(m1, v1)) in closed form."""
    return 0.5 * (np.log(v1 / v0) + (v0 + (m0 - m1) ** 2) / v1 - 1.0)


def linear_score_laws(sde, a, b, t0: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """(mean, var) at t0 of the reverse SDE (3) and of the ODE sampler (4), both started from π,
    for the linear score s = a(t) x + b(t), by ``solve_ivp`` on their moment / flow-map ODEs.

    SDE, in s = T - t: m' = (-f + g² a) m + g² b, V' = 2(-f + g² a) V + g², m = 0, V = 1 at s = 0.
    ODE: x(T) = α x0 + β with α' = c α, β' = c β - ½ g² b, c = f - ½ g² a, so x0 ~ N(-β/α, 1/α²).
    """
    from scipy.integrate import solve_ivp

    T = sde.T

    def sde_rhs(s, y):
        t = T - s
        k, g2 = -float(sde.f(t)) + float(sde.g2(t)) * a(t), float(sde.g2(t))
        return [k * y[0] + g2 * b(t), 2 * k * y[1] + g2]

    def ode_rhs(t, y):
        g2 = float(sde.g2(t))
        c = float(sde.f(t)) - 0.5 * g2 * a(t)
        return [c * y[0], c * y[1] - 0.5 * g2 * b(t)]

    m, v = solve_ivp(sde_rhs, (0.0, T - t0), [0.0, 1.0], rtol=1e-12, atol=1e-14).y[:, -1]
    alpha, beta = solve_ivp(ode_rhs, (t0, T), [1.0, 0.0], rtol=1e-12, atol=1e-14).y[:, -1]
    return (float(m), float(v)), (float(-beta / alpha), float(1.0 / alpha**2))
