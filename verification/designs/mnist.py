"""The real-data experiment of Figs. 6–7 on the 5,000 MNIST digits, random-feature route (docs/theory.md §9).

Protocol (docs/theory.md §10, :mod:`empirical.mnist`): z-scores per pixel, PCA to 100 components, k-means with K
clusters, the nearest and the farthest pair of centres, equal-size subsets of both pairs, 80/20 split.
Per (pair, seed): the split is drawn with the seed; the PCA basis with d components is fitted on every
digit except the pair's held-out ones and scaled by one scalar to unit mean square (see
:func:`pca_basis`); the model (12) with m features (seeded) is trained by the exact flow on the training
points; the training and held-out DSM losses and ODE-NLLs (nats per PCA dimension, not comparable with
the paper's bits/dim in pixel space) are measured at every τ (:func:`empirical.measure.point_cloud.fit_cloud`).

Every task is a JSON-ready dict, stored by its parameters (:meth:`verification.store.runner.Runner.run_tasks`).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np

from empirical.mnist import cluster, common_size, farthest_pair, load_digits5k, nearest_pair, pair_spread, \
    pca_coordinates, ranked_pairs, split_pair, zscore
from empirical.measure.point_cloud import cloud_halves
from empirical.measure.point_cloud import fit_cloud

from ..store.runner import Runner

MNIST_VERSION = 2
"""Part of every task's store key: incremented when a change alters the numbers of a task."""


@dataclass(frozen=True)
class PairTask:
    """One fit: the pair (i, j) of clusters of a K-means clustering, a subset of ``size`` digits split by
    ``seed``, the model (12) with m features in d PCA coordinates trained to each τ of ``taus``."""

    K: int
    pair: tuple[int, int]
    size: int
    seed: int
    d: int
    m: int
    taus: tuple[float, ...]
    samples: int = 0
    cluster_seed: int = 0
    n_components: int = 100

    def key(self) -> dict:
        """The task's store key."""
        return {"mnist": MNIST_VERSION, **asdict(self)}


@functools.lru_cache(maxsize=1)
def _zscored() -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    digits = load_digits5k()
    z, mean, std = zscore(digits.images)
    return z, mean, std, digits.images.shape[0]


@functools.lru_cache(maxsize=4)
def clustering(K: int, seed: int = 0, n_components: int = 100):
    """The K-means clustering of the z-scored digits (memoised per process)."""
    return cluster(_zscored()[0], K=K, n_components=n_components, seed=seed)


def pca_basis(z: np.ndarray, test_idx: np.ndarray, d: int, seed: int):
    """The d-component PCA coordinates fitted on every digit except ``test_idx``.

    Why not the training points alone: PCA fitted on ~200 points overfits their variance, so held-out
    points projected on it are smaller and get a *lower* NLL than the training points (measured: gap
    -0.28 nats per dimension at τ = 1e5 for the nearest pair, K = 30, d = 32). The other ~4,950 digits
    give a basis that is neither fitted to the training subset nor to the held-out points (no leakage).
    """
    rest = np.setdiff1d(np.arange(z.shape[0]), test_idx)
    return pca_coordinates(z, rest, d, seed)


def run_pair(task: PairTask) -> dict:
    """The fit of one task (:func:`empirical.measure.point_cloud.fit_cloud`) with the pair's numbers."""
    z, mean, std, _ = _zscored()
    c = clustering(task.K, task.cluster_seed, task.n_components)
    split = split_pair(c, task.pair, task.size, task.seed)
    space = pca_basis(z, split.test_idx, task.d, task.seed)
    fit = fit_cloud(space.encode(z[split.train_idx]), space.encode(z[split.test_idx]), task.m, task.taus,
                    task.seed, samples=task.samples)
    out = {"task": task.key(), "center_distance": float(split.center_distance),
           "spread": float(pair_spread(c, z, task.pair)), "n_train": int(split.train_idx.size),
           "n_test": int(split.test_idx.size), "fit": fit.to_json()}
    if task.samples:
        out["sample_pixels"] = space.to_pixels(fit.samples, mean, std).tolist()
        shown = split.train_idx[np.linspace(0, split.train_idx.size - 1, task.samples).round().astype(int)]  # both clusters
        out["train_pixels"] = space.to_pixels(space.encode(z[shown]), mean, std).tolist()
    return out


@dataclass(frozen=True)
class Design:
    """Sizes of one MNIST experiment: K clusters (pairs of clusters with at least ``min_size`` digits),
    d PCA coordinates, m features, the τ grid, seeds for near/far, ``n_pairs`` ranked pairs (stratified
    by centre distance; at every seed when ``ranked_all_seeds``, else at the first), ``samples`` generated digits
    per pair for the figures, and ``trained_from``: the first τ at which the training losses are compared (fixed in
    advance: before it the flow has not trained, docs/theory.md §9.1)."""

    K: int
    d: int
    m: int
    taus: tuple[float, ...]
    seeds: tuple[int, ...]
    n_pairs: int
    min_size: int
    samples: int
    ranked_all_seeds: bool = True
    trained_from: float = 1e4


def design_pairs(design: Design) -> tuple[tuple[int, int], tuple[int, int], list[tuple[int, int]], int]:
    """(nearest pair, farthest pair, the ``n_pairs`` pairs sampled across the distance ranking, the digits per
    subset common to all of them) of a design's clustering."""
    c = clustering(design.K)
    near, far = nearest_pair(c, design.min_size), farthest_pair(c, design.min_size)
    ranked = ranked_pairs(c, design.min_size)
    pick = np.unique(np.linspace(0, len(ranked) - 1, design.n_pairs).round().astype(int)) if design.n_pairs else []
    sampled = [tuple(ranked[i][:2]) for i in pick]
    return near, far, sampled, common_size(c, [near, far, *sampled])


