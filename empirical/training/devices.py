"""Where and how torch runs: the device a name asks for (refused by name when absent), and a scoped number of
intra-op threads. Shared by every torch trainer and sampler of the engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ..checks import check_int

__all__ = ["resolve_device", "torch_threads"]


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch device for ``device``, or ValueError naming ``device``.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; CUDA only when it is available.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If ``device`` is not a device name, or names CUDA on a machine without it.

    Examples
    --------
    >>> from empirical.training.devices import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")
    return dev


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op torch threads (None: leave torch's setting), then restore.

    Why: with other jobs on the cores, torch's intra-op threads spin against them; one thread per job is the
    fast setting for the small batches of :class:`ScoreNet`.

    Examples
    --------
    >>> import torch
    >>> from empirical.training.devices import torch_threads
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    """
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_int("threads", threads, 1))
    try:
        yield
    finally:
        torch.set_num_threads(before)
