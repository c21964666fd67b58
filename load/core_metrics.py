"""The core's lock counters from /metrics, summed over its uvicorn workers.

Each worker keeps its own Prometheus registry and /metrics answers from whichever worker accepted
the connection. So, after the run (when counters stand still), this scrapes on fresh connections,
several at once, until no new worker shows up, tells workers apart by start time and counters, and
adds up each one's figures. Two workers that started in the same 10 ms and answered exactly as much
would count as one: the figures are for the record, no gate depends on them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families

SCRAPES_AT_ONCE = 6
# Stop once this many rounds in a row found no worker not seen before.
ROUNDS_WITHOUT_NEWS = 3
MAX_ROUNDS = 12


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


def _one_worker(text: str) -> tuple[tuple[float, ...], LockFigures]:
    """The figures of the worker that answered, and what tells it from the others."""
    figures = LockFigures(workers=1)
    started = answered = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "process_start_time_seconds":
                started = sample.value
            elif sample.name == "callsim_function_seconds_count":
                answered += sample.value
            elif sample.name == "callsim_lock_total":
                result = sample.labels.get("result", "")
                if hasattr(figures, result):
                    setattr(figures, result, getattr(figures, result) + sample.value)
            elif sample.name == "callsim_lock_wait_seconds_bucket":
                bound = float(sample.labels["le"])
                figures.wait_buckets[bound] = figures.wait_buckets.get(bound, 0) + sample.value
    # Workers spawned in one 10 ms tick share a start time; after the run their counters differ too.
    return (started, answered, figures.acquired, figures.contended, figures.unavailable), figures


def _scrape(client: httpx.Client, url: str) -> tuple[tuple[float, ...], LockFigures]:
    response = client.get(url)
    response.raise_for_status()
    return _one_worker(response.text)


def lock_figures(base_url: str, timeout_s: float = 3.0, transport: httpx.BaseTransport | None = None) -> LockFigures:
    by_worker: dict[tuple[float, ...], LockFigures] = {}
    url = f"{base_url.rstrip('/')}/metrics"
    quiet_rounds = 0
    # No keep-alive, and several scrapes at once: a worker busy answering one leaves the next
    # connection to another, where one scrape after the other keeps meeting the same worker.
    with httpx.Client(timeout=timeout_s, limits=httpx.Limits(max_keepalive_connections=0),
                      transport=transport) as client, ThreadPoolExecutor(SCRAPES_AT_ONCE) as pool:
        for _ in range(MAX_ROUNDS):
            seen = len(by_worker)
            for worker, figures in pool.map(lambda _: _scrape(client, url), range(SCRAPES_AT_ONCE)):
                by_worker[worker] = figures
            quiet_rounds = quiet_rounds + 1 if len(by_worker) == seen else 0
            if quiet_rounds >= ROUNDS_WITHOUT_NEWS:
                break
    total = LockFigures(workers=len(by_worker))
    for figures in by_worker.values():
        total.acquired += figures.acquired
        total.contended += figures.contended
        total.unavailable += figures.unavailable
        for bound, count in figures.wait_buckets.items():
            total.wait_buckets[bound] = total.wait_buckets.get(bound, 0) + count
    return total
