"""The core's lock counters from /metrics, summed over its uvicorn workers.

Each worker keeps its own Prometheus registry and /metrics answers from whichever worker accepted
the connection. So this scrapes on fresh connections until no new worker shows up, tells workers
apart by their `process_start_time_seconds`, and adds up the latest figures of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

# Stop once this many scrapes in a row found no worker not seen before.
SCRAPES_WITHOUT_NEWS = 12
MAX_SCRAPES = 60


@dataclass
class LockFigures:
    acquired: float = 0
    contended: float = 0
    unavailable: float = 0
    workers: int = 0
    # cumulative histogram of callsim_lock_wait_seconds: upper bound → count
    wait_buckets: dict[float, float] = field(default_factory=dict)

    def wait_p95_s(self) -> float | None:
        total = self.wait_buckets.get(float("inf"), 0)
        if not total:
            return None
        for bound in sorted(self.wait_buckets):
            if self.wait_buckets[bound] >= 0.95 * total:
                return bound
        return None

    def describe(self) -> str:
        p95 = self.wait_p95_s()
        wait = f", lock wait P95 ≤ {p95 * 1000:.0f} ms" if p95 is not None and p95 != float("inf") else ""
        return (f"acquired {self.acquired:.0f}, contended {self.contended:.0f}, unavailable "
                f"{self.unavailable:.0f}{wait} (summed over {self.workers} worker(s))")

    def as_dict(self) -> dict[str, float | int | None]:
        return {"acquired": self.acquired, "contended": self.contended, "unavailable": self.unavailable,
                "workers": self.workers, "wait_p95_s": self.wait_p95_s()}


def _one_worker(text: str) -> tuple[float | None, LockFigures]:
    figures = LockFigures(workers=1)
    started: float | None = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "process_start_time_seconds":
                started = sample.value
            elif sample.name == "callsim_lock_total":
                result = sample.labels.get("result", "")
                if hasattr(figures, result):
                    setattr(figures, result, getattr(figures, result) + sample.value)
            elif sample.name == "callsim_lock_wait_seconds_bucket":
                bound = float(sample.labels["le"])
                figures.wait_buckets[bound] = figures.wait_buckets.get(bound, 0) + sample.value
    return started, figures


def lock_figures(base_url: str, timeout_s: float = 3.0, transport: httpx.BaseTransport | None = None) -> LockFigures:
    by_worker: dict[float | None, LockFigures] = {}
    quiet = 0
    # No keep-alive: every scrape a new connection, or all of them would reach the same worker.
    with httpx.Client(timeout=timeout_s, limits=httpx.Limits(max_keepalive_connections=0),
                      transport=transport) as client:
        for _ in range(MAX_SCRAPES):
            response = client.get(f"{base_url.rstrip('/')}/metrics")
            response.raise_for_status()
            worker, figures = _one_worker(response.text)
            quiet = 0 if worker not in by_worker else quiet + 1
            by_worker[worker] = figures
            if quiet >= SCRAPES_WITHOUT_NEWS:
                break
    total = LockFigures(workers=len(by_worker))
    for figures in by_worker.values():
        total.acquired += figures.acquired
        total.contended += figures.contended
        total.unavailable += figures.unavailable
        for bound, count in figures.wait_buckets.items():
            total.wait_buckets[bound] = total.wait_buckets.get(bound, 0) + count
    return total
