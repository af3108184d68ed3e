"""Tiny, dependency-free statistics helpers shared by the benchmarks."""

from __future__ import annotations

import math


def percentile(sorted_values: list[float], p: float) -> float:
    """Return the `p`-th percentile (0..100) of already-sorted values.

    Linear interpolation between closest ranks (numpy's default), so small
    samples give a smooth value instead of jumping between neighbours.
    """
    if not sorted_values:
        raise ValueError("percentile() of an empty sequence")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    position = (len(sorted_values) - 1) * p / 100
    lower = math.floor(position)
    upper = math.ceil(position)
    fraction = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * fraction


def summarize(latencies_seconds: list[float]) -> dict[str, float]:
    """Summarize latencies given in seconds as p50/p99/max in milliseconds."""
    ordered = sorted(latencies_seconds)
    return {
        "p50_ms": percentile(ordered, 50) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "max_ms": percentile(ordered, 100) * 1000,
    }


def rate(n: int, seconds: float) -> float:
    """Events per second; a non-positive duration is a measuring bug, not a rate."""
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {seconds}")
    return n / seconds
