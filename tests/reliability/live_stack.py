"""The real stack (harness.stack) driven from synchronous tests: signed webhook calls, the mock's
control API, plain SQL on the core's database, and the reconciler run in-process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from booking_core.bootstrap import bootstrap
from booking_core.config import Settings
from booking_core.entrypoints.signature import sign
from booking_core.service_layer.reconcile import reconcile
from harness.appointments_db import Appointment, async_url
from harness.calcom_listing import parse_booking
from harness.invariants import Snapshot
from harness.stack import StackOptions, Target, open_target

T = TypeVar("T")
BERLIN = ZoneInfo("Europe/Berlin")
SALON_NUMBER = "+493012345670"
# Comfortably above the core's own 1.4 s Cal.com budget: a client timeout here is a finding, not noise.
CLIENT_TIMEOUT_S = 10.0


class BackgroundLoop:
    """One event loop in a thread, so synchronous tests (and hypothesis rules) can await things."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 90) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    text: str
    elapsed_s: float

    @property
    def success(self) -> bool:
        return bool(self.body.get("success"))

    @property
    def message(self) -> str:
        return str(self.body.get("message") or "")

    @property
    def error(self) -> str | None:
        return self.body.get("error")

    @property
    def data(self) -> dict[str, Any]:
        return self.body.get("data") or {}