def experiment(runner: Runner, design: Design, desc: str = "MNIST pairs") -> dict:
    """Near and far pair at every seed, and ``n_pairs`` pairs across the distance ranking (at every seed, or the
    first only unless ``design.ranked_all_seeds``).

    Returns
    -------
    dict with "near" and "far" (lists of task results, one per seed), "ranked" (one per sampled pair, the first
    seed), "ranked_by_seed" (the same at every seed that ranks), "pairs" (the near and far pair), "size" (digits per
    subset) and "n_digits".
    """
    near, far, sampled, size = design_pairs(design)
    middle = [p for p in sampled if p not in (near, far)]  # the ranking's ends are the near and far pair
    tasks = [PairTask(design.K, p, size, s, design.d, design.m, design.taus, design.samples if s == design.seeds[0] else 0)
             for p in (near, far) for s in design.seeds]
    ranking_seeds = design.seeds if design.ranked_all_seeds else design.seeds[:1]
    tasks += [PairTask(design.K, p, size, s, design.d, design.m, design.taus) for s in ranking_seeds for p in middle]
    results = runner.run_tasks(run_pair, tasks, [t.key() for t in tasks], "mnist", desc)
    k, j = len(design.seeds), len(middle)
    near_runs, far_runs = results[:k], results[k:2 * k]
    by_seed = {s: sorted([near_runs[i], *results[2 * k + i * j: 2 * k + (i + 1) * j], far_runs[i]],
                         key=lambda r: r["center_distance"]) for i, s in enumerate(ranking_seeds)}
    return {"near": near_runs, "far": far_runs, "ranked": by_seed[design.seeds[0]],
            "ranked_by_seed": {str(s): v for s, v in by_seed.items()}, "pairs": [list(near), list(far)],
            "size": size, "n_digits": _zscored()[3], "design": asdict(design)}


def summary(result: dict) -> dict:
    """The ``diffgen mnist --json`` object: final-τ values of each pair, averaged over seeds."""
    out = {"n_digits": result["n_digits"], "unit": "nats per PCA dimension (RF route)"}
    for name in ("nearest", "farthest"):
        runs = result["near" if name == "nearest" else "far"]
        last = {k: float(np.mean([r["fit"][k][-1] for r in runs])) for k in ("train_loss", "test_loss", "train_nll", "test_nll")}
        pair = result["pairs"][0 if name == "nearest" else 1]
        out[name] = {"clusters": pair, "center_distance": runs[0]["center_distance"], "spread": runs[0]["spread"],
                     "n_train": runs[0]["n_train"], "n_test": runs[0]["n_test"], **last,
                     "gap": last["test_nll"] - last["train_nll"], "seeds": len(runs)}
    return out


@dataclass(frozen=True)
class HalvesTask:
    """Two halves on one pair (docs/theory.md §11.2): the pair's training points of the ``seed`` split, in the
    d PCA coordinates of :func:`pca_basis`, in a random order drawn from ``seed``; for each fraction f of ``fractions``
    the first round(f N) of them cut into halves and trained by the exact flow with the same m features; D(τ) weighted by the pair's held-out points."""

    K: int
    pair: tuple[int, int]
    size: int
    seed: int
    d: int
    m: int
    taus: tuple[float, ...]
    fractions: tuple[float, ...]
    cluster_seed: int = 0
    n_components: int = 100

    def key(self) -> dict:
        """The task's store key."""
        return {"mnist": MNIST_VERSION, "kind": "halves", **asdict(self)}


def run_pair_halves(task: HalvesTask) -> dict:
    """:func:`empirical.measure.halves.cloud_halves` on one pair: ``{"task", "center_distance", "n", "tau",
    "score_distance"}``."""
    z, _, _, _ = _zscored()
    c = clustering(task.K, task.cluster_seed, task.n_components)
    split = split_pair(c, task.pair, task.size, task.seed)
    space = pca_basis(z, split.test_idx, task.d, task.seed)
    # the split's indices are sorted, and the digits are stored by class: shuffle (seeded) before cutting
    order = np.random.default_rng(np.random.SeedSequence([task.seed, 2])).permutation(split.train_idx.size)
    y = space.encode(z[split.train_idx[order]])
    ns = sorted({max(2, int(round(f * len(y)))) for f in task.fractions})
    return {"task": task.key(), "center_distance": float(split.center_distance),
            **cloud_halves(y, space.encode(z[split.test_idx]), task.m, task.taus, task.seed, ns)}


def halves_experiment(runner: Runner, design: Design, fractions: tuple[float, ...],
                      desc: str = "MNIST pairs: two halves") -> dict:
    """Two halves on the nearest and the farthest pair at every seed of ``design``: ``{"near", "far"}`` (lists of
    :func:`run_pair_halves` results, one per seed) and ``"pairs"``."""
    near, far, _, size = design_pairs(design)  # the pairs and subset size of experiment()
    tasks = [HalvesTask(design.K, p, size, s, design.d, design.m, design.taus, tuple(fractions))
             for p in (near, far) for s in design.seeds]
    results = runner.run_tasks(run_pair_halves, tasks, [t.key() for t in tasks], "mnist", desc)
    k = len(design.seeds)
    return {"near": results[:k], "far": results[k:], "pairs": [list(near), list(far)], "size": size}
