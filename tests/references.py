"""Independent references shared by the tests: model scores with closed-form laws (linear, perturbed
exact), a fitted random-feature score, closed-form KLs, and the same-run benchmark ratio.

Nothing here is used by the package: these are the second methods the tests compare it with.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from empirical.rf.features import RandomFeatures, RFScore, rf_score
from empirical.scores import ScoreModel, exact_score
from empirical.sde import ou
from empirical.targets import Target1D, gaussian


@dataclass(frozen=True)
class LinearScore:
    """s(t, x) = a(t) x + b(t): keeps every Gaussian Gaussian under (3) and (4)."""

    a: Callable[[float], float]
    b: Callable[[float], float]

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.a(t) * np.asarray(x, dtype=float) + self.b(t)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        return np.full(np.shape(x), float(self.a(t)))


@dataclass(frozen=True)
class PerturbedScore:
    """s(t, x) = base(t, x) + eps * h(t, x), with h given with its derivative ``h_dx``."""

    base: ScoreModel
    h: Callable[[float, np.ndarray], np.ndarray]
    h_dx: Callable[[float, np.ndarray], np.ndarray]
    eps: float

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.base(t, x) + self.eps * self.h(t, x)

    def dx(self, t: float, x: np.ndarray) -> np.ndarray:
        return self.base.dx(t, x) + self.eps * self.h_dx(t, x)


def relu_features(m: int, rng: np.random.Generator, T: float = 5.0) -> RandomFeatures:
    """Rows (w_i, u_i) iid standard Gaussian from ``rng``, rescaled to |w_i| + ‖u_i‖₁ = 1 (model (12))."""
    z = rng.standard_normal((m, 3))
    z /= np.abs(z).sum(axis=1, keepdims=True)
    return RandomFeatures(W=z[:, :1], U=z[:, 1:], T=T)


def random_relu(m: int, rng: np.random.Generator, scale: float = 1.0, T: float = 5.0) -> RFScore:
    """A random-feature score (12) with coefficients a_i ~ N(0, scale²): an untrained, rough model."""
    f = relu_features(m, rng, T)
    return rf_score(f, scale * rng.standard_normal((1, m)))

# The closed-form reference case: p0 = N(0.5, 0.7) under OU with T = 2, and a linear model score
# s = a(t) x + b(t) that is not the exact one (exact: a = -1/V_t, b = mean_t/V_t).
GAUSS = gaussian(0.5, 0.7, sde=ou(2.0))


def linear_a(t: float) -> float:
    return -1.3 + 0.1 * t


def linear_b(t: float) -> float:
    return 0.4 - 0.05 * t


LINEAR = LinearScore(linear_a, linear_b)


def fitted_relu(target: Target1D, m: int, seed: int, ridge: float = 1e-6, noise: float = 0.0) -> RFScore:
    """A random-feature score (12) with a by ridge regression on the exact score over (t, x) draws
    from p_t, t ~ U(0, T); ``noise`` adds N(0, noise²) to each a_i (a badly trained model)."""
    rng = np.random.default_rng(seed)
    T = target.sde.T
    f = relu_features(m, rng, T)
    w, u = f.W[:, 0], f.U
    t = rng.uniform(0.0, T, 4000)
    x = np.concatenate([target.sample(1, rng, tk) for tk in t])
    feats = np.maximum(x[:, None] * w + u[:, 0] + u[:, 1] * (t[:, None] / T), 0.0) / m
    y = np.concatenate([target.score(tk, np.array([xk])) for tk, xk in zip(t, x)])
    a = np.linalg.solve(feats.T @ feats + ridge * np.eye(m) / m, feats.T @ y)
    return rf_score(f, (a + noise * rng.standard_normal(m))[None, :])


def bump_perturbed(target: Target1D, eps: float, centre: float = 1.0) -> PerturbedScore:
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


def min_time(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` wall-clock runs of ``fn`` (seconds): the least noisy single timing."""
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def benchmark_ratio(benchmark, run: Callable[[], object], baseline: Callable[[], object], rounds: int = 5,
                    baseline_repeats: int = 1) -> float:
    """time(run) / time(baseline), both timed in this test, interleaved, on one BLAS thread; the ratio of
    the minima over ``rounds`` rounds, recorded in the benchmark's extra_info.

    Each round times ``baseline`` (the fastest of ``baseline_repeats`` runs) just before ``run``, so a
    burst of load from another process meets both alike, and the minimum of each over the rounds is the
    least disturbed timing. BLAS is pinned to one thread for both: a second thread competing with another
    process slowed a thin eigh 5x against a K1 curve (tests marked ``perf`` only; see tests/conftest.py).
    With benchmarks disabled (``--benchmark-disable``) ``run`` is timed by hand the same way.
    """
    from threadpoolctl import threadpool_limits

    base: list[float] = []

    def time_baseline() -> None:
        base.append(min_time(baseline, baseline_repeats))

    with threadpool_limits(limits=1, user_api="blas"):
        if benchmark.disabled:
            runs = []
            for _ in range(rounds):
                time_baseline()
                runs.append(min_time(run, 1))
            total = min(runs)
        else:
            benchmark.pedantic(run, setup=time_baseline, rounds=rounds, iterations=1)
            total = benchmark.stats.stats.min
    ratio = total / min(base)
    benchmark.extra_info.update(ratio_to_baseline=ratio, rounds=rounds)
    return ratio
