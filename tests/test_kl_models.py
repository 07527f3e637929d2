"""Score models of ``empirical.score_models`` against direct sums and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.score_models import LinearScore, ReluScore, exact_score, random_relu_features
from empirical.targets import two_mode
from kl_models import bump_perturbed


def _relu_model(m: int, seed: int) -> ReluScore:
    rng = np.random.default_rng(seed)
    w, u = random_relu_features(m, rng)
    return ReluScore(w, u, rng.standard_normal(m), 5.0)


def test_features_are_l1_normalised() -> None:
    w, u = random_relu_features(50, np.random.default_rng(1))
    np.testing.assert_allclose(np.abs(w) + np.abs(u).sum(axis=1), 1.0, rtol=1e-14)


def test_relu_score_matches_direct_sum() -> None:
    s = _relu_model(7, 2)
    x, t = np.linspace(-3.0, 3.0, 11), 1.7
    direct = [sum(a * max(w * xi + u[0] + u[1] * t / 5.0, 0.0) for a, w, u in zip(s.a, s.w, s.u)) / 7 for xi in x]
    np.testing.assert_allclose(s(t, x), direct, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("model", ["relu", "perturbed", "exact", "linear"])
def test_dx_matches_central_difference(model: str) -> None:
    target = two_mode(2.0)
    score = {
        "relu": _relu_model(16, 3),
        "perturbed": bump_perturbed(target, 0.3),
        "exact": exact_score(target),
        "linear": LinearScore(lambda t: -1.0 - t, lambda t: 0.5 * t),
    }[model]
    x, t, d = np.linspace(-4.0, 4.0, 41) + 0.0123, 0.8, 1e-6
    fd = (score(t, x + d) - score(t, x - d)) / (2 * d)
    # a ReLU kink within d of x makes the difference quotient meaningless there: skip those points
    ok = np.ones_like(x, dtype=bool)
    if model == "relu":
        pre = x[:, None] * score.w + score.u[:, 0] + score.u[:, 1] * t / score.T
        ok = np.all(np.abs(pre) > 2 * d * np.abs(score.w), axis=1)
    np.testing.assert_allclose(score.dx(t, x)[ok], fd[ok], rtol=1e-6, atol=1e-7)


def test_bad_input_raises() -> None:
    with pytest.raises(ValueError, match="m must be"):
        random_relu_features(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="need w"):
        ReluScore(np.ones(3), np.ones((3, 1)), np.ones(3), 5.0)
