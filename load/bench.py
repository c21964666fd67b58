"""`python -m load.bench` (`make bench`): the figures in docs/benchmarks.md, measured on this machine.

One stack (mock_calcom + the core) serves every phase, so the function figures and the no-op
baseline share CPU, workers and connection handling; the ratio between them is what the targets are
about. The load generator is a bounded async httpx client in this process: C callers send back to
back (closed loop, no think time) for a fixed time per phase. Then a short race storm on a handful
of slots gives the lock figures, and mock_calcom's own /v2/slots benchmark the Cal.com side.

    python -m load.bench [--seconds 8] [--workers 1] [--database-url ...] [--redis-url ...] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from harness.retell import server_ms, sign
from harness.stack import StackOptions, Target, open_target
from load import audit
from load.benchmarks_doc import replace_section
from load.core_metrics import lock_figures
from load.gates import percentile
from load.profiles import SALON_DEMAND, STORM_DEMAND
from load.slots import SALON_ZONE, bookable_days, day_starts
from mock_calcom.bench import bench_slots

CONCURRENCY = (50, 200)
# One 30- or 60-minute service per stylist, so bookings of different phases never collide.
BOOKABLE = (("Damenschnitt", 60), ("Herrenschnitt", 30), ("Kinderhaarschnitt", 30))
TARGETS = {"ratio book_appointment": 0.10, "ratio check_availability": 0.30, "overhead_p95_ms": 20.0}


@dataclass
class Phase:
    name: str
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    started_at: str = ""
    ended_at: str = ""

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def summary(self) -> dict[str, Any]:
        values = self.latencies_ms or [0.0]
        return {"name": self.name, "concurrency": self.concurrency, "requests": len(self.latencies_ms),
                "errors": sum(self.errors.values()), "error_kinds": self.errors,
                "throughput_rps": round(self.throughput, 1),
                **{f"p{q}_ms": round(percentile(values, q / 100), 1) for q in (50, 95, 99)},
                "server_p95_ms": round(percentile(self.server_ms or [0.0], 0.95), 1)}


def _iso_utc_now() -> str:
    return datetime.now(UTC).isoformat()


class Webhook:
    """Signed function calls to the core, each with a fresh call id (no idempotent replays)."""

    def __init__(self, client: httpx.AsyncClient, target: Target) -> None:
        self.client = client
        self.key = target.retell_api_key

    async def call(self, name: str, args: dict[str, Any], call_id: str | None = None) -> httpx.Response:
        body = json.dumps({"name": name, "args": args,
                           "call": {"call_id": call_id or f"bench_{uuid.uuid4().hex}",
                                    "from_number": f"+49152{random.randrange(10**8):08d}"}}).encode()
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["X-Retell-Signature"] = sign(self.key, body)
        return await self.client.post("/api/retell/function-call", content=body, headers=headers)


def _distinct_bookings(first_day: date) -> Iterator[tuple[str, str]]:
    """(service, ISO start) never overlapping another on the same stylist."""
    for day in bookable_days(first_day, 300):
        for service, minutes in BOOKABLE:
            for start in day_starts(day, timedelta(minutes=minutes)):
                if start + timedelta(minutes=minutes) <= start.replace(hour=18, minute=0):
                    yield service, start.isoformat()


async def _phase(phase: Phase, send: Callable[[], Any], judge: Callable[[httpx.Response], str | None]) -> Phase:
    end = time.perf_counter() + phase.seconds
    phase.started_at = _iso_utc_now()

    async def caller() -> None:
        while time.perf_counter() < end:
            sent = time.perf_counter()
            try:
                response = await send()
            except httpx.HTTPError as error:
                phase.errors[type(error).__name__] = phase.errors.get(type(error).__name__, 0) + 1
                continue
            phase.latencies_ms.append((time.perf_counter() - sent) * 1000)
            timing = server_ms(response.headers)
            if timing is not None:
                phase.server_ms.append(timing)
            problem = judge(response)
            if problem:
                phase.errors[problem] = phase.errors.get(problem, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(phase.concurrency)))
    phase.seconds = time.perf_counter() - started  # the last requests end after `end`
    phase.ended_at = _iso_utc_now()
    return phase


def _answer_problem(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    answer = response.json()
    return None if answer.get("success") else str(answer.get("error"))


@asynccontextmanager
async def _client(target: Target, concurrency: int) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=target.webhook_url, limits=limits, timeout=30) as client:
        yield client


async def _phases_at(target: Target, concurrency: int, seconds: float, rng: random.Random,
                     checks: list[tuple[str, str]], bookings: Iterator[tuple[str, str]]) -> list[dict[str, Any]]:
    results = []
    async with _client(target, concurrency) as client:
        hook = Webhook(client, target)
        for _ in range(20):  # warm-up: connections, caches, the catalog
            await client.post("/noop")
            service, when = rng.choice(checks)
            await hook.call("check_availability", {"service": service, "date_time": when})

        def noop() -> Any:
            return client.post("/noop")

        def check() -> Any:
            service, when = rng.choice(checks)
            return hook.call("check_availability", {"service": service, "date_time": when})

        def book() -> Any:
            service, when = next(bookings)
            return hook.call("book_appointment", {"service": service, "date_time": when,
                                                  "customer_name": "Bench Anrufer"})

        def http_ok(response: httpx.Response) -> str | None:
            return None if response.status_code == 200 else f"HTTP {response.status_code}"

        for name, send, judge in (("noop", noop, http_ok), ("check_availability", check, _answer_problem),
                                  ("book_appointment", book, _answer_problem)):
            phase = await _phase(Phase(name, concurrency, seconds), send, judge)
            row = {**phase.summary(), "started_at": phase.started_at, "ended_at": phase.ended_at}
            results.append(row)
            print(f"bench: {name:20s} ×{concurrency:<3d} {row['throughput_rps']:7.1f} req/s  P50 {row['p50_ms']:7.1f}"
                  f"  P95 {row['p95_ms']:7.1f}  P99 {row['p99_ms']:7.1f} ms  errors {row['error_kinds']}", flush=True)
    return results


async def _throughput(target: Target, seconds: float) -> list[dict[str, Any]]:
    rng = random.Random(7)
    bookings = _distinct_bookings(date.today())
    checks = [(s, t.isoformat()) for s in SALON_DEMAND for day in bookable_days(date.today(), 20)
              for t in day_starts(day)[::4]]
    results = []
    for concurrency in CONCURRENCY:
        results += await _phases_at(target, concurrency, seconds, rng, checks, bookings)
    return results


async def _calcom_time(target: Target, phase: dict[str, Any]) -> dict[str, float]:
    """Cal.com's side of one check_availability phase, from the mock's request journal."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{target.calcom_url}/_control/requests",
                                    params={"method": "GET", "path": "/v2/slots"})
    stamps = (datetime.fromisoformat(phase["started_at"]), datetime.fromisoformat(phase["ended_at"]))
    inside = [e for e in response.json()["requests"] if e.get("latency_ms") is not None
              and stamps[0] <= datetime.fromisoformat(e["at"].replace("Z", "+00:00")) <= stamps[1]]
    values = [float(e["latency_ms"]) for e in inside] or [0.0]
    return {"requests": len(inside), "per_call": round(len(inside) / max(1, phase["requests"]), 2),
            "p50_ms": round(percentile(values, 0.5), 1), "p95_ms": round(percentile(values, 0.95), 1)}


