"""Latency figures as the issue defines them: a P95 only from at least 20 samples, else the max."""

from __future__ import annotations

import math
from collections.abc import Sequence

from harness.results import LatencySummary

MIN_SAMPLES_FOR_P95 = 20


def summarise(samples: Sequence[float]) -> LatencySummary:
    values = sorted(samples)
    if not values:
        return LatencySummary(samples=0, stat="max", value_ms=None)
    if len(values) < MIN_SAMPLES_FOR_P95:
        return LatencySummary(samples=len(values), stat="max", value_ms=round(values[-1], 1))
    # Nearest-rank P95: the smallest value with at least 95 % of samples at or below it.
    rank = math.ceil(0.95 * len(values))
    return LatencySummary(samples=len(values), stat="p95", value_ms=round(values[rank - 1], 1))
