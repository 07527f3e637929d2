"""The random-feature score model (12) and everything exact about it: the features and their score
(:mod:`~empirical.rf.features`), Lemma 3's coefficients in 1-D and in R^d (:mod:`~empirical.rf.coefficients`,
:mod:`~empirical.rf.coefficients_nd`, :mod:`~empirical.rf.gaussian_relu`, :mod:`~empirical.rf.relu_gram`), the
losses (5)-(7) as quadratic forms (:mod:`~empirical.rf.loss`, :mod:`~empirical.rf.quadratic`), the exact gradient
flows (9)-(10) (:mod:`~empirical.rf.flow`), the comparator of Lemma 4 (:mod:`~empirical.rf.comparator`) and the
empirical loss with k noise draws per point (:mod:`~empirical.rf.noise_draws`).

References
----------
arXiv:2311.01797, model (12), losses (5)-(7), Lemma 3, flows (9)-(10); docs/theory.md §2-§3.
"""

__all__ = ["coefficients", "coefficients_nd", "comparator", "features", "flow", "gaussian_relu", "loss", "noise_draws",
           "quadratic", "relu_gram"]