async def _storm(target: Target, seconds: float, callers: int = 200, slots: int = 4) -> dict[str, Any]:
    """Callers book one of a handful of slots and give it back at once; counts what they heard."""
    day = bookable_days(date.today(), 1, lead_days=4)[0]
    starts = [datetime.combine(day, datetime.min.time(), SALON_ZONE).replace(hour=10) + timedelta(minutes=30 * i)
              for i in range(slots)]
    heard: dict[str, int] = {}
    refusal_ms: list[float] = []
    end = time.perf_counter() + seconds
    async with _client(target, callers) as client:
        hook = Webhook(client, target)

        async def caller(rng: random.Random) -> None:
            while time.perf_counter() < end:
                call_id = f"storm_{uuid.uuid4().hex}"
                service = rng.choices(list(STORM_DEMAND), list(STORM_DEMAND.values()))[0]
                sent = time.perf_counter()
                response = await hook.call("book_appointment", {"service": service, "date_time": rng.choice(
                    starts).isoformat(), "customer_name": "Sturm Anrufer"}, call_id)
                elapsed = (time.perf_counter() - sent) * 1000
                answer: dict[str, Any] = (response.json() if response.status_code == 200
                                          else {"error": f"HTTP {response.status_code}"})
                outcome = "booked" if answer.get("success") else str(answer.get("error"))
                heard[outcome] = heard.get(outcome, 0) + 1
                if outcome in ("slot_taken", "lock_busy"):
                    refusal_ms.append(elapsed)
                if answer.get("success"):
                    await hook.call("cancel_appointment", {"date_time": answer["data"]["start"]}, call_id)

        await asyncio.gather(*(caller(random.Random(i)) for i in range(callers)))
    figures = await asyncio.to_thread(lock_figures, target.webhook_url)
    invariants: dict[str, Any] = {}
    if target.database_url:
        await asyncio.to_thread(audit.reconcile, target.calcom_url, target.database_url, target.calcom_api_key)
        summary = await asyncio.to_thread(audit.check, target.calcom_url, target.database_url,
                                          target.calcom_api_key, None)
        invariants = {"counts": summary.get("counts", {}), "bookings": summary.get("bookings")}
    return {"callers": callers, "slots": slots, "seconds": seconds, "heard": heard,
            "refusal_p95_ms": round(percentile(refusal_ms or [0.0], 0.95), 1), "lock": figures.as_dict(),
            "invariants": invariants}


async def measure(options: StackOptions, seconds: float, storm_seconds: float) -> dict[str, Any]:
    async with open_target(options) as target:
        phases = await _throughput(target, seconds)
        check50 = next(p for p in phases if p["name"] == "check_availability" and p["concurrency"] == 50)
        calcom = await _calcom_time(target, check50)
        storm = await _storm(target, storm_seconds)
    return {"phases": phases, "calcom_during_check50": calcom, "storm": storm}


