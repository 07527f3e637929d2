"""One measurement of the model (12) and the measurements built on it.

:func:`measure` (:mod:`~empirical.measure.run`) trains the model by the exact flows and measures K1..K4 and the
decomposition (15) at every τ of a :class:`MeasureConfig` (:mod:`~empirical.measure.config`), returning a
:class:`Measurement` (:mod:`~empirical.measure.measurement`); the decomposition (:mod:`~empirical.measure.decomposition`),
the lemma checks and their second evaluations (:mod:`~empirical.measure.lemma_checks`,
:mod:`~empirical.measure.independent`), and for the later theories the memorised fraction
(:mod:`~empirical.measure.memorisation`), two halves (:mod:`~empirical.measure.halves`), exact curves along the flow
(:mod:`~empirical.measure.exact_curves`), point clouds (:mod:`~empirical.measure.point_cloud`) and the Gaussian
floor (:mod:`~empirical.measure.gaussian_floor`).

Examples
--------
>>> from empirical.measure import MeasureConfig, measure
>>> r = measure(MeasureConfig(n=8, m=8, taus=(1.0, 100.0), kl=("K1",), m_ref_factor=0))
>>> r.K["K1"].shape
(2,)
"""

from .config import DEFAULT_MU, DEFAULT_TAUS, KL_NAMES, LAMBDAS, LIMITS, TARGETS, MeasureConfig, available_kls
from .measurement import Measurement, make_target, seeds
from .run import KL_NUMERICS, NUMERICS_VERSION, TAIL_DECADES, measure

__all__ = ["DEFAULT_MU", "DEFAULT_TAUS", "KL_NAMES", "KL_NUMERICS", "LAMBDAS", "LIMITS", "Measurement", "MeasureConfig",
           "NUMERICS_VERSION", "TAIL_DECADES", "TARGETS", "available_kls", "config", "decomposition", "exact_curves",
           "gaussian_floor", "halves", "independent", "lemma_checks", "make_target", "measure", "measurement",
           "memorisation", "outputs", "point_cloud", "run", "seeds"]
