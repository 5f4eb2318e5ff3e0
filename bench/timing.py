"""What every benchmark here measures the same way: the best wall-clock time of a few runs
(the least disturbed by the rest of a shared machine)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(repeat: int, run: Callable[[], object]) -> float:
    """The shortest of `repeat` timings of `run()`, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)
