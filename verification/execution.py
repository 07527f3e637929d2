"""Where a sweep's tasks run: in this process, on a local Dask cluster, or on an existing Dask scheduler.

A sweep is a list of independent tasks (one measurement each). :class:`Executor` runs them

- serially in this process (``workers=1``), for debugging;
- on a ``distributed.LocalCluster`` of worker processes sized to the machine (the default);
- on an existing cluster (``scheduler="tcp://host:8786"``, or the environment variable
  ``DIFFGEN_SCHEDULER``), started with ``dask scheduler`` / ``dask worker`` or a batch-system launcher
  such as dask-jobqueue.

Every task runs with its BLAS (threadpoolctl) and torch threads pinned to 1, so any worker, however it
was started, computes the same bytes as the serial run; seeds travel inside the task's configuration.
Results come back in submission order, never in completion order. A task whose worker dies is
rescheduled by Dask on another worker (and retried up to ``RETRIES`` times if it raises), so nothing
already computed is lost: the caller stores each result as it arrives.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

SCHEDULER_ENV = "DIFFGEN_SCHEDULER"
RETRIES = 2
_TUNED = False
_T = TypeVar("_T")


MALLOC_THRESHOLD = 1 << 30
"""Bytes below which glibc keeps freed memory for reuse instead of returning it to the system."""


def tune_malloc() -> bool:
    """Keep large freed arrays in the heap (glibc ``mallopt``: mmap and trim thresholds at 1 GiB).

    A measurement allocates and frees (cells × features) arrays thousands of times. Under glibc's defaults
    (and Dask's nanny, which sets ``MALLOC_TRIM_THRESHOLD_=65536``) each is returned to the system and
    page-faulted back, which measured 3.3× slower (20 s against 6 s, two thirds of it system time) for 8
    measurements of n = 64, m = 256 with K2. The numbers are unchanged (compared bit for bit). Returns
    whether the setting took (False off glibc: a no-op).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MALLOC_THRESHOLD)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, MALLOC_THRESHOLD))
    except (OSError, AttributeError):
        return False


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


@contextmanager
def single_threaded() -> Iterator[None]:
    """BLAS (through threadpoolctl) and, if loaded, torch limited to one thread for the duration; glibc's
    allocator tuned once per process (:func:`tune_malloc`)."""
    from threadpoolctl import threadpool_limits

    global _TUNED
    if not _TUNED:
        _TUNED = True
        tune_malloc()

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if torch is not None and before is not None:
            torch.set_num_threads(before)


def pinned(fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` with one BLAS and torch thread: the same bytes on any worker and in the serial run."""
    with single_threaded():
        return fn(*args)


@dataclass(frozen=True)
class Execution:
    """How to run a sweep.

    Parameters
    ----------
    workers : int or None
        1: serially in this process. None (default): a local cluster with one single-threaded worker
        process per core. k > 1: a local cluster of k worker processes.
    scheduler : str or None
        Address of an existing Dask scheduler; overrides ``workers``. None: the environment variable
        ``DIFFGEN_SCHEDULER`` if set.

    Examples
    --------
    >>> from verification.execution import Execution
    >>> Execution(workers=1).mode
    'serial'
    """

    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise ValueError(f"--workers must be an integer >= 1, got {self.workers!r}")
        if self.scheduler is not None and not str(self.scheduler).strip():
            raise ValueError("--scheduler must be an address such as tcp://127.0.0.1:8786, got an empty string")

    @classmethod
    def from_args(cls, workers: int | None, scheduler: str | None) -> Execution:
        """The execution asked for on the command line, with ``DIFFGEN_SCHEDULER`` as the scheduler's default."""
        return cls(workers, scheduler or os.environ.get(SCHEDULER_ENV) or None)

    @property
    def mode(self) -> str:
        """'scheduler', 'serial' or 'local-cluster'."""
        if self.scheduler:
            return "scheduler"
        return "serial" if self.workers == 1 else "local-cluster"


class Executor:
    """Runs tasks as :class:`Execution` says; a context manager that owns the cluster it starts.

    Examples
    --------
    >>> from verification.execution import Execution, Executor
    >>> with Executor(Execution(workers=1)) as ex:
    ...     ex.map(abs, [-2, 3], ["a", "b"], on_result=lambda i, r: None)
    [2, 3]
    """

    def __init__(self, execution: Execution | None = None) -> None:
        self.execution = execution or Execution()
        self.client = None
        self._cluster = None

    def __enter__(self) -> Executor:
        mode = self.execution.mode
        if mode == "serial":
            return self
        from distributed import Client, LocalCluster

        if mode == "scheduler":
            try:
                self.client = Client(self.execution.scheduler)
            except (OSError, ValueError) as err:  # unreachable, or not an address
                raise ValueError(f"--scheduler: cannot reach a Dask scheduler at {self.execution.scheduler!r} "
                                 f"({err})") from None
        else:
            n = self.execution.workers or os.cpu_count() or 1
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            self.client = Client(self._cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
        self.client = self._cluster = None

    def describe(self) -> dict:
        """How the sweep was executed (for the report's provenance only)."""
        out: dict = {"mode": self.execution.mode}
        if self.client is not None:
            info = self.client.scheduler_info()
            out["workers"] = len(info.get("workers", {}))
            out["scheduler"] = self.client.scheduler.address if self.execution.scheduler else "local"
        else:
            out["workers"] = 1
        return out

    def map(self, fn: Callable[[Any], _T], items: Sequence[Any], keys: Sequence[str],
            on_result: Callable[[int, _T], None], progress: Callable[[Iterator], Iterator] | None = None) -> list[_T]:
        """``[pinned(fn, item) for item in items]``, run as tasks; ``on_result(i, result)`` is called as each
        finishes (e.g. to store it), and the list comes back in the order of ``items``.

        ``keys`` name the tasks (unique per item): two sweeps asking for the same key share one task.
        """
        if len(keys) != len(items):
            raise ValueError(f"keys must name each of the {len(items)} items, got {len(keys)}")
        wrap = progress or (lambda it: it)
        results: list[Any] = [None] * len(items)
        if self.client is None:
            for i in wrap(iter(range(len(items)))):
                results[i] = pinned(fn, items[i])
                on_result(i, results[i])
            return results
        from distributed import as_completed

        futures = [self.client.submit(pinned, fn, item, key=key, retries=RETRIES, pure=False)
                   for item, key in zip(items, keys)]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in wrap(as_completed(futures)):
            i = index[future.key]
            results[i] = future.result()
            on_result(i, results[i])
        return results
