"""The hidden constants of "≲" and the held-out test of a bound (docs/theory.md §8.3): the linear program
(:mod:`~verification.calibrated.lp`), the fit (:mod:`~verification.calibrated.calibration`), the simplified theorems at
measured points (:mod:`~verification.calibrated.heldout`), the test (:mod:`~verification.calibrated.bound_test`), its
negative controls (:mod:`~verification.calibrated.controls`) and any user's bound through it
(:mod:`~verification.calibrated.user_bound`).
"""

__all__ = ["bound_test", "calibration", "controls", "heldout", "lp", "user_bound"]