def _ratios(phases: list[dict[str, Any]]) -> dict[tuple[str, int], float]:
    noop = {p["concurrency"]: p["throughput_rps"] for p in phases if p["name"] == "noop"}
    return {(p["name"], p["concurrency"]): p["throughput_rps"] / noop[p["concurrency"]]
            for p in phases if p["name"] != "noop" and noop.get(p["concurrency"])}


def render(figures: dict[str, Any], setup: dict[str, str]) -> str:
    phases, calcom, storm, mock = figures["phases"], figures["calcom_during_check50"], figures["storm"], figures["mock"]
    ratios = _ratios(phases)
    lines = ["## Throughput and latency (`make bench`)", "",
             ", ".join(f"{k}: {v}" for k, v in setup.items()) + ".",
             "Closed loop: C async httpx callers send back to back for the phase's duration; every phase runs "
             "on the same stack in the same run, the no-op (`POST /noop`, same middleware and server) first.", "",
             "| endpoint | callers | req/s | × no-op | P50 ms | P95 ms | P99 ms | server P95 ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in phases:
        ratio = ratios.get((p["name"], p["concurrency"]))
        lines.append(f"| {p['name']} | {p['concurrency']} | {p['throughput_rps']:.1f} | "
                     f"{'1' if ratio is None else f'{ratio:.0%}'} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | "
                     f"{p['p99_ms']:.1f} | {p['server_p95_ms']:.1f} | {p['errors']} |")
    check50 = next(p for p in phases if p["name"] == "check_availability" and p["concurrency"] == 50)
    overhead = check50["server_p95_ms"] - calcom["per_call"] * calcom["p95_ms"]
    lines += ["", "Targets (issue 7):", "",
              "- `book_appointment` ≥ 10 % of no-op throughput: "
              + ", ".join(f"{ratios.get(('book_appointment', c), 0):.0%} at {c}" for c in CONCURRENCY),
              "- `check_availability` ≥ 30 %: "
              + ", ".join(f"{ratios.get(('check_availability', c), 0):.0%} at {c}" for c in CONCURRENCY),
              f"- core overhead over Cal.com latency at P95, 50 callers (≤ 20 ms): {overhead:.1f} ms — the core's "
              f"own P95 (Server-Timing) of `check_availability` {check50['server_p95_ms']:.1f} ms minus "
              f"{calcom['per_call']} Cal.com request(s) per call × the mock's P95 {calcom['p95_ms']:.1f} ms "
              f"({calcom['requests']} `/v2/slots` requests in that phase, from the mock's journal). "
              f"Client-side P95 {check50['p95_ms']:.1f} ms includes queueing for the 2 cores the load "
              "generator shares with the servers.",
              "", f"mock_calcom `/v2/slots` alone ({mock['concurrency']} concurrent clients, {mock['requests']} requests"
              f" at {mock['rate_per_s']:.0f}/s): client P50 {mock['client']['p50_ms']:.1f} / P95 "
              f"{mock['client']['p95_ms']:.1f} / P99 {mock['client']['p99_ms']:.1f} ms; server P95 "
              f"{mock['server']['p95_ms']:.1f} ms.",
              "", "### Race storm (lock figures)", "",
              f"{storm['callers']} callers for {storm['seconds']:.0f} s on {storm['slots']} slots of one stylist, "
              "each booking and at once cancelling what it got. Heard: "
              + ", ".join(f"{k} {v}" for k, v in sorted(storm["heard"].items())) + ".",
              f"Refusals (slot_taken / lock_busy) answered within P95 {storm['refusal_p95_ms']:.0f} ms. "
              f"Core /metrics ({storm['lock']['workers']} worker(s)): lock acquired {storm['lock']['acquired']:.0f}, "
              f"contended {storm['lock']['contended']:.0f}, unavailable {storm['lock']['unavailable']:.0f}"
              + (f", lock wait P95 ≤ {storm['lock']['wait_p95_s'] * 1000:.0f} ms" if storm["lock"]["wait_p95_s"]
                 else "") + ".",
              "Invariants after reconcile: " + (", ".join(f"{k} {v}" for k, v in storm["invariants"]["counts"].items())
                                                 or "0 orphans, 0 double bookings (active or transient), 0 ghosts")
              + "." if storm["invariants"] else "Invariants not checked (no database)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="Duration of each throughput phase.")
    parser.add_argument("--storm-seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the core.")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    options = StackOptions(database_url=args.database_url, redis_url=args.redis_url, workers=args.workers)
    figures = asyncio.run(measure(options, args.seconds, args.storm_seconds))
    figures["mock"] = bench_slots(concurrency=50)
    setup = {"machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
             "core": f"{args.workers} uvicorn worker(s)",
             "database": "PostgreSQL" if args.database_url and "postgres" in args.database_url else
             ("given URL" if args.database_url else "SQLite"),
             "lock": "Redis" if args.redis_url else "in-process",
             "measured": date.today().isoformat()}
    replace_section(args.out, "bench", render(figures, setup))
    raw = Path("reports/bench.json")
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    print(f"bench: wrote {args.out} and {raw} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
