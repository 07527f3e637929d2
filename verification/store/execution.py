"""Where a sweep's tasks run: in this process, on a local Dask cluster, or on an existing Dask scheduler.

A sweep is a list of independent tasks (one measurement each). :class:`Executor` runs them

- serially in this process (``workers=1``), for debugging;
- on a ``distributed.LocalCluster`` of worker processes sized to the machine (the default);
- on an existing cluster (``scheduler="tcp://host:8786"``, or the environment variable
  ``DIFFGEN_SCHEDULER``), started with ``dask scheduler`` / ``dask worker`` or a batch-system launcher
  such as dask-jobqueue.

Every scheduler address (flag or environment variable) is checked before any task is sent: the TCP
connection must open within :data:`CONNECT_TIMEOUT_S` seconds (or the smaller
``distributed.comm.timeouts.connect`` of the Dask configuration) and Dask's handshake must be complete
one second after that, else a ``ValueError`` names the address
and where it came from (``--scheduler`` or ``DIFFGEN_SCHEDULER``): a host that accepts connections and
never answers, or a server that speaks another protocol (HTTP, random bytes), is refused in seconds. A
scheduler lost while a sweep runs raises :class:`SchedulerLost` (a ``ConnectionError``, so ``diffgen``
exits with status 2 and one line); every result that arrived before is already stored, and a rerun
reuses them.

Every task runs with its BLAS (threadpoolctl) and torch threads pinned to 1, so any worker, however it
was started, computes the same bytes as the serial run; seeds travel inside the task's configuration.
Results come back in submission order, never in completion order. A task whose worker dies is
rescheduled by Dask on another worker (and retried up to ``RETRIES`` times if it raises), so nothing
already computed is lost: the caller stores each result as it arrives.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

SCHEDULER_ENV = "DIFFGEN_SCHEDULER"
RETRIES = 2
CONNECT_TIMEOUT_S = 10.0
"""Seconds allowed for the TCP connection and the Dask handshake with a scheduler (at most)."""
WORKERS_MAX = 128
"""Most worker processes of a local cluster: each holds about 256 MiB (Python and the libraries,
:data:`empirical.resources.INTERPRETER_BYTES`) before its first task, 32 GiB at this limit."""
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
        process per core. k in [2, :data:`WORKERS_MAX`]: a local cluster of k worker processes.
    scheduler : str or None
        Address of an existing Dask scheduler; overrides ``workers``. None: the environment variable
        ``DIFFGEN_SCHEDULER`` if set (through :meth:`from_args`).
    source : str, default "--scheduler"
        Where the address came from, named in every error about it (:meth:`from_args` gives
        "DIFFGEN_SCHEDULER" when the address came from that variable).
    timeout : float, default CONNECT_TIMEOUT_S
        Seconds, finite and > 0, allowed to connect (the smaller of this and
        ``distributed.comm.timeouts.connect`` is used); the handshake gets one second more.

    Raises
    ------
    ValueError
        Naming ``--workers``, the source of the address, or ``timeout`` when out of range.

    Examples
    --------
    >>> from verification.store.execution import Execution
    >>> Execution(workers=1).mode
    'serial'
    >>> Execution(scheduler=" ", source="DIFFGEN_SCHEDULER")
    Traceback (most recent call last):
        ...
    ValueError: DIFFGEN_SCHEDULER must be an address such as tcp://127.0.0.1:8786, got ' '
    """

    workers: int | None = None
    scheduler: str | None = None
    source: str = "--scheduler"
    timeout: float = CONNECT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or not 1 <= self.workers <= WORKERS_MAX):
            raise ValueError(f"--workers must be an integer in [1, {WORKERS_MAX}] (each local worker process "
                             f"holds about 256 MiB before its first task), got {self.workers!r}")
        if self.scheduler is not None and (not isinstance(self.scheduler, str) or not self.scheduler.strip()):
            raise ValueError(f"{self.source} must be an address such as tcp://127.0.0.1:8786, got {self.scheduler!r}")
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, (int, float)) \
                or not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(f"timeout must be a finite number of seconds > 0, got {self.timeout!r}")

    @classmethod
    def from_args(cls, workers: int | None, scheduler: str | None) -> Execution:
        """The execution asked for on the command line, with ``DIFFGEN_SCHEDULER`` as the scheduler's default.

        ``scheduler`` None means the flag was not given; an empty or blank flag or variable is refused by name.

        Examples
        --------
        >>> from verification.store.execution import Execution
        >>> Execution.from_args(None, "tcp://127.0.0.1:8786").source
        '--scheduler'
        """
        if scheduler is not None:
            return cls(workers, scheduler)
        env = os.environ.get(SCHEDULER_ENV)
        return cls(workers, env, SCHEDULER_ENV) if env is not None else cls(workers)

    @property
    def mode(self) -> str:
        """'scheduler', 'serial' or 'local-cluster'."""
        if self.scheduler:
            return "scheduler"
        return "serial" if self.workers == 1 else "local-cluster"

    @property
    def connect_timeout(self) -> float:
        """Seconds allowed to connect: ``timeout``, or Dask's ``distributed.comm.timeouts.connect`` if smaller."""
        import dask
        import distributed  # noqa: F401 - its import adds the "distributed" defaults to Dask's configuration
        from dask.utils import parse_timedelta

        configured = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="seconds")
        return float(min(self.timeout, configured))


