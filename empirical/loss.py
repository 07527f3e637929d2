"""The quadratic loss of Lemma 3 for the random-feature model (12), exact in x in 1-D.

With Θ := A/√m, h1 = √λ σ(Wx + Ue(t))/√m and h2 = √λ ∇log p_t(x):

    L̃(Θ) = E_{t~U(t0,T)} λ(t) E_{p_t} ‖s_{t,θ} - ∇log p_t‖² = tr(Θ B1 Θᵀ) - 2 tr(Θ B2) + c,

B1 = E[h1 h1ᵀ] (m×m), B2 = E[h1 h2ᵀ] (m×d), c = E λ ‖∇log p_t‖²  (explicit score matching (7)).

1-D, exact in x (no x-grid):
- B2 by Stein's identity, E_{p_t}[φ_i ∇log p_t] = -w_i P_{p_t}(w_i x + b_i(t) > 0): a CDF at the kink.
- B1 from the partial moments F_k(z) = ∫_{-∞}^z x^k p_t: a pair of ReLUs is jointly active on an
  interval whose ends are kinks k_j = -b_j/w_j or ±∞, and ∫_lo^hi (w_i x + b_i)(w_j x + b_j) p_t
  = H_ij(hi) - H_ij(lo), H_ij(z) = w_i w_j F2 + (w_i b_j + w_j b_i) F1 + b_i b_j F0. H_ij(k_j) enters
  with sign -sign(w_j) exactly when k_j lies inside the active half-line of feature i, and
  H_ij(+∞) exactly when both features point right; so per t node one needs F at the m kinks and
  one m×m masked rank-2 update.
The empirical loss L̂_n (DSM (5) on p̂0, exact noise expectation) has the same B̂1, B̂2 with p_t
replaced by the n-component mixture p̂_t (Stein's lemma on each Gaussian kernel), and the DSM
constant ĉ = E_t λ d/σ_t². Option: K seeded noise draws per training point (any d), the
Monte-Carlo reference.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterable

import numpy as np

from .features import RandomFeatures
from .quadrature import (
    N_T_DEFAULT,
    WEIGHTINGS,
    TimeGrid,
    fisher_information,
    partial_moments,
    time_grid,
    total_moments,
    weighting,
)
from .sde import LinearSDE, ou
from .targets import empirical as empirical_target


@dataclass(frozen=True, eq=False)
class QuadraticLoss:
    """L̃(A) = tr(Θ B1 Θᵀ) - 2 tr(Θ B2) + c with Θ = A/√m (Lemma 3).

    Attributes
    ----------
    B1 : (m, m), B2 : (m, d), c : float
        The Lemma-3 coefficients.
    lam : str
        Weighting λ(t) ('std', 'var' or 'g2').
    T, t0 : float
        The t-expectation is over U(t0, T).
    kind : str
        'population', 'empirical' or 'empirical-mc' / 'population-mc' (sample-average variants).
    """

    B1: np.ndarray
    B2: np.ndarray
    c: float
    lam: str = "std"
    T: float = 5.0
    t0: float = 0.0
    kind: str = "population"

    def __post_init__(self) -> None:
        B1, B2 = np.asarray(self.B1, dtype=float), np.asarray(self.B2, dtype=float)
        if B1.ndim != 2 or B1.shape[0] != B1.shape[1] or B2.ndim != 2 or B2.shape[0] != B1.shape[0]:
            raise ValueError(f"B1 must be (m, m) and B2 (m, d), got {B1.shape} and {B2.shape}")
        if not (np.all(np.isfinite(B1)) and np.all(np.isfinite(B2)) and np.isfinite(self.c)):
            raise ValueError("B1, B2 and c must be finite")
        if self.lam not in WEIGHTINGS:
            raise ValueError(f"lam must be one of {WEIGHTINGS}, got {self.lam!r}")
        object.__setattr__(self, "B1", B1)
        object.__setattr__(self, "B2", B2)

    @property
    def m(self) -> int:
        return self.B1.shape[0]

    @property
    def d(self) -> int:
        return self.B2.shape[1]

    @property
    def horizon(self) -> float:
        return self.T - self.t0

    def _theta(self, A: np.ndarray) -> np.ndarray:
        A = np.asarray(A, dtype=float)
        if A.shape[-2:] != (self.d, self.m):
            raise ValueError(f"A must have shape (..., {self.d}, {self.m}), got {A.shape}")
        return A / np.sqrt(self.m)

    def value(self, A: np.ndarray) -> np.ndarray:
        """L̃(A) for A of shape (..., d, m); returns shape (...)."""
        th = self._theta(A)
        quad = np.sum((th @ self.B1) * th, axis=(-2, -1))
        return quad - 2.0 * np.sum(th * self.B2.T, axis=(-2, -1)) + self.c

    def grad(self, A: np.ndarray) -> np.ndarray:
        """∇_A L̃ = (2/m) A B1 - (2/√m) B2ᵀ, same shape as A (the flow is dA/dτ = -m ∇_A L̃)."""
        th = self._theta(A)
        return 2.0 * (th @ self.B1 - self.B2.T) / np.sqrt(self.m)

    @cached_property
    def spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """(β, V) with B1 = V diag(β) Vᵀ; round-off negatives of the PSD B1 are set to 0."""
        beta, V = np.linalg.eigh(self.B1)
        return np.maximum(beta, 0.0), V

    def minimizer(self, rcond: float | None = None) -> np.ndarray:
        """Minimum-norm minimiser A* = √m (B1⁺ B2)ᵀ, shape (d, m).

        Eigenvalues β <= rcond·max β count as zero; rcond defaults to m·eps (numpy's rank cutoff).
        B2 lies in range(B1) (v ∈ ker B1 ⇒ vᵀh1 = 0 a.s.), so this is the limit of the flow from 0.
        """
        beta, V = self.spectrum
        rcond = self.m * np.finfo(float).eps if rcond is None else rcond
        keep = beta > rcond * beta.max()
        inv = np.where(keep, 1.0 / np.where(keep, beta, 1.0), 0.0)
        return np.sqrt(self.m) * (V @ (inv[:, None] * (V.T @ self.B2))).T


def _check_lams(lams: Iterable[str]) -> tuple[str, ...]:
    lams = tuple(lams)
    bad = [k for k in lams if k not in WEIGHTINGS]
    if bad or not lams:
        raise ValueError(f"lams must be a non-empty sequence of {WEIGHTINGS}, got {lams!r}")
    return lams


def _check_horizon(features: RandomFeatures, sde: LinearSDE) -> None:
    if not np.isclose(sde.T, features.T, rtol=1e-12, atol=0):
        raise ValueError(f"features.T must equal the SDE horizon T = {sde.T}, got {features.T}")


def _w1d(features: RandomFeatures) -> np.ndarray:
    if features.d != 1:
        raise ValueError(f"the exact-in-x loss is 1-D: features.d must be 1, got {features.d} (use noise_draws / samples)")
    w = features.W[:, 0]
    if np.any(w == 0):
        raise ValueError("W must have no zero entry in 1-D (a feature without a kink); redraw the features")
    return w


_WORKERS = 2
"""Threads over blocks of t nodes (numpy and scipy.special release the GIL). A constant, not the CPU
count, so that the summation order, hence every bit of the result, is the same on every machine."""


def _exact_block(target, w: np.ndarray, U: np.ndarray, embed: Callable[[float], np.ndarray], grid: TimeGrid,
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


def _exact_coefficients(
    target, features: RandomFeatures, grid: TimeGrid, lam_values: dict[str, np.ndarray]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """B1 (m, m) and B2 (m, 1) for each weighting, exact in x (module docstring), one pass over t."""
    w = _w1d(features)
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


def _sample_coefficients(
    features: RandomFeatures,
    grid: TimeGrid,
    lam_values: dict[str, np.ndarray],
    draw: Callable[[int, float], tuple[np.ndarray, np.ndarray]],
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, float]]:
    """(B1, B2) and c as sample averages: ``draw(j, t)`` gives points x (N, d) and regression targets y (N, d)."""
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


def _as_losses(coefs: dict, consts: dict, grid: TimeGrid, kind: str) -> dict[str, QuadraticLoss]:
    return {k: QuadraticLoss(*coefs[k], consts[k], k, grid.T, grid.t0, kind) for k in coefs}


def population_losses(
    target,
    features: RandomFeatures,
    lams: Iterable[str] = ("std",),
    n_t: int = N_T_DEFAULT,
    t0: float = 0.0,
    samples: int | None = None,
    seed: int | None = None,
) -> dict[str, QuadraticLoss]:
    """Population losses L̃ (7) for several weightings in one pass over t (Lemma 3).

    Parameters
    ----------
    target : GaussianMixture1D, Bump1D or any 1-D target with ``partial_moments``, ``score``,
        ``support``, ``sde`` (and ``fisher_information`` unless it is a Gaussian mixture).
    features : RandomFeatures with d = 1.
    lams : weightings, e.g. ("std", "g2"): the training weighting and the K1 weighting.
    n_t, t0 : t-grid (see ``quadrature.time_grid``).
    samples, seed : if given, a Monte-Carlo reference instead: ``samples`` draws of p_t per t node
        from ``default_rng(seed)``, regression target the exact score.
    """
    lams = _check_lams(lams)
    _check_horizon(features, target.sde)
    grid = time_grid(target.sde.T, n_t, t0)
    lam_values = {k: weighting(k, target.sde, grid.t) for k in lams}
    if samples is None:
        coefs = _exact_coefficients(target, features, grid, lam_values)
        fisher = np.array([fisher_information(target, t) for t in grid.t])
        consts = {k: float(np.sum(grid.w * lam_values[k] * fisher)) for k in lams}
        kind = "population"
    else:
        _w1d(features)
        if not (isinstance(samples, (int, np.integer)) and samples >= 2):
            raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(grid.t.size)]

        def draw(j: int, t: float) -> tuple[np.ndarray, np.ndarray]:
            x = target.sample(int(samples), rngs[j], t)
            return x[:, None], target.score(t, x)[:, None]

        coefs, consts = _sample_coefficients(features, grid, lam_values, draw)
        kind = "population-mc"
    return _as_losses(coefs, consts, grid, kind)


def population_loss(target, features: RandomFeatures, lam: str = "std", **kwargs) -> QuadraticLoss:
    """The population loss L̃ (7) for one weighting; see :func:`population_losses`."""
    return population_losses(target, features, (lam,), **kwargs)[lam]


def empirical_losses(
    x_train: np.ndarray,
    features: RandomFeatures,
    sde: LinearSDE | None = None,
    lams: Iterable[str] = ("std",),
    n_t: int = N_T_DEFAULT,
    t0: float = 0.0,
    noise_draws: int | None = None,
    seed: int | None = None,
) -> dict[str, QuadraticLoss]:
    """Empirical DSM losses L̂_n ((5) on p̂0) for several weightings in one pass over t.

    Default: exact noise expectation (1-D), L̂_n = tr(Θ B̂1 Θᵀ) - 2 tr(Θ B̂2) + ĉ with B̂ from p̂_t and
    ĉ = E_t λ d/σ_t². For 'g2', ĉ = E_t 2d/σ_t² diverges at t -> 0, so t0 > 0 is required there.
    With ``noise_draws`` = K (any d): K standard-normal draws per training point and t node from
    ``default_rng(seed)``, DSM regression target -ε/σ_t, all three coefficients as sample averages.
    """
    sde = sde or ou(features.T)
    _check_horizon(features, sde)
    lams = _check_lams(lams)
    x = np.asarray(x_train, dtype=float)
    x = x.reshape(-1, 1) if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[1] != features.d or x.shape[0] < 1 or not np.all(np.isfinite(x)):
        raise ValueError(f"x_train must be a finite array of shape (n, {features.d}) with n >= 1, got {x.shape}")
    if "g2" in lams and t0 <= 0:
        raise ValueError(f"t0 must be > 0 for the empirical 'g2' loss (its DSM constant E 2d/σ_t² diverges), got {t0!r}")
    grid = time_grid(sde.T, n_t, t0)
    d = features.d
    lam_values = {k: weighting(k, sde, grid.t, d) for k in lams}
    sigma2 = sde.sigma2(grid.t)
    if noise_draws is None:
        target = empirical_target(x[:, 0], sde)
        coefs = _exact_coefficients(target, features, grid, lam_values)
        consts = {k: float(np.sum(grid.w * lam_values[k] * d / sigma2)) for k in lams}
        kind = "empirical"
    else:
        if not (isinstance(noise_draws, (int, np.integer)) and noise_draws >= 1):
            raise ValueError(f"noise_draws must be an integer >= 1, got {noise_draws!r}")
        rng = np.random.default_rng(seed)
        r, s = sde.r(grid.t), np.sqrt(sigma2)

        def draw(j: int, t: float) -> tuple[np.ndarray, np.ndarray]:
            eps = rng.standard_normal((x.shape[0] * noise_draws, d))
            return r[j] * np.repeat(x, noise_draws, axis=0) + s[j] * eps, -eps / s[j]

        coefs, consts = _sample_coefficients(features, grid, lam_values, draw)
        kind = "empirical-mc"
    return _as_losses(coefs, consts, grid, kind)


def empirical_loss(x_train: np.ndarray, features: RandomFeatures, sde: LinearSDE | None = None,
                   lam: str = "std", **kwargs) -> QuadraticLoss:
    """The empirical DSM loss L̂_n for one weighting; see :func:`empirical_losses`."""
    return empirical_losses(x_train, features, sde, (lam,), **kwargs)[lam]


def score_bound_kl(loss_g2: QuadraticLoss, A: np.ndarray, kl_prior: float) -> np.ndarray:
    """K1 of Lemma 2: ½ ∫_{t0}^T g² E_{p_t}‖∇log p_t - s_θ‖² dt + KL(p_T‖π) = (T - t0)/2 · L̃_g2(A) + KL.

    ``loss_g2`` must be a population loss with the 'g2' weighting; A of shape (..., d, m).
    """
    if loss_g2.lam != "g2" or not loss_g2.kind.startswith("population"):
        raise ValueError(f"loss_g2 must be a population loss with lam 'g2', got kind {loss_g2.kind!r}, lam {loss_g2.lam!r}")
    if not (np.isfinite(kl_prior) and kl_prior >= 0):
        raise ValueError(f"kl_prior must be a finite number >= 0, got {kl_prior!r}")
    return 0.5 * loss_g2.horizon * loss_g2.value(A) + kl_prior
