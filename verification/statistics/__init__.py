"""Rates and shapes without constants (docs/theory.md §8.2): power-law fits and trends
(:mod:`~verification.statistics.stats`), polynomial against exponential growth (:mod:`~verification.statistics.growth`)
and the later theories' statistics (:mod:`~verification.statistics.later_stats`).
"""

__all__ = ["growth", "later_stats", "stats"]
