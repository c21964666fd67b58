"""`python -m load.bench` (`make bench`): the figures in docs/benchmarks.md, measured on this machine.

One stack (mock_calcom + the core) serves every phase, so the function figures and the no-op
baseline (`POST /noop`: same server, middleware and connection handling, no work) share CPU and
workers; the ratio between them is what the targets are about. The load generator is a bounded
async httpx client in this process, one keep-alive connection per caller:

* overhead: 50 callers at a voice pace (a request every ~2 s each), check_availability's own time
  (Server-Timing) next to Cal.com's time for the same phase (the mock's request journal);
* throughput: C callers send back to back (closed loop, no think time) for a fixed time per phase,
  no-op, check_availability and book_appointment at C = 50 and 200;
* voice pace: 500 calls at once (--voice-calls), each checking and booking with a caller's pauses
  (3–8 s) between turns: the core's own P95 next to Cal.com's for the same window;
* a race storm on a handful of slots: the lock figures; then mock_calcom's own /v2/slots benchmark;
* history: a second stack on a fresh database holding a salon's history (load/history.py; PostgreSQL
  1,000,000 past + 20,000 upcoming appointments, 5,000,000 function calls, 2,000,000 call events,
  SQLite a tenth; --history-scale), the same closed-loop phases beside the empty database's.

    python -m load.bench [--seconds 8] [--workers 1] [--database-url ...] [--redis-url ...] [--out docs/benchmarks.md]
    make bench BENCH_ARGS="--seconds 3 --storm-seconds 0 --voice-calls 100 --history-scale 0.1"   # shorter
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import httpx

from harness.stack import StackOptions, Target, open_target
from load import audit
from load.bench_history import fresh_database, measure_history
from load.bench_phases import (
    CONCURRENCY,
    PACED_SECONDS,
    STORM_DAY,
    STORM_PAUSE_S,
    Webhook,
    calcom_time,
    caller_lines,
    paced,
    throughput,
    voice_calls,
    workload,
)
from load.bench_report import render
from load.benchmarks_doc import replace_section, stack_shape
from load.core_metrics import lock_figures
from load.gates import percentile
from load.profiles import PROFILES, STORM_DEMAND
from load.slots import SALON_ZONE, bookable_days


def mock_bench(concurrency: int, requests: int) -> dict[str, Any]:
    """mock_calcom's own /v2/slots benchmark, run as its program (it starts the mock itself)."""
    done = subprocess.run([sys.executable, "-m", "mock_calcom.bench", "--concurrency", str(concurrency),
                           "--requests", str(requests), "--json"], capture_output=True, text=True, check=True,
                          timeout=600)
    print(done.stdout.rsplit("\n", 2)[0])  # its own summary lines
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# A phone call's pace: the agent speaks the answer, the caller replies (the load profiles' think time).
VOICE_THINK_S = PROFILES["peak"].think_s


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

    async with caller_lines(target, callers) as lines:
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


@dataclass(frozen=True)
class BenchPlan:
    """What one run measures (`BENCH_ARGS` shorten it: fewer callers, shorter phases, a smaller history)."""

    seconds: float = 8.0
    callers: tuple[int, ...] = CONCURRENCY
    paced_seconds: float = PACED_SECONDS
    paced_callers: int = 50
    voice_calls: int = 500
    voice_seconds: float = 40.0
    storm_seconds: float = 15.0
    history_scale: float = 1.0


async def measure(options: StackOptions, plan: BenchPlan) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    async with contextlib.AsyncExitStack() as stack:
        target = await stack.enter_async_context(open_target(await fresh_database(stack, options, "bench")))
        work = await workload(target)
        # Paced first: its latency is the steady state, not the wake of saturating phases.
        # 50 callers pausing ~2 s each: a longer phase gives the P95 a few hundred answers.
        figures["paced"] = await paced(target, work, plan.paced_seconds, plan.paced_callers)
        figures["calcom_during_paced_check"] = await calcom_time(target, figures["paced"][1])
        if plan.voice_calls:
            rows = await voice_calls(target, work, plan.voice_calls, plan.voice_seconds, VOICE_THINK_S)
            figures["voice"] = {"phases": rows, "think_s": VOICE_THINK_S, "seconds": plan.voice_seconds,
                                "calcom_slots": await calcom_time(target, rows[0]),
                                "calcom_create": await calcom_time(target, rows[1], "POST", "/v2/bookings")}
        figures["phases"] = await throughput(target, work, plan.seconds, plan.callers)
        if plan.storm_seconds > 0:
            figures["storm"] = await _storm(target, plan.storm_seconds)
    if plan.history_scale > 0:
        figures["history"] = await measure_history(options, plan.history_scale, plan.seconds, plan.callers)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="Duration of each phase.")
    parser.add_argument("--callers", default=",".join(map(str, CONCURRENCY)),
                        help="Concurrencies of the closed-loop phases, comma-separated.")
    parser.add_argument("--paced-callers", type=int, default=50)
    parser.add_argument("--paced-seconds", type=float, default=PACED_SECONDS,
                        help="Duration of the 50 paced callers' phases.")
    parser.add_argument("--mock-requests", type=int, default=2000, help="mock_calcom's own /v2/slots benchmark.")
    parser.add_argument("--storm-seconds", type=float, default=15.0, help="0 leaves the race storm out.")
    parser.add_argument("--voice-calls", type=int, default=500,
                        help="Concurrent calls of the voice-pace phase (0 leaves it out).")
    parser.add_argument("--voice-seconds", type=float, default=40.0)
    parser.add_argument("--history-scale", type=float, default=1.0,
                        help="Size of the history shape: 1 = the full size (PostgreSQL 1,000,000 past "
                             "appointments, 5,000,000 function calls …; SQLite a tenth), 0 leaves it out.")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the core.")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--raw", type=Path, default=None,
                        help="Where the figures go as JSON (default reports/bench-<shape>.json).")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    options = StackOptions(database_url=args.database_url, redis_url=args.redis_url, workers=args.workers)
    plan = BenchPlan(seconds=args.seconds, callers=tuple(int(c) for c in args.callers.split(",") if c.strip()),
                     paced_seconds=args.paced_seconds, paced_callers=args.paced_callers, voice_calls=args.voice_calls,
                     voice_seconds=args.voice_seconds, storm_seconds=args.storm_seconds,
                     history_scale=args.history_scale)
    figures = asyncio.run(measure(options, plan))
    figures["mock"] = mock_bench(concurrency=50, requests=args.mock_requests)
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
    raw = args.raw or Path(f"reports/bench-{shape}.json")
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps({"setup": setup, **figures}, indent=2, default=str), encoding="utf-8")
    print(f"bench: wrote {args.out} and {raw} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