def _after_loss(record: logging.LogRecord) -> bool:
    """False for distributed's reports of its own reconnection attempts (their failure, or their
    cancellation when the client is closed), which follow a :class:`SchedulerLost` already reported in one line."""
    text = record.getMessage()
    if record.exc_info and record.exc_info[2] is not None:
        import traceback

        text += "".join(traceback.format_tb(record.exc_info[2]))
    return not (record.levelno >= logging.ERROR and "reconnect" in text)


class SchedulerLost(ConnectionError):
    """The scheduler went away while a sweep ran; the results that arrived before are stored."""


def check_scheduler(address: str, source: str, timeout: float) -> None:
    """Connect to ``address`` within ``timeout`` seconds and complete Dask's handshake 1 s later at most, or raise.

    Uses distributed's own ``connect`` (TCP connection and the handshake exchange), bounded as a whole,
    because its handshake read has no timeout of its own: a host that accepts and never answers would
    otherwise hang the client forever, and a server of another protocol can make it allocate a
    nonsense frame length (an HTTP reply read as 3 EiB).

    Raises
    ------
    ValueError
        Naming ``source`` and the address: unreachable, no handshake within ``timeout`` + 1 s, or an answer
        that is not Dask's.
    """
    import asyncio

    from distributed.comm import connect

    where = f"{source}: cannot reach a Dask scheduler at {address!r}"

    async def handshake() -> None:
        comm = await connect(address, timeout=timeout)
        comm.abort()

    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:  # connect() gives up on a refused or unroutable address after ``timeout``; the handshake gets 1 s more
        asyncio.run(asyncio.wait_for(handshake(), timeout + 1.0))
    except asyncio.TimeoutError:
        raise ValueError(f"{where} (no Dask handshake within {timeout + 1.0:g} s: the host accepts connections "
                         "but does not answer as a scheduler)") from None
    except (OSError, ValueError, TypeError) as err:  # refused, unresolvable, not an address
        raise ValueError(f"{where} ({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    except Exception as err:  # noqa: BLE001 - a peer that is not Dask: a nonsense frame length, bad msgpack
        raise ValueError(f"{where} (the server answered, but not with Dask's handshake: "
                         f"{type(err).__name__})") from None
    finally:
        quiet.setLevel(level)


class Executor:
    """Runs tasks as :class:`Execution` says; a context manager that owns the cluster it starts.

    Examples
    --------
    >>> from verification.store.execution import Execution, Executor
    >>> with Executor(Execution(workers=1)) as ex:
    ...     ex.map(abs, [-2, 3], ["a", "b"], on_result=lambda i, r: None)
    [2, 3]
    """

    def __init__(self, execution: Execution | None = None) -> None:
        self.execution = execution or Execution()
        self.client = None
        self._cluster = None
        self._lost = False

    def __enter__(self) -> Executor:
        mode = self.execution.mode
        if mode == "serial":
            return self
        from distributed import Client, LocalCluster

        if mode == "scheduler":
            ex = self.execution
            timeout = ex.connect_timeout
            check_scheduler(ex.scheduler, ex.source, timeout)
            try:
                self.client = Client(ex.scheduler, timeout=timeout)
            except (OSError, ValueError) as err:  # went away since the handshake, or refused the client
                raise ValueError(f"{ex.source}: cannot reach a Dask scheduler at {ex.scheduler!r} ({err})") from None
        else:
            n = self.execution.workers or os.cpu_count() or 1
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            self.client = Client(self._cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            if self._lost:  # closing ends distributed's reconnection attempts, which it logs as errors
                logging.getLogger("distributed.client").addFilter(_after_loss)
                try:
                    self.client.close(timeout=self.execution.connect_timeout)
                except Exception:  # noqa: BLE001 - the scheduler is gone; nothing is left to close cleanly
                    pass
            else:
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
        from concurrent.futures import CancelledError

        from distributed import as_completed
        from distributed.comm import CommClosedError

        futures = [self.client.submit(pinned, fn, item, key=key, retries=RETRIES, pure=False)
                   for item, key in zip(items, keys)]
        index = {f.key: i for i, f in enumerate(futures)}
        done = 0
        try:
            for future in wrap(as_completed(futures)):
                i = index[future.key]
                results[i] = future.result()
                on_result(i, results[i])
                done += 1
        except (CancelledError, CommClosedError) as err:
            self._lost = True
            where = self.execution.scheduler or "the local cluster"
            raise SchedulerLost(f"lost the Dask scheduler at {where} after {done} of {len(items)} tasks "
                                f"({type(err).__name__})") from None
        return results
