"""The random-feature model (12) against explicit per-feature loops and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from empirical.rf.features import EMBEDDINGS, RandomFeatures, draw_features, rf_score


@given(st.integers(1, 40), st.integers(1, 3), st.sampled_from(sorted(EMBEDDINGS)), st.integers(0, 2**32 - 1))
def test_rows_are_l1_normalised_and_shapes_follow_the_embedding(m, d, emb, seed):
    f = draw_features(m, d, seed, embedding=emb)
    d_e = EMBEDDINGS[emb][0]
    assert f.W.shape == (m, d) and f.U.shape == (m, d_e)
    np.testing.assert_allclose(np.abs(f.W).sum(1) + np.abs(f.U).sum(1), 1.0, rtol=1e-14)


def test_draws_are_deterministic_and_nested():
    small, big = draw_features(16, seed=7), draw_features(128, seed=7)
    np.testing.assert_array_equal(small.W, big.W[:16])
    np.testing.assert_array_equal(small.U, big.U[:16])
    again = draw_features(16, seed=7)
    np.testing.assert_array_equal(small.W, again.W)
    assert not np.array_equal(small.W, draw_features(16, seed=8).W)


@pytest.mark.parametrize("emb", sorted(EMBEDDINGS))
def test_every_embedding_is_bounded_and_holds_a_constant_entry(emb):
    f = draw_features(3, embedding=emb, T=5.0)
    e = f.embed(np.linspace(0.0, 5.0, 11))
    assert np.all(e[:, 0] == 1.0)
    assert np.all(np.abs(e) <= 1.0)


def _loop_score(f: RandomFeatures, A: np.ndarray, t: float, x: np.ndarray) -> np.ndarray:
    e = f.embed(t)
    out = np.zeros((x.shape[0], f.d))
    for i in range(f.m):
        out += np.maximum(x @ f.W[i] + f.U[i] @ e, 0.0)[:, None] * A[:, i]
    return out / f.m


@given(st.integers(1, 3), st.integers(0, 10_000), st.floats(0.0, 5.0))
def test_score_matches_the_per_feature_sum_of_12(d, seed, t):
    f = draw_features(9, d, seed)
    rng = np.random.default_rng(seed)
    A, x = rng.standard_normal((d, 9)), rng.standard_normal((13, d))
    np.testing.assert_allclose(f.score(A, t, x), _loop_score(f, A, t, x), rtol=1e-12, atol=1e-14)


@given(st.integers(1, 3), st.integers(0, 10_000), st.floats(0.0, 5.0))
def test_divergence_matches_finite_differences(d, seed, t):
    f = draw_features(7, d, seed)
    rng = np.random.default_rng(seed)
    A, x = rng.standard_normal((d, 7)), rng.standard_normal((5, d))
    pre = f.preactivation(t, x)
    h = 1e-6
    # central differences are exact for the piecewise-linear score unless a kink lies within h
    far = np.all(np.abs(pre) > 10 * h * np.abs(f.W).sum(1), axis=1)
    fd = sum((f.score(A, t, x + h * np.eye(d)[k])[:, k] - f.score(A, t, x - h * np.eye(d)[k])[:, k]) / (2 * h)
             for k in range(d))
    np.testing.assert_allclose(f.divergence(A, t, x)[far], fd[far], rtol=1e-6, atol=1e-8)


def test_rf_score_is_the_1d_adapter():
    f = draw_features(11, seed=3)
    A = np.random.default_rng(3).standard_normal((1, 11))
    s = rf_score(f, A)
    x = np.linspace(-3, 3, 17)
    np.testing.assert_allclose(s(0.7, x), _loop_score(f, A, 0.7, x[:, None])[:, 0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(s.dx(0.7, x), f.divergence(A, 0.7, x))
    assert s(0.7, x).shape == x.shape and s.dx(0.7, x).shape == x.shape


def test_rf_score_in_d_dimensions_returns_the_vector_score_and_its_divergence():
    f = draw_features(9, 3, seed=5)
    A = np.random.default_rng(5).standard_normal((3, 9))
    x = np.random.default_rng(6).standard_normal((7, 3))
    s = rf_score(f, A)
    np.testing.assert_allclose(s(0.4, x), _loop_score(f, A, 0.4, x), rtol=1e-12, atol=1e-14)
    assert s(0.4, x).shape == (7, 3) and s.dx(0.4, x).shape == (7,)
    stack = rf_score(f, np.stack([A, 2 * A]))
    np.testing.assert_allclose([m(0.4, x) for m in stack][1], 2 * s(0.4, x), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, word",
    [({"m": 0}, "m"), ({"m": 3, "d": 0}, "d"), ({"m": 3, "embedding": "sin"}, "embedding"),
     ({"m": 3, "d_e": 3}, "d_e")],
)
def test_draw_features_rejects_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        draw_features(**kwargs)


def test_bad_shapes_raise_value_errors():
    f = draw_features(4, 2)
    with pytest.raises(ValueError, match="A must have shape"):
        f.score(np.ones((1, 4)), 0.0, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="x must have shape"):
        f.phi(0.0, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"A must have shape \(2, 4\)"):
        rf_score(f, np.ones((1, 4)))
    with pytest.raises(ValueError, match="U must have shape"):
        RandomFeatures(np.ones((3, 1)), np.ones((3, 1)))
