"""`python -m load.bench` (`make bench`): the figures in docs/benchmarks.md, measured on this machine.

One stack (mock_calcom + the core) serves every phase, so the function figures and the no-op
baseline (`POST /noop`: same server, middleware and connection handling, no work) share CPU and
workers; the ratio between them is what the targets are about. The load generator is a bounded
async httpx client in this process, one keep-alive connection per caller:

* overhead: 50 callers at a voice pace (a request every ~2 s each), check_availability's own time
  (Server-Timing) next to Cal.com's time for the same phase (the mock's request journal);
* throughput: C callers send back to back (closed loop, no think time) for a fixed time per phase,
  no-op, check_availability and book_appointment at C = 50 and 200;
* a race storm on a handful of slots: the lock figures; then mock_calcom's own /v2/slots benchmark.

    python -m load.bench [--seconds 8] [--workers 1] [--database-url ...] [--redis-url ...] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import httpx

from harness.retell import server_ms, sign
from harness.stack import StackOptions, Target, open_target
from load import audit
from load.bench_report import render
from load.benchmarks_doc import replace_section, stack_shape
from load.core_metrics import lock_figures
from load.gates import percentile
from load.profiles import PROFILES, SALON_DEMAND, STORM_DEMAND
from load.slots import CLOSING, SALON_ZONE, bookable_days, day_starts
from mock_calcom.bench import bench_slots

CONCURRENCY = (50, 200)
# One 30- or 60-minute service per stylist, so no two bookings of the benchmark collide.
BOOKABLE = (("Damenschnitt", 60), ("Herrenschnitt", 30), ("Kinderhaarschnitt", 30))
BOOKINGS_FROM_DAY = 10  # the storm fights over an earlier day, which the booking phases leave free
STORM_DAY = 3
VOICE_PACE_S = 2.0  # mean pause of a paced caller between two requests
PACED_SECONDS = 20.0
STORM_PAUSE_S = PROFILES["race-storm"].think_s


@dataclass
class Phase:
    name: str
    concurrency: int
    seconds: float
    think_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    started_at: str = ""
    ended_at: str = ""

    def summary(self) -> dict[str, Any]:
        values = self.latencies_ms or [0.0]
        return {"name": self.name, "concurrency": self.concurrency, "think_s": self.think_s,
                "requests": len(self.latencies_ms), "errors": sum(self.errors.values()), "error_kinds": self.errors,
                "throughput_rps": round(len(self.latencies_ms) / self.seconds, 1),
                # An answer that is an error (a pool timeout, Cal.com down) is cheap and proves nothing.
                "ok_rps": round((len(self.latencies_ms) - sum(self.errors.values())) / self.seconds, 1),
                **{f"p{q}_ms": round(percentile(values, q / 100), 1) for q in (50, 95, 99)},
                "server_p95_ms": round(percentile(self.server_ms or [0.0], 0.95), 1),
                "started_at": self.started_at, "ended_at": self.ended_at}


class Webhook:
    """Signed function calls to the core, each with a fresh call id (no idempotent replays)."""

    def __init__(self, client: httpx.AsyncClient, key: str | None) -> None:
        self.client = client
        self.key = key

    async def call(self, name: str, args: dict[str, Any], call_id: str | None = None,
                   from_number: str | None = None) -> httpx.Response:
        body = json.dumps({"name": name, "args": args,
                           "call": {"call_id": call_id or f"bench_{uuid.uuid4().hex}",
                                    "from_number": from_number or f"+49152{random.randrange(10**8):08d}"}}).encode()
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["X-Retell-Signature"] = sign(self.key, body)
        return await self.client.post("/api/retell/function-call", content=body, headers=headers)


Send = Callable[[Webhook], Awaitable[httpx.Response]]
Judge = Callable[[httpx.Response], str | None]


@asynccontextmanager
async def _caller_lines(target: Target, count: int) -> AsyncIterator[list[Webhook]]:
    """One client (one keep-alive connection) per caller, made before any clock runs: a shared httpx
    pool serialises its callers on its own bookkeeping, and each new client builds an SSL context
    (~100 ms of CPU) unless it is handed one."""
    tls = ssl.create_default_context()
    # Let an idle connection go before uvicorn's 5 s keep-alive does, not race it to the next request.
    limits = httpx.Limits(keepalive_expiry=4.0)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=target.webhook_url, timeout=30,
                                                                     verify=tls, limits=limits))
                   for _ in range(count)]
        yield [Webhook(client, target.retell_api_key) for client in clients]


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


async def _phase(lines: list[Webhook], phase: Phase, send: Send, judge: Judge) -> dict[str, Any]:
    end = time.perf_counter() + phase.seconds
    phase.started_at = _utc_now()

    async def caller(line: Webhook, rng: random.Random) -> None:
        if phase.think_s:  # paced callers join one by one, not as one burst
            await asyncio.sleep(rng.uniform(0, 2 * phase.think_s))
        while time.perf_counter() < end:
            sent = time.perf_counter()
            try:
                response = await send(line)
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
            if phase.think_s:
                await asyncio.sleep(rng.uniform(0, 2 * phase.think_s))

    started = time.perf_counter()
    await asyncio.gather(*(caller(line, random.Random(i)) for i, line in enumerate(lines)))
    phase.seconds = time.perf_counter() - started  # the last requests end after `end`
    phase.ended_at = _utc_now()
    row = phase.summary()
    print(f"bench: {phase.name:20s} ×{phase.concurrency:<3d}{' paced' if phase.think_s else '      '} "
          f"{row['throughput_rps']:7.1f} req/s  P50 {row['p50_ms']:7.1f}  P95 {row['p95_ms']:7.1f}  "
          f"P99 {row['p99_ms']:7.1f} ms  server P95 {row['server_p95_ms']:7.1f}  errors {row['error_kinds']}",
          flush=True)
    return row


def _answer_problem(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    answer = response.json()
    return None if answer.get("success") else str(answer.get("error"))


def _http_ok(response: httpx.Response) -> str | None:
    return None if response.status_code == 200 else f"HTTP {response.status_code}"


def _distinct_bookings(today: date) -> Iterator[tuple[str, str]]:
    """(service, ISO start) never overlapping another on the same stylist."""
    for day in bookable_days(today, 300, lead_days=BOOKINGS_FROM_DAY):
        closing = datetime.combine(day, CLOSING, SALON_ZONE)
        for service, minutes in BOOKABLE:
            for start in day_starts(day, timedelta(minutes=minutes)):
                if start + timedelta(minutes=minutes) <= closing:
                    yield service, start.isoformat()


def _checks(today: date, durations: dict[str, int]) -> list[tuple[str, str]]:
    """(service, ISO start) inside opening hours, over four weeks."""
    found = []
    for day in bookable_days(today, 24):
        closing = datetime.combine(day, CLOSING, SALON_ZONE)
        for service in SALON_DEMAND:
            length = timedelta(minutes=durations.get(service, 60))
            found += [(service, s.isoformat()) for s in day_starts(day, timedelta(hours=1)) if s + length <= closing]
    return found


class Workload:
    """The three requests the benchmark sends."""

    def __init__(self, durations: dict[str, int]) -> None:
        self.rng = random.Random(7)
        self.bookings = _distinct_bookings(date.today())
        self.checks = _checks(date.today(), durations)

    async def noop(self, line: Webhook) -> httpx.Response:
        return await line.client.post("/noop")

    async def check(self, line: Webhook) -> httpx.Response:
        service, when = self.rng.choice(self.checks)
        return await line.call("check_availability", {"service": service, "date_time": when})

    async def book(self, line: Webhook) -> httpx.Response:
        service, when = next(self.bookings)
        return await line.call("book_appointment", {"service": service, "date_time": when,
                                                    "customer_name": "Bench Anrufer"})


async def _workload(target: Target) -> Workload:
    async with _caller_lines(target, 1) as (line,):
        answer = (await line.call("get_available_services", {})).json()
    return Workload({str(s["name"]): int(s["duration_min"]) for s in answer.get("data", {}).get("services", [])})


async def _throughput(target: Target, work: Workload, seconds: float) -> list[dict[str, Any]]:
    results = []
    for concurrency in CONCURRENCY:
        async with _caller_lines(target, concurrency) as lines:
            for line in lines:  # warm-up: connections, imports on first use, the catalog cache
                await work.noop(line)
            # All callers at once, once: the database pools open the connections this concurrency
            # needs (a PostgreSQL connection costs milliseconds of CPU), as a server up for a while has.
            await asyncio.gather(*(work.check(line) for line in lines))
            for name, send, judge in (("noop", work.noop, _http_ok), ("check_availability", work.check,
                                                                       _answer_problem),
                                      ("book_appointment", work.book, _answer_problem)):
                results.append(await _phase(lines, Phase(name, concurrency, seconds), send, judge))
    return results


async def _paced(target: Target, work: Workload, seconds: float) -> list[dict[str, Any]]:
    async with _caller_lines(target, 50) as lines:
        # Warm first, as a server that has been up for a minute is: connections to Cal.com, the
        # statement cache, the matcher's caches. A cold start is not what the overhead target is about.
        for line in lines:
            await work.check(line)
        return [await _phase(lines, Phase("noop", 50, seconds, VOICE_PACE_S), work.noop, _http_ok),
                await _phase(lines, Phase("check_availability", 50, seconds, VOICE_PACE_S), work.check,
                             _answer_problem)]


async def _calcom_time(target: Target, phase: dict[str, Any]) -> dict[str, float]:
    """Cal.com's side of one phase, from the mock's request journal: /v2/slots requests and their time."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{target.calcom_url}/_control/requests",
                                    params={"method": "GET", "path": "/v2/slots"})
    since, until = datetime.fromisoformat(phase["started_at"]), datetime.fromisoformat(phase["ended_at"])
    inside = [e for e in response.json()["requests"] if e.get("latency_ms") is not None
              and since <= datetime.fromisoformat(e["at"].replace("Z", "+00:00")) <= until]
    values = [float(e["latency_ms"]) for e in inside] or [0.0]
    return {"requests": len(inside), "per_call": round(len(inside) / max(1, phase["requests"]), 2),
            "p50_ms": round(percentile(values, 0.5), 1), "p95_ms": round(percentile(values, 0.95), 1)}


