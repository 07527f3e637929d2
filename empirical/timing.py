"""Wall-clock laps of a computation's phases (a measurement's ``timings``)."""

from __future__ import annotations

import time

__all__ = ["Laps"]


class Laps:
    """Call with a phase's name when it ends; ``timings`` holds the seconds of each phase, in order.

    Examples
    --------
    >>> from empirical.timing import Laps
    >>> lap = Laps()
    >>> lap("setup")
    >>> list(lap.timings), lap.timings["setup"] >= 0
    (['setup'], True)
    """

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = now - self._clock
        self._clock = now
