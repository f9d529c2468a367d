"""Timing helpers shared by the benchmarks: medians over repeated runs, and percentiles."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def median_seconds(work: Callable[[], object], runs: int, warm_up: bool = False) -> float:
    """Median wall time of `runs` calls of `work` (after one untimed call with `warm_up`)."""
    if warm_up:
        work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` (0-1) percentile, interpolated between the two nearest values; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
