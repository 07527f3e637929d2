"""Runs measurements through the resumable result store, as tasks of an :class:`~verification.store.execution.Executor`
(this process, a local Dask cluster, or an existing scheduler), with a progress bar over each sweep.

Results come back typed (:class:`empirical.measure.Measurement`, without models) and identical whether
they were computed now, on any worker, or read from the store: all go through the same JSON, and every
task runs single-threaded (:func:`verification.store.execution.pinned`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from empirical.measure import KL_NUMERICS, NUMERICS_VERSION, MeasureConfig, Measurement, measure

from .cache import ResultCache, config_key
from .execution import Execution, Executor, SchedulerLost, pinned

_T = TypeVar("_T")


def progress(iterable: Iterable[_T], desc: str, enabled: bool = True, total: int | None = None) -> Iterable[_T]:
    """Iterate with a tqdm progress bar on stderr (stdout stays clean); ``enabled=False`` is silent."""
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, disable=not enabled, file=sys.stderr, dynamic_ncols=True)


def measure_json(config: MeasureConfig) -> dict:
    """One task: ``measure(config)`` as its JSON object (what the store keeps)."""
    return measure(config).to_json()


def store_key(config: MeasureConfig) -> dict:
    """The store's key of a measurement: the full configuration and the numerics version
    (:data:`empirical.measure.NUMERICS_VERSION`, and :data:`empirical.measure.KL_NUMERICS` of the KLs it
    measures, when any), so a result of older numerics is never reused."""
    versions = {k: v for k, v in KL_NUMERICS.items() if k in config.kl}
    return {"numerics": NUMERICS_VERSION, **({"kl_numerics": versions} if versions else {}), **config.to_dict()}


class Runner:
    """Runs measurements through a store (None: no store) on an executor (default: this process, serially),
    with a progress bar over each sweep.

    ``history`` holds every measurement of every sweep run by :meth:`run_all`, in order: the exact
    checks of the report (Lemmas 4-5, K2 <= K1) are asserted on all of them. ``checkpoint_pairs`` holds
    (K1, K2) of every checkpoint of a trained network that a section measured: K2 <= K1 is asserted there too.
    """

    def __init__(self, cache: ResultCache | None, show_progress: bool = True, executor: Executor | None = None) -> None:
        self.cache = cache
        self.show_progress = show_progress
        self.executor = executor or Executor(Execution(workers=1))
        self.history: list[Measurement] = []
        self.checkpoint_pairs: list[tuple[float, float]] = []

    def run(self, config: MeasureConfig) -> Measurement:
        """``measure(config)`` without its models, from the store when it was computed before."""
        return Measurement.from_json(self.cached(store_key(config), lambda: measure_json(config)))

    def run_all(self, configs: Sequence[MeasureConfig], desc: str) -> list[Measurement]:
        """:meth:`run` over a sweep: the configurations not in the store run as tasks of the executor, each
        stored as it finishes; results in the order of ``configs``, also appended to ``history``."""
        found = self.run_tasks(measure_json, configs, [store_key(c) for c in configs], "measure", desc)
        results = [Measurement.from_json(obj) for obj in found]
        self.history.extend(results)
        return results

    def run_tasks(self, fn: Callable[[Any], dict], items: Sequence[Any], keys: Sequence[dict], name: str,
                  desc: str) -> list[dict]:
        """``fn(item)`` (a JSON-ready dict) for each item: those not in the store under their ``keys`` run as
        tasks of the executor (named ``name``-hash), each stored as it finishes; results in item order."""
        found = [self.cache.get(k) if self.cache is not None else None for k in keys]
        todo = [i for i, f in enumerate(found) if f is None]

        def keep(j: int, result: dict) -> None:
            i = todo[j]
            found[i] = self.cache.put(keys[i], result) if self.cache is not None else result

        try:
            self.executor.map(fn, [items[i] for i in todo], [f"{name}-{config_key(keys[i])}" for i in todo],
                              keep, lambda it: progress(it, desc, self.show_progress, total=len(todo)))
        except SchedulerLost as err:
            if self.cache is None:
                raise
            stored = sum(found[i] is not None for i in todo)
            raise SchedulerLost(f"{err}; the {stored} results that arrived are stored in {self.cache.directory}: "
                                "rerun the same command to reuse them") from None
        return found

    def cached(self, key: dict, fn: Callable[[], dict]) -> dict:
        """``fn()`` (a JSON-ready dict, computed single-threaded in this process), stored under ``key``."""
        return pinned(fn) if self.cache is None else self.cache.get_or_compute(key, lambda _: pinned(fn))
