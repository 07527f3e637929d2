"""The random-feature route on a point cloud: losses and ODE-NLL of training and held-out points."""

from __future__ import annotations

import numpy as np
import pytest

from empirical.measure.point_cloud import CloudFit, fit_cloud


@pytest.fixture(scope="module")
def gaussian_fit() -> CloudFit:
    rng = np.random.default_rng(1)
    return fit_cloud(rng.standard_normal((200, 4)), rng.standard_normal((200, 4)), m=64,
                     taus=(1.0, 30.0, 1e3, 1e5, 1e7), seed=3)


def test_held_out_nll_obeys_gibbs_inequality(gaussian_fit):
    """Held-out points are fresh draws of N(0, I_4), so their NLL is a cross-entropy: at least the entropy
    ½ log(2πe) = 1.4189 per dimension, up to Monte-Carlo error, whatever q is (Gibbs' inequality; a density
    that is not normalised, or a wrong divergence, would break it). Training improves on the untrained model."""
    entropy = 0.5 * np.log(2 * np.pi * np.e)
    f = gaussian_fit
    assert np.all(f.test_nll >= entropy - 3 * f.test_nll_se), (f.test_nll, f.test_nll_se)
    assert f.test_nll.min() < 0.5 * f.test_nll[0]


def test_training_lowers_the_training_loss_and_opens_a_gap(gaussian_fit):
    """The losses are exact in the noise (no Monte Carlo): the flow descends the training loss, and the
    held-out loss ends above it, by more than at the start."""
    f = gaussian_fit
    assert np.all(np.diff(f.train_loss) <= 1e-12)
    loss_gap = f.test_loss - f.train_loss
    assert loss_gap[-1] > 0 and loss_gap[-1] > loss_gap[0] + 1e-3
    assert f.gap[-1] > f.gap[0]


def test_deterministic_and_round_trips():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((20, 3)), rng.standard_normal((10, 3))
    f1, f2 = fit_cloud(a, b, 16, (10.0,), seed=0), fit_cloud(a, b, 16, (10.0,), seed=0)
    assert f1.to_json() == f2.to_json()
    assert CloudFit.from_json(f1.to_json()).to_json() == f1.to_json()


@pytest.mark.parametrize("kwargs, word", [({"m": 0}, "m"), ({"taus": (-1.0,)}, "taus"), ({"t0": 0.0}, "t0"),
                                          ({"y_test": np.zeros((5, 4))}, "y_test"), ({"y_train": np.zeros((1, 3))}, "y_train")])
def test_bad_input_names_the_parameter(kwargs, word):
    args = {"y_train": np.zeros((5, 3)), "y_test": np.zeros((5, 3)), "m": 4, "taus": (1.0,), "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=word):
        fit_cloud(**args)
