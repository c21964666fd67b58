"""Overhead of the mock without faults: `/v2/slots` latency at N concurrent clients (`make bench`).

The mock runs in its own uvicorn process; N clients, each on its own keep-alive connection, send
GET /v2/slots from this process, paced to a fixed total rate (open loop, as a load test drives Cal.com).
Latency is reported as the client sees it and as the server reports it in `Server-Timing`.

Two client implementations: "lean" (h11 over asyncio streams, a few microseconds per request) and
"httpx". On a small machine httpx's own per-request CPU, not the mock, dominates what it measures at
50 connections, so the gate figure comes from the lean client; "httpx" shows what an httpx caller sees.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import h11
import httpx

from mock_calcom.launcher import running_mock

HEADERS = {"Authorization": "Bearer cal_bench", "cal-api-version": "2024-09-04"}
# A frozen clock so the queried Tuesday is always in the future and inside Cal.com's one-year window.
NOW = "2030-06-03T05:00:00Z"
QUERY = {"eventTypeId": 2, "start": "2030-06-04", "end": "2030-06-04", "timeZone": "Europe/Berlin"}
TARGET = f"/v2/slots?{urlencode(QUERY)}"

# One request on one connection; returns the Server-Timing header value.
Fetch = Callable[[], Awaitable[str]]


async def _lean_connection(base_url: str) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    headers = [("Host", parts.netloc), *HEADERS.items()]
    connection = h11.Connection(our_role=h11.CLIENT)

    async def fetch() -> str:
        writer.write(connection.send(h11.Request(method="GET", target=TARGET, headers=headers)))
        writer.write(connection.send(h11.EndOfMessage()))
        timing = ""
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                connection.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                if event.status_code != 200:
                    raise RuntimeError(f"GET /v2/slots answered {event.status_code}")
                timing = dict(event.headers).get(b"server-timing", b"").decode()
            elif isinstance(event, h11.EndOfMessage):
                connection.start_next_cycle()
                return timing

    async def close() -> None:
        writer.close()
        await writer.wait_closed()

    return fetch, close


async def _httpx_connection(base_url: str) -> tuple[Fetch, Callable[[], Awaitable[None]]]:
    client = httpx.AsyncClient(base_url=base_url, headers=HEADERS, timeout=10)

    async def fetch() -> str:
        response = await client.get(TARGET)
        response.raise_for_status()
        return response.headers.get("server-timing", "")

    return fetch, client.aclose


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)

    return {
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": round(statistics.fmean(values), 3),
    }


async def _measure(
    base_url: str, concurrency: int, requests: int, rate_per_s: float | None, client: str
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as control:
        await control.put("/_control/config", json={"now": NOW})
    open_connection = _lean_connection if client == "lean" else _httpx_connection
    connections = [await open_connection(base_url) for _ in range(concurrency)]
    for fetch, _ in connections:  # warm-up: caches and connections
        await fetch()
    client_ms: list[float] = []
    server_ms: list[float] = []
    next_index = 0
    started = time.perf_counter()

    async def worker(fetch: Fetch) -> None:
        nonlocal next_index
        while next_index < requests:
            index = next_index
            next_index += 1
            if rate_per_s:
                # Open loop: request i is due at i / rate, however long earlier ones took.
                await asyncio.sleep(max(0.0, started + index / rate_per_s - time.perf_counter()))
            sent = time.perf_counter()
            timing = await fetch()
            client_ms.append((time.perf_counter() - sent) * 1000)
            if "dur=" in timing:
                server_ms.append(float(timing.split("dur=")[1]))

    try:
        await asyncio.gather(*(worker(fetch) for fetch, _ in connections))
    finally:
        for _, close in connections:
            await close()
    elapsed = time.perf_counter() - started
    return {
        "client_kind": client,
        "concurrency": concurrency,
        "requests": requests,
        "rate_per_s": rate_per_s,
        "throughput_rps": round(requests / elapsed, 1),
        "client": _percentiles(client_ms),
        "server": _percentiles(server_ms),
    }


def bench_slots(
    concurrency: int = 50,
    requests: int = 2000,
    rate_per_s: float | None = 250.0,
    client: Literal["lean", "httpx"] = "lean",
) -> dict[str, Any]:
    """Start the mock, send `requests` GET /v2/slots from `concurrency` clients; print and return P50/P95/P99.

    `rate_per_s` is the total pace of all clients; None sends back to back, which measures the mock's
    capacity (latency then is mostly queueing: concurrency / throughput) rather than its overhead.
    """
    with running_mock("--seed", "1") as base_url:
        result = asyncio.run(_measure(base_url, concurrency, requests, rate_per_s, client))
    for side in ("client", "server"):
        figures = result[side]
        print(
            f"mock_calcom /v2/slots {side:6s} P50 {figures['p50_ms']:.2f} ms  P95 {figures['p95_ms']:.2f} ms  "
            f"P99 {figures['p99_ms']:.2f} ms  ({concurrency} {client} clients, {requests} requests at "
            f"{rate_per_s or 'max'} req/s; {result['throughput_rps']} req/s achieved)"
        )
    return result


def main(argv: list[str] | None = None) -> None:
    """`python -m mock_calcom.bench [--json]`: how `load.bench` runs it, in its own process, so that
    the load tools reach the mock only as a program and over HTTP."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=250.0, help="total requests/s; 0 sends back to back")
    parser.add_argument("--client", choices=("lean", "httpx"), default="lean")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    args = parser.parse_args(argv)
    result = bench_slots(args.concurrency, args.requests, args.rate or None, args.client)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
