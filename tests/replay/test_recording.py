"""Recording without the whole stack: the per-call split, the proxy, and failures on tape.

An upstream on a real 127.0.0.1 port stands in for the webhook (proxy) or for Cal.com (core side).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import yamlserializer

from harness.stack import free_port
from replay.calls import CallTagging
from replay.cassette import CALCOM_FILE
from replay.files import CALLER_FILE
from replay.filters import Scrubber
from replay.proxy import proxy_app
from replay.session import cassette_session

CALLER = "+4915112345678"


async def echo(request: Request) -> JSONResponse:
    if request.url.path == "/slow":
        await asyncio.sleep(1)
    return JSONResponse({"path": request.url.path, "query": request.url.query,
                         "body": (await request.body()).decode()})


@pytest.fixture
def upstream() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/{p:path}", echo, methods=["GET", "POST"])]),
                                          host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def load(path: Path) -> tuple[list[Any], list[dict[str, Any]]]:
    requests, responses, *_ = FilesystemPersister.load_cassette(path, yamlserializer)
    return requests, responses


def function_call(call_id: str, name: str) -> bytes:
    return json.dumps({"name": name, "args": {}, "call": {"call_id": call_id, "from_number": CALLER}}).encode()


async def test_the_proxy_writes_one_caller_cassette_per_call(tmp_path: Path, upstream: str) -> None:
    out = tmp_path / "out"
    with cassette_session(out, "record", scrubber=Scrubber(), per_call_file=CALLER_FILE,
                          keep=lambda request: request.uri.startswith(f"{upstream}/api/retell/")) as session:
        app = proxy_app(upstream, session.calls)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://proxy") as client:
            for call_id, name in (("call_a", "check_availability"), ("call_b", "book_appointment"),
                                  ("call_a", "book_appointment")):
                answer = await client.post("/api/retell/function-call", content=function_call(call_id, name),
                                           headers={"X-Retell-Signature": "v=1,d=abc", "X-Callsim-Fault": "db_confirm"})
                assert answer.status_code == 200
                assert json.loads(answer.json()["body"])["name"] == name  # forwarded unchanged
    calls = {}
    for call_id in ("call_a", "call_b"):
        requests, _ = load(out / call_id / CALLER_FILE)
        calls[call_id] = [json.loads(r.body)["name"] for r in requests]
        assert all(r.headers["x-retell-signature"] == "<redacted>" for r in requests)
        assert all(r.headers["x-callsim-fault"] == "db_confirm" for r in requests)
        assert all(CALLER not in r.body.decode() for r in requests)
    assert calls == {"call_a": ["check_availability", "book_appointment"], "call_b": ["book_appointment"]}


async def test_the_core_side_splits_per_call_with_the_startup_in_front(tmp_path: Path, upstream: str) -> None:
    out = tmp_path / "out"
    with cassette_session(out, "record", per_call_file=CALCOM_FILE,
                          keep=lambda request: request.uri.startswith(upstream)) as session:
        async with httpx.AsyncClient(base_url=upstream) as calcom:
            await calcom.get("/v2/event-types")  # the services sync at startup, part of no call

            async def webhook(request: Request) -> JSONResponse:
                payload = json.loads(await request.body())
                if payload["name"] != "get_available_services":
                    await calcom.get("/v2/slots", params={"for": payload["call"]["call_id"]})
                return JSONResponse({"success": True})

            app = CallTagging(Starlette(routes=[Route("/api/retell/function-call", webhook, methods=["POST"])]),
                              session.calls)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://core") as client:
                for call_id, name in (("call_a", "check_availability"), ("call_b", "book_appointment"),
                                      ("call_c", "get_available_services")):
                    await client.post("/api/retell/function-call", content=function_call(call_id, name))
    for call_id, expected in (("call_a", ["/v2/event-types", "/v2/slots?for=call_a"]),
                              ("call_b", ["/v2/event-types", "/v2/slots?for=call_b"]),
                              ("call_c", ["/v2/event-types"])):
        requests, _ = load(out / call_id / CALCOM_FILE)
        assert [r.uri.removeprefix(upstream) for r in requests] == expected
        assert all("x-callsim-call" not in r.headers for r in requests)


async def test_transport_failures_are_recorded_and_raised_again(tmp_path: Path, upstream: str) -> None:
    cassette = tmp_path / CALCOM_FILE
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    keep = lambda request: True  # noqa: E731

    async def calls() -> list[str]:
        seen = []
        async with httpx.AsyncClient() as client:
            for url, deadline in ((f"{upstream}/slow", 0.3), (f"{closed}/v2/bookings", 2.0)):
                try:
                    async with asyncio.timeout(deadline):
                        await client.get(url)
                    seen.append("answer")
                except (TimeoutError, httpx.TimeoutException):
                    seen.append("timeout")
                except httpx.ConnectError:
                    seen.append("refused")
        return seen

    with cassette_session(cassette, "record", keep=keep):
        recorded = await calls()
    started = time.monotonic()
    with cassette_session(cassette, "replay", keep=keep) as session:
        replayed = await calls()
    assert recorded == replayed == ["timeout", "refused"]
    assert time.monotonic() - started >= 0.3  # the hang is waited out again, not skipped
    assert session.report()["unused"] == [] and session.report()["unmatched"] == []
