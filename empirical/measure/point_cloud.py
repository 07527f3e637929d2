"""The model (12) trained by the exact empirical flow (9) on a point cloud in R^d, measured on training and
held-out points: the DSM loss and the probability-flow NLL of each, and their gap, at every τ.

This is the random-feature route of the real-data experiment (docs/theory.md §9, Figs. 6–7), where p0
is unknown: no K1 exists, so generalisation is read as it is for real data (docs/theory.md §4): the
held-out minus the training value of

- the DSM loss (5) with λ = σ_t/√d, exact in the noise: L̂ on the training points is the loss the flow
  minimises, the same form on the held-out points is its held-out value (Lemma 3's quadratic form on the
  held-out mixture of point masses, :func:`empirical.rf.loss.empirical_losses`; constants included);
- the negative log-likelihood of the ODE sampler (4) by the instantaneous change of variables with the
  analytic divergence (Remark 3, :func:`empirical.kl.ode_logq`), in nats per dimension of the cloud.

:func:`cloud_halves` trains two such models on disjoint halves of the cloud (:mod:`empirical.measure.halves`) and weighs
their score distance by the held-out points (docs/theory.md §11.2).

References
----------
arXiv:2311.01797, eqs. (5), (9), (12), the probability-flow ODE (4), Remark 3, Figs. 6–7;
docs/theory.md §3, §4, §9.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..checks import check_int
from ..rf.features import RFScore, draw_features
from ..rf.flow import gradient_flow
from .halves import score_distance, split_halves, train_halves
from ..kl import ode_logq
from ..kl.sampling import reverse_sde_samples
from ..rf.loss import empirical_loss, empirical_losses
from ..quadrature import time_steps
from ..sde import ou


@dataclass(frozen=True)
class CloudFit:
    """Training and held-out DSM loss and ODE-NLL (nats per dimension) at each τ of ``taus``.

    Attributes
    ----------
    taus : ndarray
    train_loss, test_loss, train_nll, test_nll : ndarray, aligned with ``taus``
    train_nll_se, test_nll_se : ndarray
        Standard errors of the NLL means over the points (the points are the only randomness).
    samples : ndarray of shape (k, d)
        Draws of the reverse-SDE sampler (3) of the model at the last τ (k = 0 unless asked for).
    """

    taus: np.ndarray
    train_loss: np.ndarray
    test_loss: np.ndarray
    train_nll: np.ndarray
    test_nll: np.ndarray
    train_nll_se: np.ndarray
    test_nll_se: np.ndarray
    samples: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def gap(self) -> np.ndarray:
        """Held-out minus training NLL (nats per dimension): the generalisation gap."""
        return self.test_nll - self.train_nll

    def to_json(self) -> dict:
        """Plain lists, for a result store."""
        return {k: np.asarray(getattr(self, k)).tolist() for k in
                ("taus", "train_loss", "test_loss", "train_nll", "test_nll", "train_nll_se", "test_nll_se", "samples")}

    @classmethod
    def from_json(cls, obj: dict) -> CloudFit:
        """The inverse of :meth:`to_json`."""
        return cls(**{k: np.asarray(v, dtype=float) for k, v in obj.items()})  # samples: (k, d) or empty


def _check_cloud(name: str, y: np.ndarray, d: int | None) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim != 2 or y.shape[0] < 2 or not np.all(np.isfinite(y)) or (d is not None and y.shape[1] != d):
        raise ValueError(f"{name} must be a finite array of shape (N, d) with N >= 2"
                         f"{'' if d is None else f' and d = {d}'}, got shape {y.shape}")
    return y


def _checked_fit(y_train, y_test, m, taus, T: float, t0: float):
    """(y_train, y_test, m, taus, the OU SDE of horizon T): the inputs of a fit on a cloud, checked (each error names
    its parameter): the two clouds of one d, m >= 1, finite τ > 0, T as :func:`empirical.sde.ou` checks it and
    0 < t0 < T."""
    y_train = _check_cloud("y_train", y_train, None)
    y_test = _check_cloud("y_test", y_test, y_train.shape[1])
    m = check_int("m", m, 1)
    taus = np.asarray(taus, dtype=float)
    if taus.ndim != 1 or taus.size == 0 or not np.all(np.isfinite(taus)) or np.any(taus <= 0):
        raise ValueError(f"taus must be a non-empty list of finite numbers > 0, got {taus.tolist()}")
    sde = ou(T)
    if not 0 < t0 < T:
        raise ValueError(f"t0 must be in (0, T) = (0, {T}), got {t0!r}")
    return y_train, y_test, m, taus, sde


def fit_cloud(y_train: np.ndarray, y_test: np.ndarray, m: int, taus, seed: int, T: float = 5.0,
              t0: float = 1e-3, n_steps: int = 64, rtol: float = 1e-6, samples: int = 0) -> CloudFit:
    """Train (12) on ``y_train`` by the exact flow (9) from A = 0 and measure both clouds at every τ.

    Parameters
    ----------
    y_train, y_test : ndarray of shape (N, d)
        Training and held-out points, finite, N >= 2 (of order-one scale: the prior is N(0, I)).
    m : int
        Random features, >= 1 (drawn with ``draw_features(m, d, seed, T)``).
    taus : sequence of float
        Training times, > 0.
    seed : int
        Feature seed.
    T, t0 : float
        OU horizon, and the time where the losses start and the ODE sampler stops (t0 > 0 keeps the
        density of a model trained on finitely many points finite at the points themselves).
    n_steps : int
        RK4 steps of the ODE (graded towards t0).
    rtol : float
        Bound on B̂1's relative Frobenius error (:func:`empirical.rf.relu_gram.relu_gram`).
    samples : int
        Draws of the model's reverse-SDE sampler at the last τ (Euler–Maruyama on ``n_steps`` steps
        graded towards t0, from ``default_rng(seed)``); 0 draws none.

    Returns
    -------
    CloudFit

    Raises
    ------
    ValueError
        If a cloud is not a finite (N, d) array with N >= 2, the clouds' d differ, or m, τ, T, t0 are out
        of range (the message names the parameter).

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.measure.point_cloud import fit_cloud
    >>> rng = np.random.default_rng(0)
    >>> fit = fit_cloud(rng.standard_normal((40, 3)), rng.standard_normal((20, 3)), m=32, taus=(1.0, 1e4), seed=0)
    >>> bool(fit.train_loss[-1] < fit.train_loss[0])  # the flow lowers the loss it minimises
    True
    >>> bool(fit.gap[-1] > fit.gap[0])  # and overfits: the NLL gap grows with training
    True
    """
    y_train, y_test, m, taus, sde = _checked_fit(y_train, y_test, m, taus, T, t0)
    d = y_train.shape[1]
    features = draw_features(m, d, seed, T=T)
    train = empirical_losses(y_train, features, sde, ("std",), t0=t0, rtol=rtol)["std"]
    test = empirical_losses(y_test, features, sde, ("std",), t0=t0, rtol=rtol)["std"]
    A = gradient_flow(train, taus)
    nll = {"train": [], "test": []}
    for a in A:
        score = RFScore(features, a)
        for name, y in (("train", y_train), ("test", y_test)):
            v = -ode_logq(sde, score, y, t0, n_steps) / d
            nll[name].append((v.mean(), v.std(ddof=1) / np.sqrt(v.size)))
    tr, te = np.array(nll["train"]), np.array(nll["test"])
    rng = np.random.default_rng(seed)
    drawn = (reverse_sde_samples(sde, RFScore(features, A[-1]), samples, time_steps(t0, T, n_steps),
                                 rng, rng.standard_normal((samples, d))) if samples else np.zeros((0, d)))
    return CloudFit(taus, train.value(A), test.value(A), tr[:, 0], te[:, 0], tr[:, 1], te[:, 1], drawn)


def cloud_halves(y_train: np.ndarray, y_test: np.ndarray, m: int, taus, seed: int, ns, T: float = 5.0,
                 t0: float = 1e-3, rtol: float = 1e-6) -> dict:
    """Two halves on a point cloud (real data): for each n of ``ns``, the first n training points split into halves,
    both trained by the exact flow (9) with the same features (as :func:`empirical.measure.point_cloud.fit_cloud` trains
    one model: OU with horizon T, λ = 'std' from t0), and their score distance D(τ) weighted by the held-out
    points' noised law (:func:`score_distance` with the empirical 'g2' loss of ``y_test``).

    Parameters
    ----------
    y_train, y_test : ndarray of shape (N, d)
        Training and held-out points, finite, of order-one scale.
    m, seed : int
        Features ``draw_features(m, d, seed, T)``.
    taus : sequence of float
        Training times, > 0.
    ns : sequence of int
        Training-set sizes, each in [2, N].
    T, t0, rtol : float
        As :func:`~empirical.measure.point_cloud.fit_cloud`.

    Returns
    -------
    dict
        ``n`` (list), ``tau`` (list), ``score_distance`` (len(ns) x len(taus)).

    Raises
    ------
    ValueError
        Naming ``ns`` when a size is outside [2, N], or the argument that is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from empirical.measure.point_cloud import cloud_halves
    >>> rng = np.random.default_rng(0)
    >>> out = cloud_halves(rng.standard_normal((40, 2)), rng.standard_normal((20, 2)), 16, (1e2, 1e4), 0, (10, 40))
    >>> np.shape(out["score_distance"]), bool(np.all(np.asarray(out["score_distance"]) > 0))
    ((2, 2), True)
    """
    y_train, y_test, m, taus, sde = _checked_fit(y_train, y_test, m, taus, T, t0)
    ns = [int(n) for n in ns]
    if not ns or any(n < 2 or n > y_train.shape[0] for n in ns):
        raise ValueError(f"ns must be sizes in [2, {y_train.shape[0]}] (the training points), got {ns}")
    features = draw_features(m, y_train.shape[1], seed, T=T)
    weight = empirical_loss(y_test, features, sde, "g2", t0=t0, rtol=rtol)
    rows = []
    for n in ns:
        x1, x2 = split_halves(y_train[:n])
        rows.append(score_distance(weight, *train_halves(x1, x2, features, sde, taus, "std", t0, rtol=rtol)).tolist())
    return {"n": ns, "tau": taus.tolist(), "score_distance": rows}