async def _storm(target: Target, seconds: float, callers: int = 200, slots: int = 4) -> dict[str, Any]:
    """Callers at the race-storm profile's pace book one of a handful of one stylist's slots and, after
    a pause, give it back."""
    first = datetime.combine(bookable_days(date.today(), 1, lead_days=STORM_DAY)[0], clock(10), SALON_ZONE)
    starts = [(first + timedelta(minutes=30 * i)).isoformat() for i in range(slots)]
    heard: dict[str, int] = {}
    refusal_ms: list[float] = []

    async def caller(line: Webhook, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, STORM_PAUSE_S[1]))
        while time.perf_counter() < end:
            call_id, phone = f"storm_{uuid.uuid4().hex}", f"+49153{rng.randrange(10**8):08d}"
            service = rng.choices(list(STORM_DEMAND), list(STORM_DEMAND.values()))[0]
            sent = time.perf_counter()
            try:
                response = await line.call("book_appointment", {"service": service, "date_time": rng.choice(
                    starts), "customer_name": "Sturm Anrufer"}, call_id, phone)
            except httpx.HTTPError as error:
                heard[type(error).__name__] = heard.get(type(error).__name__, 0) + 1
                continue
            elapsed = (time.perf_counter() - sent) * 1000
            answer: dict[str, Any] = (response.json() if response.status_code == 200
                                      else {"error": f"HTTP {response.status_code}"})
            outcome = "booked" if answer.get("success") else str(answer.get("error"))
            heard[outcome] = heard.get(outcome, 0) + 1
            if outcome in ("slot_taken", "lock_busy"):
                refusal_ms.append(elapsed)
            await asyncio.sleep(rng.uniform(*STORM_PAUSE_S))
            if answer.get("success"):
                try:
                    cancelled = (await line.call("cancel_appointment", {"date_time": answer["data"]["start"]},
                                                 call_id, phone)).json().get("success")
                except httpx.HTTPError:
                    cancelled = False
                if not cancelled:  # the slot stays taken: say so, it shapes the storm
                    heard["cancel failed"] = heard.get("cancel failed", 0) + 1

    async with _caller_lines(target, callers) as lines:
        end = time.perf_counter() + seconds
        await asyncio.gather(*(caller(line, random.Random(i)) for i, line in enumerate(lines)))
    figures = await asyncio.to_thread(lock_figures, target.webhook_url)
    invariants: dict[str, Any] = {}
    if target.database_url:
        await asyncio.to_thread(audit.reconcile, target.calcom_url, target.database_url, target.calcom_api_key)
        summary = await asyncio.to_thread(audit.check, target.calcom_url, target.database_url,
                                          target.calcom_api_key, None)
        invariants = {"counts": summary.get("counts", {}), "bookings": summary.get("bookings")}
    return {"callers": callers, "slots": slots, "seconds": seconds, "pause_s": STORM_PAUSE_S, "heard": heard,
            "refusal_p95_ms": round(percentile(refusal_ms or [0.0], 0.95), 1), "lock": figures.as_dict(),
            "invariants": invariants}


