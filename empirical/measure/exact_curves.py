"""K1, the held-out denoising loss and the model's optimum K1* along the exact empirical flow, as one stored task.

:class:`ExactCurves`: the model (12) trained by the exact empirical flow (9) on the sample and features that
:func:`empirical.measure.measure` draws from the same seed; along a τ grid, K1 (Lemma 2, exact), the held-out
denoising loss (the population loss (7) under the training weighting: the DSM loss (5) on fresh data minus a
constant, so its argmin over τ is the held-out loss's) and, once, K1* = min_θ K1(θ) (the model's optimum: the
minimiser of the population g² loss; K1 = ½ (T - t0) L̃_g2 + KL(p_T‖π)). K1(τ) - K1* is the KL excess of the
learned model over its optimum in K1's metric (Merger & Goldt, arXiv 2505.24769; docs/theory.md §11).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..rf.features import draw_features, rf_score
from ..rf.flow import gradient_flow
from ..kl import kl_score_bound
from ..rf.loss import empirical_loss, population_losses
from .run import MeasureConfig, make_target, seeds

__all__ = ["CURVES_VERSION", "ExactCurves", "run_curves"]

CURVES_VERSION = 1
"""Part of every :class:`ExactCurves` key (under "later", as the later-theories section first stored them):
incremented when a change alters the numbers of a task."""


@dataclass(frozen=True)
class ExactCurves:
    """K1, the held-out denoising loss along the exact empirical flow, and K1*, for one (n, m, d, seed) of the
    two-mode mixture (weights ½, ½, modes along e1), OU with horizon 5, t0 = 0, training weighting 'std'."""

    n: int
    m: int
    seed: int
    taus: tuple[float, ...]
    d: int = 1
    mu: float = 3.0

    def config(self) -> MeasureConfig:
        """The :class:`MeasureConfig` whose sample, features and flow these are (it checks every field)."""
        return MeasureConfig(n=self.n, m=self.m, d=self.d, mu=self.mu, taus=self.taus, seed=self.seed, kl=("K1",),
                             m_ref_factor=0)

    def key(self) -> dict:
        """The task's store key."""
        return {"later": CURVES_VERSION, "kind": "exact-curves", **asdict(self)}


def run_curves(task: ExactCurves) -> dict:
    """Measure one :class:`ExactCurves`: ``{"task", "tau", "K1", "heldout_loss", "K1_star", "kl_prior"}``.

    The sample and the features are those of :func:`empirical.measure.measure` with the same configuration, so
    K1 equals its K1 (tested). K1* is K1 at the minimum-norm minimiser of the population g² loss.

    Examples
    --------
    >>> from empirical.measure.exact_curves import ExactCurves, run_curves
    >>> r = run_curves(ExactCurves(n=8, m=16, seed=0, taus=(1.0, 1e4)))
    >>> min(r["K1"]) >= r["K1_star"] >= r["kl_prior"]
    True
    """
    c = task.config()
    target = make_target(c)
    data_rng, feature_seed = seeds(c.seed)
    x = target.sample(c.n, data_rng)
    features = draw_features(c.m, c.d, feature_seed, T=c.T)
    pop = population_losses(target, features, (c.lam, "g2"), t0=c.t0)
    A = gradient_flow(empirical_loss(x, features, target.sde, c.lam, t0=c.t0), np.asarray(c.taus))
    g2 = pop["g2"]
    k1 = np.atleast_1d(kl_score_bound(target, rf_score(features, A), c.t0, loss=g2))
    kl_prior = float(target.kl_to_prior())
    k1_star = 0.5 * g2.horizon * float(g2.value(g2.minimizer())) + kl_prior
    return {"task": task.key(), "tau": list(c.taus), "K1": k1.tolist(),
            "heldout_loss": np.atleast_1d(pop[c.lam].value(A)).tolist(), "K1_star": k1_star, "kl_prior": kl_prior}
