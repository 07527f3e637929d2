"""Runs measurements through the resumable cache, with a progress bar over each sweep.

Results come back typed (:class:`empirical.measure.Measurement`, without models) and identical
whether they were computed now or read from the cache: both go through the same JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from empirical.measure import NUMERICS_VERSION, MeasureConfig, Measurement, measure

from .cache import ResultCache

_T = TypeVar("_T")


def progress(iterable: Iterable[_T], desc: str, enabled: bool = True, total: int | None = None) -> Iterable[_T]:
    """Iterate with a tqdm progress bar on stderr (stdout stays clean); ``enabled=False`` is silent."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, disable=not enabled, file=sys.stderr, dynamic_ncols=True)


class Runner:
    """Runs measurements through a cache (None: no cache), with a progress bar over each sweep.

    ``history`` holds every measurement of every sweep run by :meth:`run_all`, in order: the exact
    checks of the report (Lemmas 4-5, K2 <= K1) are asserted on all of them.
    """

    def __init__(self, cache: ResultCache | None, show_progress: bool = True) -> None:
        self.cache = cache
        self.show_progress = show_progress
        self.history: list[Measurement] = []

    def run(self, config: MeasureConfig) -> Measurement:
        """``measure(config)`` without its models, from the cache when it was computed before.

        The cache key holds :data:`empirical.measure.NUMERICS_VERSION`, so a result computed by older
        numerics is never reused."""
        obj = self.cached({"numerics": NUMERICS_VERSION, **config.to_dict()}, lambda: measure(config).to_json())
        return Measurement.from_json(obj)

    def run_all(self, configs: Sequence[MeasureConfig], desc: str) -> list[Measurement]:
        """:meth:`run` over a sweep with a progress bar; the results are also appended to ``history``."""
        results = [self.run(c) for c in progress(configs, desc, self.show_progress, total=len(configs))]
        self.history.extend(results)
        return results

    def cached(self, key: dict, fn: Callable[[], dict]) -> dict:
        """``fn()`` (a JSON-ready dict), stored under ``key`` in the cache."""
        return fn() if self.cache is None else self.cache.get_or_compute(key, lambda _: fn())