async def measure(options: StackOptions, seconds: float, storm_seconds: float) -> dict[str, Any]:
    async with open_target(options) as target:
        work = await _workload(target)
        # Paced first: its latency is the steady state, not the wake of saturating phases.
        # 50 callers pausing ~2 s each: a longer phase gives the P95 a few hundred answers.
        paced = await _paced(target, work, max(seconds, PACED_SECONDS))
        calcom = await _calcom_time(target, paced[1])
        phases = await _throughput(target, work, seconds)
        storm = await _storm(target, storm_seconds)
    return {"phases": phases, "paced": paced, "calcom_during_paced_check": calcom, "storm": storm}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="Duration of each phase.")
    parser.add_argument("--storm-seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the core.")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    options = StackOptions(database_url=args.database_url, redis_url=args.redis_url, workers=args.workers)
    figures = asyncio.run(measure(options, args.seconds, args.storm_seconds))
    figures["mock"] = bench_slots(concurrency=50)
    setup = {"machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}",
             "core": f"{args.workers} uvicorn worker(s)",
             "database": "PostgreSQL" if args.database_url and "postgres" in args.database_url else
             ("given URL" if args.database_url else "SQLite"),
             "lock": "Redis" if args.redis_url else "in-process",
             "measured": date.today().isoformat(),
             # Other work on the machine takes CPU from the servers and the load generator alike.
             "load average (1 min) before/after": f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"}
    shape = stack_shape(setup["database"], bool(args.redis_url), args.workers)
    replace_section(args.out, f"bench:{shape}", render(figures, setup))
    raw = Path(f"reports/bench-{shape}.json")
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({"setup": setup, **figures}, indent=2, default=str), encoding="utf-8")
    print(f"bench: wrote {args.out} and {raw} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