class LiveStack:
    def __init__(self, target: Target, loop: BackgroundLoop, control_url: str | None = None,
                 options: StackOptions | None = None, direct_database_url: str | None = None) -> None:
        self.target = target
        self.loop = loop
        self.options = options or StackOptions()
        self.webhook = httpx.Client(base_url=target.webhook_url, timeout=CLIENT_TIMEOUT_S)
        # The mock's control API, straight (the core may reach Cal.com through something in between).
        self.mock = httpx.Client(base_url=control_url or target.calcom_url, timeout=30)
        # The checker reads the database straight, even when the core reaches it through a gate.
        self.database_url = direct_database_url or str(target.database_url)
        self._engine: AsyncEngine | None = None
        self._restarted: list[AbstractAsyncContextManager[Target]] = []
        self.restarts = 0

    def close(self) -> None:
        self.webhook.close()
        self.mock.close()
        if self._engine is not None:
            self.loop.run(self._engine.dispose())
        for context in reversed(self._restarted):
            self.loop.run(context.__aexit__(None, None, None))

    # -- the worker process: killed like the OOM killer does it, and started again ------------------

    def kill_core(self) -> None:
        """SIGKILL the webhook's process (uvicorn with one worker serves in-process): no shutdown,
        no background task finishes, no answer is stored."""
        port = str(httpx.URL(self.target.webhook_url).port)
        killed = 0
        for pid in _pids_of("booking_core", "--port", port):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        if not killed:
            raise RuntimeError(f"no booking_core process serves port {port}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _pids_of("booking_core", "--port", port):
            time.sleep(0.02)

    def restart_core(self) -> None:
        """A new worker on the same database, Redis and Cal.com (a new port: the old one may linger)."""
        restarted = replace(self.options, webhook_url=None, calcom_url=self.target.calcom_url,
                            database_url=str(self.target.database_url), redis_url=self.target.redis_url,
                            # the services are in the database already: start as fast as a restart can
                            extra_env={**self.options.extra_env, "SERVICES_SYNC_ON_START": "false"})
        context = open_target(restarted)
        target = self.loop.run(context.__aenter__())
        self._restarted.append(context)
        self.target = target
        self.webhook.close()
        self.webhook = httpx.Client(base_url=target.webhook_url, timeout=CLIENT_TIMEOUT_S)
        self.restarts += 1

    # -- the webhook, as Retell calls it ------------------------------------------------------

    def call(self, name: str, args: dict[str, Any], *, call_id: str | None = None, phone: str = "+4915100000000",
             fault: str | None = None, timeout_s: float = CLIENT_TIMEOUT_S) -> Answer:
        """Raises httpx.HTTPError when no answer arrives (the outcome is then unknown)."""
        call = {"call_id": call_id or f"call_{uuid.uuid4().hex}", "agent_id": "agent_callsim_reliability",
                "from_number": phone, "to_number": SALON_NUMBER, "direction": "inbound", "call_status": "ongoing",
                "start_timestamp": int(time.time() * 1000), "transcript": ""}
        return self.post_raw("/api/retell/function-call",
                             json.dumps({"name": name, "args": args, "call": call}, ensure_ascii=False).encode(),
                             fault=fault, timeout_s=timeout_s)

    def post_raw(self, path: str, body: bytes, *, fault: str | None = None, signed: bool = True,
                 content_type: str = "application/json", timeout_s: float = CLIENT_TIMEOUT_S) -> Answer:
        headers = {"content-type": content_type}
        if signed and self.target.retell_api_key:
            headers["x-retell-signature"] = sign(body, self.target.retell_api_key)
        if fault:
            headers["x-callsim-fault"] = fault
        started = time.perf_counter()
        response = self.webhook.post(path, content=body, headers=headers, timeout=timeout_s)
        elapsed = time.perf_counter() - started
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        return Answer(response.status_code, parsed if isinstance(parsed, dict) else {}, response.text, elapsed)

    # -- the mock's control API ---------------------------------------------------------------

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        if rules:
            self.mock.put("/_control/faults", json={"faults": rules}).raise_for_status()
        else:
            self.mock.delete("/_control/faults").raise_for_status()

    def fault_hits(self) -> int:
        return sum(int(rule.get("hits", 0)) for rule in self.mock.get("/_control/faults").json()["faults"])

    def configure_mock(self, **changes: Any) -> None:
        self.mock.put("/_control/config", json=changes).raise_for_status()

    def reset_mock(self, seed: int) -> None:
        # A fresh uid sequence per reset: a compensation still retrying from before must not hit a new booking.
        self.configure_mock(seed=seed, race_window_ms=0)
        self.mock.post("/_control/reset").raise_for_status()

    def ledger(self) -> list[dict[str, Any]]:
        return list(self.mock.get("/_control/ledger").json()["bookings"])

    def wait_quiet(self, quiet_s: float = 1.0, limit_s: float = 8.0) -> bool:
        """Until no request to Cal.com is in flight and none began for `quiet_s` (background
        compensation has finished). False when the limit passed first."""
        deadline = time.monotonic() + limit_s
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            entries = self.mock.get("/_control/requests").json()["requests"]
            busy = any(e["latency_ms"] is None for e in entries)
            if len(entries) != seen or busy:
                seen, since = len(entries), time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return True
            time.sleep(0.1)
        return False

    # -- the core's database --------------------------------------------------------------------

    def sql(self, statement: str, **params: Any) -> list[Any]:
        async def run() -> list[Any]:
            if self._engine is None:
                self._engine = create_async_engine(async_url(self.database_url), pool_pre_ping=True)
            async with self._engine.begin() as connection:
                result = await connection.execute(text(statement), params)
                return list(result) if result.returns_rows else []

        return self.loop.run(run())

    def count_appointments(self) -> int:
        return int(self.sql("SELECT COUNT(*) FROM appointments")[0][0])

    def wipe_bookings(self) -> None:
        """Forget every appointment and stored answer (services and customers stay)."""
        self.sql("DELETE FROM appointments")
        self.sql("DELETE FROM function_calls")

    def services(self) -> dict[str, tuple[str, int]]:
        """Name → (resource, minutes), as the core synced them from Cal.com."""
        return {str(r[0]): (str(r[1]), int(r[2])) for r in self.sql("SELECT name, resource, duration_min FROM services")}

    def snapshot(self) -> Snapshot:
        """The invariant checker's view (mock ledger + appointments), on this stack's pooled engine:
        taken after every generated step, so it has to be cheap."""
        bookings = [parse_booking(raw) for raw in self.ledger()]
        rows = self.sql("SELECT id, resource, start_at, end_at, status, calcom_uid, call_id FROM appointments")
        return Snapshot(bookings, "mock-ledger", [
            Appointment(id=str(r[0]), resource=str(r[1]), start=_utc(r[2]), end=_utc(r[3]), status=str(r[4]),
                        calcom_uid=r[5], call_id=r[6]) for r in rows])

    def reconcile(self, grace_s: float = 0) -> dict[str, Any]:
        """What `callsim reconcile --grace-s <grace_s>` does (default 0: the system is quiet), in-process."""
        settings = Settings(database_url=self.database_url, calcom_base_url=self.target.calcom_url,
                            calcom_api_key=self.target.calcom_api_key, redis_url=None, reconcile_grace_s=grace_s)

        async def run() -> dict[str, Any]:
            core = bootstrap(settings)
            try:
                return (await reconcile(core, grace_s=grace_s)).as_dict()
            finally:
                await core.aclose()

        return self.loop.run(run())


@contextmanager
def live_stack(options: StackOptions, control_url: str | None = None,
               direct_database_url: str | None = None) -> Iterator[LiveStack]:
    loop = BackgroundLoop()
    context = open_target(options)
    try:
        target = loop.run(context.__aenter__())
        stack = LiveStack(target, loop, control_url, options, direct_database_url)
        try:
            yield stack
        finally:
            stack.close()
            loop.run(context.__aexit__(None, None, None))
    finally:
        loop.close()


def _pids_of(*words: str) -> list[int]:
    """Processes whose command line holds every word (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv]
        if all(word in args for word in words):
            found.append(int(entry.name))
    return found


def _utc(value: object) -> datetime:
    # Naive UTC by contract; SQLite hands back text, the other engines datetimes.
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
