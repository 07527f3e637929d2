"""The paper's MNIST protocol (Figs. 6-7, docs/theory.md §10): z-scores, PCA, k-means, pairs, splits.

The authors z-scored every pixel, reduced to 100 PCA components, ran k-means with K = 30 in PCA space,
mapped the centres back to pixel (z) space, took the nearest and the farthest pair of centres
(Euclidean), cut both pairs' subsets to one size and split each 80/20 into train and test. Here every
random choice comes from an explicit seed and is recorded on the returned object; PCA and k-means are
scikit-learn's (exact ``svd_solver="full"`` PCA; k-means with ``n_init`` = :data:`N_INIT` restarts).

Choices the paper leaves open are stated where they are made: constant pixels (:func:`zscore`), how
a pair's subset is drawn (:func:`split_pair`), a pair's spread (:func:`pair_spread`) and the scaling of
the coordinates a score model trains in (:func:`pca_coordinates`, fitted on training rows only).

References
----------
arXiv:2311.01797, Figs. 6-7 and Remark 7; docs/theory.md §10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

N_INIT = 10
"""k-means restarts (sklearn's classic default): the best of 10 seeded initialisations."""


def _one_thread():
    # PCA and k-means run on one thread: the problems are small, sweeps run in parallel processes, and
    # on a loaded 2-core machine OpenMP's spin-waiting made k-means 30x slower (9.6 s against 0.3 s for
    # K = 10 on the 5,000 digits); one thread also makes the result independent of the core count.
    return threadpool_limits(limits=1)


def _rows(z: np.ndarray, name: str = "z") -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 2 or not np.all(np.isfinite(z)):
        raise ValueError(f"{name}: expected a finite (N, D) array with N >= 2, got shape {z.shape}")
    return z


def zscore(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel z-scores, as the authors' model trained on (docs/theory.md §10).

    Constant pixels (std 0) get std 1, so their z-score is 0 and the map stays invertible:
    ``images = z * std + mean``.

    Parameters
    ----------
    images : array_like, shape (N, D)

    Returns
    -------
    z : ndarray, shape (N, D)
    mean, std : ndarray, shape (D,)
        Over the N rows (population std, ddof 0).

    Examples
    --------
    >>> z, mean, std = zscore(np.array([[0, 5, 1], [2, 5, 3]]))
    >>> z.tolist(), mean.tolist(), std.tolist()
    ([[-1.0, 0.0, -1.0], [1.0, 0.0, 1.0]], [1.0, 5.0, 2.0], [1.0, 1.0, 1.0])
    """
    x = _rows(images, "images")
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return (x - mean) / std, mean, std


@dataclass(frozen=True, eq=False)
class Clustering:
    """k-means of the z-scored digits in PCA space (:func:`cluster`).

    ``K``, ``n_components``, ``seed``: the parameters; ``labels`` (N,): the cluster of each row;
    ``centres_pca`` (K, n_components); ``centres_pixels`` (K, D): the centres mapped back to z-pixel
    space by the PCA's inverse transform; ``distances`` (K, K): Euclidean, between ``centres_pixels``;
    ``sizes`` (K,): points per cluster; ``explained_variance``: fraction of z-variance the PCA keeps.
    """

    K: int
    n_components: int
    seed: int
    labels: np.ndarray
    centres_pca: np.ndarray
    centres_pixels: np.ndarray
    distances: np.ndarray
    sizes: np.ndarray
    explained_variance: float


def cluster(z: np.ndarray, K: int = 30, n_components: int = 100, seed: int = 0) -> Clustering:
    """PCA to ``n_components``, then k-means with K clusters in PCA space (the paper's protocol).

    Parameters
    ----------
    z : array_like, shape (N, D)
        z-scored rows (:func:`zscore`).
    K : int
        Clusters, 2 <= K <= N (the paper: 30, on 70,000 digits).
    n_components : int
        PCA components, 1 <= n_components <= min(N, D) (the paper: 100).
    seed : int
        ``random_state`` of PCA and k-means: the same seed gives the same labels and centres.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = np.concatenate([rng.normal(-5, 1, (20, 4)), rng.normal(5, 1, (20, 4))])
    >>> c = cluster(z, K=2, n_components=2, seed=0)
    >>> c.sizes.tolist(), bool(c.distances[0, 1] > 15)
    ([20, 20], True)
    """
    z = _rows(z)
    n, dim = z.shape
    if not isinstance(K, (int, np.integer)) or not 2 <= K <= n:
        raise ValueError(f"K: need an integer with 2 <= K <= N = {n}, got {K!r}")
    if not isinstance(n_components, (int, np.integer)) or not 1 <= n_components <= min(n, dim):
        raise ValueError(f"n_components: need an integer in [1, {min(n, dim)}], got {n_components!r}")
    with _one_thread():
        pca = PCA(n_components=int(n_components), svd_solver="full", random_state=seed)
        y = pca.fit_transform(z)
        km = KMeans(n_clusters=int(K), n_init=N_INIT, random_state=seed).fit(y)
    centres_pca = km.cluster_centers_
    centres_pixels = pca.inverse_transform(centres_pca)
    return Clustering(K=int(K), n_components=int(n_components), seed=int(seed), labels=km.labels_.astype(np.int64),
                      centres_pca=centres_pca, centres_pixels=centres_pixels,
                      distances=cdist(centres_pixels, centres_pixels), sizes=np.bincount(km.labels_, minlength=K),
                      explained_variance=float(pca.explained_variance_ratio_.sum()))


def ranked_pairs(c: Clustering, min_size: int = 1) -> list[tuple[int, int, float]]:
    """Every pair (i, j), i < j, of clusters with >= ``min_size`` points each, with its centre
    distance, nearest first (ties by (i, j)).

    ``min_size`` = 1 is the paper's protocol. On the 5,000 digits, K = 30 leaves clusters of 1-4
    outlier digits (a pixel lit in one image has z-score 70) whose centres are the farthest apart, so
    the farthest pair has 2 points; a ``min_size`` keeps the comparison to real clusters.

    Examples
    --------
    >>> c = cluster(np.array([[0.], [0.1], [3.], [3.1], [10.], [10.1]]), K=3, n_components=1)
    >>> [round(d, 2) for _, _, d in ranked_pairs(c)]
    [3.0, 7.0, 10.0]
    """
    if not isinstance(min_size, (int, np.integer)) or not 1 <= min_size <= c.sizes.max():
        raise ValueError(f"min_size: need an integer in [1, {c.sizes.max()}], got {min_size!r}")
    i, j = np.triu_indices(c.K, k=1)
    keep = np.minimum(c.sizes[i], c.sizes[j]) >= min_size
    if not keep.any():
        raise ValueError(f"min_size: no two clusters have {min_size} points each (sizes {c.sizes.tolist()})")
    i, j = i[keep], j[keep]
    d = c.distances[i, j]
    order = np.argsort(d, kind="stable")  # stable: equal distances keep their (i, j) order
    return [(int(i[k]), int(j[k]), float(d[k])) for k in order]


def nearest_pair(c: Clustering, min_size: int = 1) -> tuple[int, int]:
    """The two clusters whose centres are closest (i < j), among those of >= ``min_size`` points.

    Examples
    --------
    >>> c = cluster(np.array([[0.], [0.1], [3.], [3.1], [10.], [10.1]]), K=3, n_components=1)
    >>> sorted(c.centres_pixels[list(nearest_pair(c)), 0].round(2).tolist())
    [0.05, 3.05]
    """
    i, j, _ = ranked_pairs(c, min_size)[0]
    return i, j


def farthest_pair(c: Clustering, min_size: int = 1) -> tuple[int, int]:
    """The two clusters whose centres are farthest apart (i < j), among those of >= ``min_size`` points.

    Examples
    --------
    >>> c = cluster(np.array([[0.], [0.2], [9.], [9.2], [4.], [4.2]]), K=3, n_components=1)
    >>> bool(c.distances[farthest_pair(c)] == c.distances.max()), round(float(c.distances.max()), 6)
    (True, 9.0)
    """
    i, j, _ = max(ranked_pairs(c, min_size), key=lambda p: p[2])  # max keeps the first of equal distances
    return i, j


def _check_pair(c: Clustering, pair: tuple[int, int]) -> tuple[int, int]:
    i, j = (int(p) for p in pair)
    if i == j or not (0 <= i < c.K and 0 <= j < c.K):
        raise ValueError(f"pair: need two different clusters in 0..{c.K - 1}, got {tuple(pair)}")
    return min(i, j), max(i, j)


def pair_spread(c: Clustering, z: np.ndarray, pair: tuple[int, int]) -> float:
    """Scale of a pair: the root-mean-square distance of its points to their own centre, in z-space.

    ``center_distance / pair_spread`` is the pair's separation in units of its own width, to see
    whether normalising by the spread changes the ranking (the paper's Remark 7: rescaling does not fix
    modes shift). The distance is to the centre in z-pixel space (``centres_pixels``), so it includes
    the part of each point the PCA drops.

    Examples
    --------
    >>> z = np.array([[-1., 0.], [1., 0.], [9., 0.], [11., 0.]])
    >>> c = cluster(z, K=2, n_components=2)
    >>> round(pair_spread(c, z, (0, 1)), 6)
    1.0
    """
    i, j = _check_pair(c, pair)
    z = _rows(z)
    if z.shape != (c.labels.size, c.centres_pixels.shape[1]):
        raise ValueError(f"z: shape {z.shape}, expected {(c.labels.size, c.centres_pixels.shape[1])} (the clustered rows)")
    members = np.flatnonzero((c.labels == i) | (c.labels == j))
    residual = z[members] - c.centres_pixels[c.labels[members]]
    return float(np.sqrt(np.mean(np.sum(residual**2, axis=1))))


def common_size(c: Clustering, pairs: list[tuple[int, int]]) -> int:
    """The paper's "same sample count": the smallest total size over the pairs compared.

    Examples
    --------
    >>> c = cluster(np.array([[0.], [0.1], [0.2], [3.], [3.1], [10.]]), K=3, n_components=1)
    >>> common_size(c, [nearest_pair(c), farthest_pair(c)])
    4
    """
    return int(min(c.sizes[i] + c.sizes[j] for i, j in (_check_pair(c, p) for p in pairs)))


@dataclass(frozen=True, eq=False)
class PairSplit:
    """A seeded subset of one cluster pair, split into train and test (:func:`split_pair`).

    ``pair``: the clusters (i < j); ``center_distance``: between their centres (z-pixel space);
    ``train_idx``, ``test_idx``: sorted, disjoint indices into the clustered rows; ``seed``: of the draws.
    """

    pair: tuple[int, int]
    center_distance: float
    train_idx: np.ndarray
    test_idx: np.ndarray
    seed: int


def split_pair(c: Clustering, pair: tuple[int, int], size: int, seed: int, test_fraction: float = 0.2) -> PairSplit:
    """Draw ``size`` points from the union of two clusters, then split them train/test.

    Sampling without replacement, half from each cluster (the odd point from the larger cluster; a
    cluster with fewer than half gives all its points and the other fills the rest), so that pairs
    compared at the same size have comparable mixture weights. The test set takes
    ``round(test_fraction * size)`` points, stratified by cluster. All draws come from ``seed``.

    ``size``: 2 <= size <= the pair's total size (pass :func:`common_size` of the pairs compared);
    ``test_fraction`` in (0, 1), leaving at least one train and one test point (the paper: 0.2).

    Examples
    --------
    >>> c = cluster(np.array([[0.], [0.1], [0.2], [3.], [3.1], [10.]] * 5), K=3, n_components=1)
    >>> s = split_pair(c, nearest_pair(c), size=20, seed=0)
    >>> len(s.train_idx), len(s.test_idx), bool(np.intersect1d(s.train_idx, s.test_idx).size == 0)
    (16, 4, True)
    """
    i, j = _check_pair(c, pair)
    total = int(c.sizes[i] + c.sizes[j])
    if not isinstance(size, (int, np.integer)) or not 2 <= size <= total:
        raise ValueError(f"size: need an integer with 2 <= size <= {total} (clusters {i}, {j}), got {size!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: need 0 < test_fraction < 1, got {test_fraction!r}")
    n_test = int(round(test_fraction * size))
    if not 1 <= n_test <= size - 1:
        raise ValueError(f"test_fraction: {test_fraction} of size {size} leaves an empty train or test set")
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(c.labels == k) for k in (i, j)]
    small = 0 if members[0].size <= members[1].size else 1
    take = [0, 0]
    take[small] = min(size // 2, members[small].size)
    take[1 - small] = size - take[small]
    chosen = [rng.choice(members[k], take[k], replace=False) for k in (0, 1)]  # each in random order
    # Stratify: each cluster gives its rounded share of the test set; as n_test < size, neither share
    # can exceed what the cluster gave.
    cut = [int(round(n_test * take[0] / size))]
    cut.append(n_test - cut[0])
    test = np.concatenate([chosen[k][:cut[k]] for k in (0, 1)])
    train = np.concatenate([chosen[k][cut[k]:] for k in (0, 1)])
    return PairSplit(pair=(i, j), center_distance=float(c.distances[i, j]), train_idx=np.sort(train),
                     test_idx=np.sort(test), seed=int(seed))


@dataclass(frozen=True, eq=False)
class PCASpace:
    """Whitened-by-one-scalar PCA coordinates fitted on training rows (:func:`pca_coordinates`).

    ``encode(z) = (z - mean) @ components.T / scale``, ``decode(y) = y * scale @ components + mean``;
    ``mean`` (D,): the training mean in z-space; ``components`` (d, D): orthonormal rows by decreasing
    variance; ``scale``: the one scalar dividing the coordinates (the training coordinates have mean
    square 1, averaged over coordinates); ``seed``; ``explained_variance``: training z-variance kept.
    """

    mean: np.ndarray
    components: np.ndarray
    scale: float
    seed: int
    explained_variance: float

    @property
    def d(self) -> int:
        """Number of coordinates."""
        return int(self.components.shape[0])

    def encode(self, z_rows: np.ndarray) -> np.ndarray:
        """z-pixel rows (N, D) to coordinates (N, d).

        Examples
        --------
        >>> pca_coordinates(np.eye(4), np.arange(4), d=2, seed=0).encode(np.eye(4)).shape
        (4, 2)
        """
        z_rows = np.atleast_2d(np.asarray(z_rows, dtype=np.float64))
        if z_rows.shape[1] != self.mean.size:
            raise ValueError(f"z_rows: {z_rows.shape[1]} columns, expected {self.mean.size}")
        return (z_rows - self.mean) @ self.components.T / self.scale

    def decode(self, y: np.ndarray) -> np.ndarray:
        """Coordinates (N, d) back to z-pixel rows (N, D) (the projection onto the PCA subspace).

        Examples
        --------
        >>> x = np.array([[1., 2., 0.], [3., 6., 0.], [5., 10., 0.]])
        >>> space = pca_coordinates(x, np.arange(3), d=1, seed=0)
        >>> np.allclose(space.decode(space.encode(x)), x)
        True
        """
        y = np.atleast_2d(np.asarray(y, dtype=np.float64))
        if y.shape[1] != self.d:
            raise ValueError(f"y: {y.shape[1]} columns, expected d = {self.d}")
        return (y * self.scale) @ self.components + self.mean

    def to_pixels(self, y: np.ndarray, mean: np.ndarray, std: np.ndarray, clip: bool = True) -> np.ndarray:
        """Coordinates to pixel values, undoing :func:`zscore` with its ``mean`` and ``std``.

        Clipped to [0, 255] by default: decoded samples of a model can leave the pixel range, and a
        grid of images needs valid values (pass ``clip=False`` to see how far they leave it). Not rounded.

        Examples
        --------
        >>> images = np.array([[0., 255.], [255., 0.], [0., 0.]])
        >>> z, mean, std = zscore(images)
        >>> space = pca_coordinates(z, np.arange(3), d=2, seed=0)
        >>> np.allclose(space.to_pixels(space.encode(z), mean, std), images)
        True
        """
        mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
        if mean.shape != self.mean.shape or std.shape != self.mean.shape:
            raise ValueError(f"mean, std: shapes {mean.shape}, {std.shape}, expected {self.mean.shape} (from zscore)")
        pixels = self.decode(y) * std + mean
        return np.clip(pixels, 0.0, 255.0) if clip else pixels


def pca_coordinates(z: np.ndarray, train_idx: np.ndarray, d: int, seed: int) -> PCASpace:
    """The d-dimensional coordinates a score model trains in, fitted on the training rows only.

    PCA (exact, ``svd_solver="full"``, so ``seed`` is recorded but draws nothing) of ``z[train_idx]``;
    the coordinates are divided by one scalar so that the training cloud has unit mean variance per
    coordinate, as data for a diffusion with prior N(0, I) should be of order 1. One scalar rather than
    per-coordinate whitening keeps the cloud's shape (the spectrum the model must learn) and is
    exactly invertible on the subspace. The test rows never enter the fit (no leakage).

    Parameters
    ----------
    z : array_like, shape (N, D)
    train_idx : array_like of int
        Rows to fit on, distinct, at least 2; ``d`` must be <= min(D, len(train_idx)).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(50, 6)) * [5, 3, 1, 1, 1, 1]
    >>> space = pca_coordinates(z, np.arange(40), d=3, seed=0)
    >>> y = space.encode(z[:40]); y.shape, round(float(np.mean(y**2)), 12)
    ((40, 3), 1.0)
    """
    z = _rows(z)
    train_idx = np.asarray(train_idx)
    if (train_idx.ndim != 1 or train_idx.size < 2 or not np.issubdtype(train_idx.dtype, np.integer)
            or np.unique(train_idx).size != train_idx.size or train_idx.min() < 0 or train_idx.max() >= len(z)):
        raise ValueError(f"train_idx: need >= 2 distinct integer row indices in [0, {len(z)})")
    if not isinstance(d, (int, np.integer)) or not 1 <= d <= z.shape[1]:
        raise ValueError(f"d: need an integer in [1, {z.shape[1]}], got {d!r}")
    if d > train_idx.size:
        raise ValueError(f"d: {d} exceeds the {train_idx.size} training rows")
    with _one_thread():
        pca = PCA(n_components=int(d), svd_solver="full", random_state=seed).fit(z[train_idx])
        raw = pca.transform(z[train_idx])
    scale = float(np.sqrt(np.mean(raw**2)))
    if not scale > 0:
        raise ValueError("z: the training rows are all equal (zero variance); no coordinates to scale")
    return PCASpace(mean=pca.mean_, components=pca.components_, scale=scale, seed=int(seed),
                    explained_variance=float(pca.explained_variance_ratio_.sum()))
