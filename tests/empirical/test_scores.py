"""Score models against direct sums and finite differences: the random-feature score (12)
(``empirical.rf.features.RFScore``), the exact score of a target, and the test references."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.rf.features import rf_score
from empirical.scores import ScoreModel, exact_score
from empirical.targets import two_mode
from references import LinearScore, bump_perturbed, random_relu, relu_features


def test_features_are_l1_normalised() -> None:
    f = relu_features(50, np.random.default_rng(1))
    np.testing.assert_allclose(np.abs(f.W[:, 0]) + np.abs(f.U).sum(axis=1), 1.0, rtol=1e-14)


def test_relu_score_matches_direct_sum() -> None:
    s = random_relu(7, np.random.default_rng(2))
    w, u, a = s.features.W[:, 0], s.features.U, s.A[0]
    x, t = np.linspace(-3.0, 3.0, 11), 1.7
    direct = [sum(ai * max(wi * xi + ui[0] + ui[1] * t / 5.0, 0.0) for ai, wi, ui in zip(a, w, u)) / 7 for xi in x]
    np.testing.assert_allclose(s(t, x), direct, rtol=1e-13, atol=1e-15)


def test_a_stack_iterates_over_its_models_and_refuses_to_be_evaluated_whole() -> None:
    s = random_relu(5, np.random.default_rng(3))
    stack = rf_score(s.features, np.stack([s.A, 2 * s.A, -s.A]))
    x = np.linspace(-2.0, 2.0, 7)
    models = list(stack)
    assert stack.stacked and len(models) == 3 and list(s) == [s]
    np.testing.assert_allclose(models[1](0.3, x), 2 * s(0.3, x), rtol=1e-14)
    with pytest.raises(ValueError, match="stack of 3 models"):
        stack(0.3, x)


@pytest.mark.parametrize("model", ["relu", "perturbed", "exact", "linear"])
def test_dx_matches_central_difference(model: str) -> None:
    target = two_mode(2.0)
    score = {
        "relu": random_relu(16, np.random.default_rng(3)),
        "perturbed": bump_perturbed(target, 0.3),
        "exact": exact_score(target),
        "linear": LinearScore(lambda t: -1.0 - t, lambda t: 0.5 * t),
    }[model]
    assert isinstance(score, ScoreModel)
    x, t, d = np.linspace(-4.0, 4.0, 41) + 0.0123, 0.8, 1e-6
    fd = (score(t, x + d) - score(t, x - d)) / (2 * d)
    # a ReLU kink within d of x makes the difference quotient meaningless there: skip those points
    ok = np.ones_like(x, dtype=bool)
    if model == "relu":
        f = score.features
        pre = f.preactivation(t, x)
        ok = np.all(np.abs(pre) > 2 * d * np.abs(f.W[:, 0]), axis=1)
    np.testing.assert_allclose(score.dx(t, x)[ok], fd[ok], rtol=1e-6, atol=1e-7)


def test_bad_input_raises() -> None:
    f = relu_features(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="A must have shape"):
        rf_score(f, np.ones((2, 4)))
    with pytest.raises(ValueError, match="A must have shape"):
        rf_score(f, np.ones((3, 1, 5)))
