"""Random-feature score models of (12), their exact gradient flows (9)-(10) and KL measurements.

The measurement engine of the verification suite: targets p0 and the forward SDE (2)
(:mod:`empirical.sde`, :mod:`empirical.targets`), the model (12) (:mod:`empirical.rf.features`), its
losses (5)-(7) and Lemma 3 (:mod:`empirical.rf.loss`), the exact flows (9)-(10)
(:mod:`empirical.rf.flow`), the decomposition (15) (:mod:`empirical.measure.decomposition`), the comparator of
Lemma 4 (:mod:`empirical.rf.comparator`), the four KLs K1-K4 (:mod:`empirical.kl`), the second evaluations
behind the exact checks (:mod:`empirical.measure.independent`) and one whole measurement (:mod:`empirical.measure`). For the later
theories (docs/theory.md §11.1): the memorised fraction of the sampler (:mod:`empirical.measure.memorisation`),
finite noise draws per point (:mod:`empirical.rf.noise_draws`), two models trained on disjoint halves
(:mod:`empirical.measure.halves`) and the Gaussian floor KL(p0 ‖ N(m, Σ)) (:mod:`empirical.measure.gaussian_floor`).

References
----------
P. Li, Z. Li, H. Zhang, J. Bian, "On the Generalization Properties of Diffusion Models",
NeurIPS 2023, arXiv:2311.01797; docs/theory.md §12 maps each result to its module.
"""

__all__ = ["checks", "kl", "measure", "mnist", "quadrature", "resources", "rf", "scores", "sde", "targets", "timing",
           "training"]
"""The public subpackages and modules: the engine is used through them (``from empirical.measure import measure``)."""
