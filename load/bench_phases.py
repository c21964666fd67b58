"""The benchmark's building blocks: callers (one keep-alive connection each), a timed phase of
requests, the workload (checks over four weeks, bookings that never collide) and the closed-loop
and paced phases `make bench` measures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from harness.retell import server_ms, sign
from harness.stack import Target
from load.gates import percentile
from load.profiles import PROFILES, SALON_DEMAND
from load.slots import CLOSING, SALON_ZONE, bookable_days, day_starts

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
async def caller_lines(target: Target, count: int) -> AsyncIterator[list[Webhook]]:
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


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


async def run_phase(lines: list[Webhook], phase: Phase, send: Send, judge: Judge) -> dict[str, Any]:
    end = time.perf_counter() + phase.seconds
    phase.started_at = utc_now()

    async def pause(rng: random.Random) -> None:
        # No pause outlasts the phase, or a short phase would last as long as the longest pause.
        await asyncio.sleep(max(0.0, min(rng.uniform(0, 2 * phase.think_s), end - time.perf_counter())))

    async def caller(line: Webhook, rng: random.Random) -> None:
        if phase.think_s:  # paced callers join one by one, not as one burst
            await pause(rng)
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
                await pause(rng)

    started = time.perf_counter()
    await asyncio.gather(*(caller(line, random.Random(i)) for i, line in enumerate(lines)))
    phase.seconds = time.perf_counter() - started  # the last requests end after `end`
    phase.ended_at = utc_now()
    row = phase.summary()
    print(f"bench: {phase.name:20s} ×{phase.concurrency:<3d}{' paced' if phase.think_s else '      '} "
          f"{row['throughput_rps']:7.1f} req/s  P50 {row['p50_ms']:7.1f}  P95 {row['p95_ms']:7.1f}  "
          f"P99 {row['p99_ms']:7.1f} ms  server P95 {row['server_p95_ms']:7.1f}  errors {row['error_kinds']}",
          flush=True)
    return row


def answer_problem(response: httpx.Response) -> str | None:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    answer = response.json()
    return None if answer.get("success") else str(answer.get("error"))


def http_ok(response: httpx.Response) -> str | None:
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


async def workload(target: Target) -> Workload:
    async with caller_lines(target, 1) as (line,):
        answer = (await line.call("get_available_services", {})).json()
    return Workload({str(s["name"]): int(s["duration_min"]) for s in answer.get("data", {}).get("services", [])})


async def throughput(target: Target, work: Workload, seconds: float,
                     callers: tuple[int, ...] = CONCURRENCY) -> list[dict[str, Any]]:
    results = []
    for concurrency in callers:
        async with caller_lines(target, concurrency) as lines:
            for line in lines:  # warm-up: connections, imports on first use, the catalog cache
                await work.noop(line)
            # All callers at once, once: the database pools open the connections this concurrency
            # needs (a PostgreSQL connection costs milliseconds of CPU), as a server up for a while has.
            await asyncio.gather(*(work.check(line) for line in lines))
            for name, send, judge in (("noop", work.noop, http_ok), ("check_availability", work.check,
                                                                       answer_problem),
                                      ("book_appointment", work.book, answer_problem)):
                results.append(await run_phase(lines, Phase(name, concurrency, seconds), send, judge))
    return results


async def paced(target: Target, work: Workload, seconds: float, callers: int = 50) -> list[dict[str, Any]]:
    async with caller_lines(target, callers) as lines:
        # Warm first, as a server that has been up for a minute is: connections to Cal.com, the
        # statement cache, the matcher's caches. A cold start is not what the overhead target is about.
        for line in lines:
            await work.check(line)
        return [await run_phase(lines, Phase("noop", callers, seconds, VOICE_PACE_S), work.noop, http_ok),
                await run_phase(lines, Phase("check_availability", callers, seconds, VOICE_PACE_S), work.check,
                             answer_problem)]


async def calcom_time(target: Target, phase: dict[str, Any], method: str = "GET",
                      path: str = "/v2/slots") -> dict[str, float]:
    """Cal.com's side of one phase, from the mock's request journal: its requests to `path` and their time."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(f"{target.calcom_url}/_control/requests", params={"method": method, "path": path})
    since, until = datetime.fromisoformat(phase["started_at"]), datetime.fromisoformat(phase["ended_at"])
    inside = [e for e in response.json()["requests"] if e.get("latency_ms") is not None
              and since <= datetime.fromisoformat(e["at"].replace("Z", "+00:00")) <= until]
    values = [float(e["latency_ms"]) for e in inside] or [0.0]
    return {"requests": len(inside), "per_call": round(len(inside) / max(1, phase["requests"]), 2),
            "p50_ms": round(percentile(values, 0.5), 1), "p95_ms": round(percentile(values, 0.95), 1)}


async def voice_calls(target: Target, work: Workload, calls: int, seconds: float,
                      think_s: tuple[float, float]) -> list[dict[str, Any]]:
    """`calls` phone calls at once at a voice pace: each checks a time, waits as a caller listening and
    answering does (think_s), books, waits, and so on. Checks and bookings are two phases measured
    over the same window."""
    check, book = (Phase(name, calls, seconds, (think_s[0] + think_s[1]) / 2)
                   for name in ("check_availability", "book_appointment"))

    async def turn(line: Webhook, phase: Phase, send: Send) -> None:
        sent = time.perf_counter()
        try:
            response = await send(line)
        except httpx.HTTPError as error:
            phase.errors[type(error).__name__] = phase.errors.get(type(error).__name__, 0) + 1
            return
        phase.latencies_ms.append((time.perf_counter() - sent) * 1000)
        timing = server_ms(response.headers)
        if timing is not None:
            phase.server_ms.append(timing)
        problem = answer_problem(response)
        if problem:
            phase.errors[problem] = phase.errors.get(problem, 0) + 1

    async def pause(low: float, high: float, rng: random.Random) -> None:
        # No pause outlasts the phase: the figures cover its window, and the run ends with it.
        await asyncio.sleep(max(0.0, min(rng.uniform(low, high), end - time.perf_counter())))

    async def caller(line: Webhook, rng: random.Random) -> None:
        # Calls begin one by one (over the longest pause, or the first quarter of a short phase),
        # not as one burst.
        await pause(0, min(think_s[1], seconds / 4), rng)
        while time.perf_counter() < end:
            await turn(line, check, work.check)
            await pause(*think_s, rng)
            if time.perf_counter() >= end:
                break
            await turn(line, book, work.book)
            await pause(*think_s, rng)

    async with caller_lines(target, calls) as lines:
        for line in lines:
            await work.noop(line)
        started = time.perf_counter()
        end = started + seconds
        check.started_at = book.started_at = utc_now()
        await asyncio.gather(*(caller(line, random.Random(1000 + i)) for i, line in enumerate(lines)))
        check.seconds = book.seconds = time.perf_counter() - started
        check.ended_at = book.ended_at = utc_now()
    rows = [check.summary(), book.summary()]
    for row in rows:
        print(f"bench: voice {row['name']:20s} ×{calls} {row['throughput_rps']:7.1f} req/s  P95 {row['p95_ms']:7.1f}  "
              f"server P95 {row['server_p95_ms']:7.1f} ms  errors {row['error_kinds']}", flush=True)
    return rows
