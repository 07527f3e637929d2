"""K3 and the ODE-NLL in R^d by Monte Carlo (Remark 3): closed forms, the 1-D quadrature, separability,
the divergence, two integrators, the entropy identity, determinism and bad input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from empirical.rf.features import draw_features, rf_score
from empirical.kl import kl_ode
from empirical.kl.flow_ode import probability_flow
from empirical.kl.ode_mc import FusedRFScore, exact_score_nd, ode_kl_mc, ode_logq
from empirical.quadrature import time_steps
from empirical.scores import exact_score
from empirical.sde import ou
from empirical.targets import ProductTarget, gaussian, two_mode
from references import fitted_relu, kl_normal

SDE = ou(1.0)  # short horizon: KL(p_T || pi) is not negligible
DATA = [(0.5, 1.0), (0.0, 1.0), (0.0, 1.0)]  # (mean, var) of the target's factors
MODEL = [(0.2, 0.6), (-0.3, 1.5), (0.0, 1.0)]  # a Gaussian model score: the wrong Gaussian


def _product(params, sde=SDE) -> ProductTarget:
    return ProductTarget([gaussian(m, v, sde=sde) for m, v in params])


def _law(sde, mean: float, var: float, t: float) -> tuple[float, float]:
    """(mean, var) of p_t for p0 = N(mean, var) under the linear SDE (kernel (8))."""
    r = float(sde.r(t))
    return mean * r, var * r * r + float(sde.sigma2(t))


def _gaussian_k3(data, model, sde, t0: float) -> float:
    """KL(p_{t0} || q) in closed form when the model score is the exact score of the Gaussian product
    ``model``: its flow Φ(x) = µ'_T + √(V'_T / V'_t0)(x - µ'_t0) is affine, so q = Φ⁻¹#π is
    N(µ'_t0 - √(V'_t0 / V'_T) µ'_T, V'_t0 / V'_T) in each coordinate."""
    out = 0.0
    for (m, v), (mm, vv) in zip(data, model):
        mu0, v0 = _law(sde, m, v, t0)
        nu0, w0 = _law(sde, mm, vv, t0)
        nuT, wT = _law(sde, mm, vv, sde.T)
        out += kl_normal(mu0, v0, nu0 - np.sqrt(w0 / wT) * nuT, w0 / wT)
    return out


@dataclass(frozen=True)
class Separable:
    """s(t, x) = (s_1(t, x_1), ..., s_d(t, x_d)) of 1-D scores, divergence Σ_j ∂_j s_j."""

    scores: tuple

    def __call__(self, t, x):
        return np.stack([s(t, x[:, j]) for j, s in enumerate(self.scores)], axis=1)

    def dx(self, t, x):
        return sum(s.dx(t, x[:, j]) for j, s in enumerate(self.scores))


def test_closed_form_matches_kl_to_prior_for_the_exact_score() -> None:
    # the closed form itself: with the exact score K3 = KL(p_T || pi) (KL is invariant under Φ)
    assert _gaussian_k3(DATA, DATA, SDE, 0.1) == pytest.approx(_product(DATA).kl_to_prior(), rel=1e-12)


def test_gaussian_d3_within_interval_with_coverage() -> None:
    target, t0 = _product(DATA), 0.1
    ref = _gaussian_k3(DATA, MODEL, SDE, t0)  # 0.30
    model = exact_score_nd(_product(MODEL))
    runs = [ode_kl_mc(target, model, t0=t0, n_samples=400, seed=s, n_steps=16) for s in range(40)]
    covered = sum(r.kl_ci[0] <= ref <= r.kl_ci[1] for r in runs)
    assert covered >= 34, covered  # 95% intervals: 38 of 40 expected, P(<= 33) < 0.5%
    big = ode_kl_mc(target, model, t0=t0, n_samples=20_000, seed=1, n_steps=16)
    assert abs(big.kl - ref) < 3 * big.kl_se, (big.kl, ref, big.kl_se)
    # time discretisation of a smooth (affine) flow: 5e-8 from 16 to 32 steps, far below the SE
    fine = ode_kl_mc(target, model, t0=t0, n_samples=20_000, seed=1, n_steps=32)
    assert abs(fine.kl - big.kl) < 1e-6


def test_one_dim_rf_model_agrees_with_the_quadrature() -> None:
    """Fitted m = 64 ReLU score on two_mode(3): kl_ode (cells) 0.2609; MC 0.2673 ± 0.0113 (N = 4000),
    time-discretisation gap 64 -> 128 steps 9e-5."""
    target = two_mode(3.0)
    score = fitted_relu(target, 64, seed=5, ridge=1e-3)
    ref = kl_ode(target, score, n_x=1201, n_steps=64)
    r = ode_kl_mc(target, score, n_samples=4000, seed=0)
    assert r.d == 1
    assert abs(r.kl - ref) < 3 * r.kl_se + 1e-3, (r.kl, ref, r.kl_se)
    # the same model and samples through the (N, 1) path of a 1-factor product: the same numbers
    prod = ode_kl_mc(ProductTarget([target]), score, n_samples=4000, seed=0)
    assert prod.kl == pytest.approx(r.kl, rel=1e-12) and prod.nll == pytest.approx(r.nll, rel=1e-12)


def test_separable_score_gives_the_sum_of_one_dim_k3() -> None:
    f1, f2 = two_mode(3.0), gaussian(0.3, 0.5)
    s1, s2 = fitted_relu(f1, 64, seed=5, ridge=1e-3), exact_score(gaussian(0.0, 1.0))
    ref = kl_ode(f1, s1) + kl_ode(f2, s2)
    r = ode_kl_mc(ProductTarget([f1, f2]), Separable((s1, s2)), n_samples=4000, seed=2)
    assert r.d == 2
    assert abs(r.kl - ref) < 3 * r.kl_se + 1e-3, (r.kl, ref, r.kl_se)


@pytest.fixture(scope="module")
def rf4():
    f = draw_features(256, d=4, seed=3)
    return rf_score(f, 3.0 * np.random.default_rng(4).standard_normal((4, 256)))


def test_rf_divergence_matches_finite_differences(rf4) -> None:
    x, h = np.random.default_rng(5).standard_normal((200, 4)), 1e-6
    s, div = FusedRFScore(rf4).score_and_dx(0.7, x)
    assert np.array_equal(s, rf4(0.7, x)) and np.array_equal(div, rf4.dx(0.7, x))
    fd = sum((rf4(0.7, x + h * e)[:, j] - rf4(0.7, x - h * e)[:, j]) / (2 * h) for j, e in enumerate(np.eye(4)))
    np.testing.assert_allclose(div, fd, rtol=0, atol=1e-6)


def test_rf_rk4_agrees_with_adaptive_rk45(rf4) -> None:
    target = ProductTarget([gaussian(0.0, 1.0)] * 4)
    x = target.sample(40, np.random.default_rng(6))
    rk4 = ode_logq(target.sde, rf4, x, n_steps=256)
    rk45 = ode_logq(target.sde, rf4, x, method="RK45")
    # both are first order at the ReLU kinks: against rk4 at 2048 steps, rk4 (256) is off by 4e-4, RK45 by 2e-4
    np.testing.assert_allclose(rk4, rk45, rtol=0, atol=1e-3)
    assert np.ptp(rk4) > 0.3  # the points' densities differ by far more than the tolerance


def test_nll_minus_kl_is_the_entropy() -> None:
    target, t0 = _product(DATA), 0.2
    r = ode_kl_mc(target, exact_score_nd(_product(MODEL)), t0=t0, n_samples=5000, seed=3, n_steps=16)
    x = target.sample(5000, np.random.default_rng(3), t0)
    assert r.entropy == pytest.approx(-np.mean(target.logpdf(t0, x)), rel=1e-12)  # the same samples
    h = sum(0.5 * np.log(2 * np.pi * np.e * _law(SDE, m, v, t0)[1]) for m, v in DATA)
    assert abs(r.entropy - h) < 3 * np.sqrt(len(DATA) / 2 / 5000)  # var(log p) = d/2 for a Gaussian
    assert r.nll_per_dim == pytest.approx(r.nll / 3)
    assert r.nll_ci[0] < r.nll < r.nll_ci[1] and r.nll_se > 0


def test_same_seed_same_numbers(rf4) -> None:
    target = ProductTarget([gaussian(0.0, 1.0)] * 4)
    a, b = (ode_kl_mc(target, rf4, n_samples=300, seed=7, n_steps=8) for _ in range(2))
    assert a == b
    assert ode_kl_mc(target, rf4, n_samples=300, seed=8, n_steps=8).kl != a.kl
    # chunking does not change the numbers
    assert ode_kl_mc(target, rf4, n_samples=300, seed=7, n_steps=8, chunk=7).kl == pytest.approx(a.kl, rel=1e-12)


def test_flow_in_d_dimensions_matches_the_one_dim_flow() -> None:
    target = two_mode(2.0, sde=ou(2.0))
    x0, t = np.linspace(-4.0, 4.0, 9), time_steps(0.0, 2.0, 20)
    flat = probability_flow(target.sde, exact_score(target), x0, t)
    col = probability_flow(target.sde, exact_score(target), x0[:, None], t)
    assert col.xT.shape == (9, 1)
    np.testing.assert_array_equal(col.xT[:, 0], flat.xT)
    np.testing.assert_allclose(col.logq, flat.logq, rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="1-D flow"):
        col.cell_masses()


def test_bad_input_raises(rf4) -> None:
    target = ProductTarget([gaussian(0.0, 1.0)] * 4)
    with pytest.raises(ValueError, match="n_samples"):
        ode_kl_mc(target, rf4, n_samples=1)
    for t0 in (-0.1, target.sde.T):
        with pytest.raises(ValueError, match=r"t0 must be a number in \[0, T\)"):
            ode_kl_mc(target, rf4, t0=t0)
    with pytest.raises(ValueError, match="level"):
        ode_kl_mc(target, rf4, n_samples=10, level=1.0)
    with pytest.raises(ValueError, match="chunk"):
        ode_kl_mc(target, rf4, n_samples=10, chunk=0)
    with pytest.raises(ValueError, match="method"):
        ode_kl_mc(target, rf4, n_samples=10, method="euler")
    with pytest.raises(ValueError, match="d = 4 but the target has d = 3"):
        ode_kl_mc(_product(DATA), rf4, n_samples=10)
    with pytest.raises(ValueError, match="score returns dimension d = 3 but the target has d = 2"):
        ode_kl_mc(_product(DATA[:2]), _Wrong(lambda s: s), n_samples=10)
    with pytest.raises(ValueError, match=r"score must return shape \(N, 3\)"):
        ode_kl_mc(_product(DATA), _Wrong(lambda s: s.T), n_samples=10)
    with pytest.raises(ValueError, match=r"score.dx must return shape \(N,\)"):
        ode_kl_mc(_product(DATA), _Wrong(lambda s: s, dx_shape=(3,)), n_samples=10)


@dataclass(frozen=True)
class _Wrong:
    """A score of fixed output (N, 3) (after ``reshape``) and divergence of shape (N,) + ``dx_shape``[1:]."""

    reshape: object
    dx_shape: tuple = ()

    def __call__(self, t, x):
        return self.reshape(np.zeros((len(x), 3)))

    def dx(self, t, x):
        return np.zeros((len(x),) + self.dx_shape)


@pytest.mark.slow
def test_rf_d16_time_discretisation_below_the_standard_error() -> None:
    """Random m = 1024 models in d = 16 (scale of A: 1): |K3(64) - K3(128)| on the same samples is far
    below the Monte Carlo SE."""
    target = ProductTarget([two_mode(2.0)] + [gaussian(0.0, 1.0)] * 15)
    score = rf_score(draw_features(1024, d=16, seed=0), np.random.default_rng(1).standard_normal((16, 1024)))
    coarse = ode_kl_mc(target, score, n_samples=2000, seed=0, n_steps=64)
    fine = ode_kl_mc(target, score, n_samples=2000, seed=0, n_steps=128)
    assert abs(coarse.kl - fine.kl) < 0.01 * coarse.kl_se, (coarse.kl, fine.kl, coarse.kl_se)
