"""Target distributions p0 with exact diffused densities p_t and scores (docs/theory.md §5-§6).

- :func:`two_mode`: Theorem 2's mixture q1 N(-µ, 1) + q2 N(µ, 1); :func:`gaussian`: one Gaussian
  (closed forms everywhere); :func:`empirical`: the empirical measure p̂0 of a training set.
- :func:`two_bumps`, :func:`bump`: compactly supported C¹ targets for Theorem 1.
- :class:`ProductTarget`: targets in R^d, products of 1-D targets in a rotated frame (exact scores);
  :func:`two_mode_nd`, :func:`two_bumps_nd` (Theorems 2 and 1 in R^d), :func:`random_direction`.
- :class:`Target` / :class:`Target1D`: the protocol every target implements.

References
----------
arXiv:2311.01797, Theorem 1 (compact support) and Theorem 2 (two-mode mixture).
"""

from .bump import Bump1D, bump, two_bumps
from .mixture import GaussianMixture1D, empirical, gaussian, two_mode
from .product import ProductTarget, random_direction, two_bumps_nd, two_mode_nd
from .protocol import Target, Target1D

__all__ = ["Bump1D", "GaussianMixture1D", "ProductTarget", "Target", "Target1D", "bump", "empirical", "gaussian",
           "random_direction", "two_bumps", "two_bumps_nd", "two_mode", "two_mode_nd"]
