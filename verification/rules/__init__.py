"""Rules: the unit of judgement (docs/theory.md §8). Each claim of :mod:`verification.claims` names one rule; the
section that measures the claim hands the rule its data; the rule returns the verdict with the statistic, and
simulates its own false-alarm rate (``size``) and ``power`` from the same data (:mod:`.core`).

Rule types: :class:`Exact` (inequalities at every point), :class:`Rate`, :class:`Sign`, :class:`Separation`,
:class:`Detection`, :class:`Tolerance`, :class:`Equivalence` (t intervals over seeds), :class:`Trend` (Kendall),
:class:`ExactRise` and :class:`WindowRise` (early stopping), :class:`Growth` (polynomial against exponential),
:class:`OneMode` (mode counts), :class:`Fitted` (calibrated bounds), and :class:`Combined` (a claim over several
parts).
"""

from .combine import Combined, Parts, judge_combined
from .core import MAX_SIZE, MIN_POWER, Hypothesis, Judgement, Values, gate, judge, rng_for, seed_bootstrap
from .exact import Exact, Inequality
from .fitted import Fitted, FittedData
from .growth import Growth, GrowthData, growth_data
from .agreement import Equivalence, Tolerance
from .intervals import Detection, Rate, Separation, Sign
from .modes import Densities, OneMode
from .rise import Curves, ExactRise, Runs, WindowRise, runs_from
from .trend import Profile, Trend, profile_from

__all__ = ["MAX_SIZE", "MIN_POWER", "Combined", "Curves", "Densities", "Detection", "Equivalence", "Exact",
           "Fitted", "FittedData", "Growth", "GrowthData", "Hypothesis", "Inequality", "Judgement", "OneMode", "Parts",
           "Profile", "Rate", "Runs", "Separation", "Sign", "Tolerance", "Trend", "Values", "WindowRise", "gate",
           "growth_data", "judge", "judge_combined", "profile_from", "rng_for", "runs_from", "seed_bootstrap"]
