"""Run harness.stack's subprocess stack from synchronous pytest fixtures, plus a signed Retell client."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from booking_core.entrypoints.signature import sign
from harness.stack import StackOptions, Target, open_target

BERLIN = ZoneInfo("Europe/Berlin")


@contextmanager
def running_stack(options: StackOptions) -> Iterator[Target]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    # Own Redis key space per stack: parallel runs on one Redis must not share slot locks.
    options.extra_env.setdefault("LOCK_NAMESPACE", f"callsim-test-{uuid.uuid4().hex[:8]}")
    context = open_target(options)
    try:
        target = asyncio.run_coroutine_threadsafe(context.__aenter__(), loop).result(timeout=90)
        try:
            yield target
        finally:
            asyncio.run_coroutine_threadsafe(context.__aexit__(None, None, None), loop).result(timeout=60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


def future_workday(days_ahead: int = 3, weekday: int = 2) -> date:
    """A Tuesday-to-Friday-ish day safely in the future (weekday 2 = Wednesday by default)."""
    day = datetime.now(BERLIN).date() + timedelta(days=days_ahead)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def at(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), BERLIN).isoformat()


class RetellClient:
    """Speaks to the webhook exactly as Retell does: raw signed JSON, call object, per-call ids."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.http = httpx.AsyncClient(base_url=target.webhook_url, timeout=10)

    async def aclose(self) -> None:
        await self.http.aclose()

    def headers(self, body: bytes, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.target.retell_api_key:
            headers["x-retell-signature"] = sign(body, self.target.retell_api_key)
        return headers | (extra or {})

    async def post(self, path: str, payload: Any, extra: dict[str, str] | None = None) -> httpx.Response:
        body = json.dumps(payload, ensure_ascii=False).encode()
        return await self.http.post(path, content=body, headers=self.headers(body, extra))

    async def call(self, name: str, args: dict[str, Any], *, call_id: str | None = None,
                   phone: str = "+4915112345678", now: datetime | None = None,
                   fault: str | None = None) -> dict[str, Any]:
        call: dict[str, Any] = {"call_id": call_id or f"call_{uuid.uuid4().hex}", "agent_id": "agent_test",
                                "from_number": phone, "to_number": "+493012345670", "direction": "inbound",
                                "call_status": "ongoing", "transcript": ""}
        if now is not None:
            call["start_timestamp"] = int(now.timestamp() * 1000)
        extra = {"x-callsim-fault": fault} if fault else None
        response = await self.post("/api/retell/function-call", {"name": name, "args": args, "call": call}, extra)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def ledger(self) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.target.calcom_url) as mock:
            return (await mock.get("/_control/ledger")).json()["bookings"]  # type: ignore[no-any-return]

    async def faults(self, *rules: dict[str, Any]) -> None:
        async with httpx.AsyncClient(base_url=self.target.calcom_url) as mock:
            if rules:
                (await mock.put("/_control/faults", json={"faults": list(rules)})).raise_for_status()
            else:
                (await mock.delete("/_control/faults")).raise_for_status()
