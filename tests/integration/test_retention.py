"""Retention: old function-call records, call events and call rows go, in bounded batches; recent
ones, and a claim still leased, stay. On SQLite and on real PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from booking_core.adapters.migrations import upgrade
from booking_core.adapters.orm import CallEventRow, CallRow, FunctionCallRow
from booking_core.bootstrap import RunningCore, bootstrap
from booking_core.config import Settings
from booking_core.entrypoints.app import create_app
from booking_core.service_layer.retention import prune
from tests.support.commands import callsim

OLD = timedelta(days=40)
# What the fixture writes: (old rows that must go, rows that must stay) per table.
EXPECTED = {"function_calls": (7, 4), "call_events": (5, 2), "calls": (3, 1)}


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def _fill(core: RunningCore) -> None:
    now = _utcnow()
    calls, events, answers = [], [], []
    for i in range(EXPECTED["calls"][0] + EXPECTED["calls"][1]):
        at = now - OLD if i < EXPECTED["calls"][0] else now
        calls.append({"call_id": f"call_{i}", "status": "ended", "call": {}, "updated_at": at})
    for i in range(sum(EXPECTED["call_events"])):
        at = now - OLD - timedelta(minutes=i) if i < EXPECTED["call_events"][0] else now - timedelta(days=29)
        events.append({"call_id": f"call_{i}", "event": "call_ended", "payload": {"n": i}, "received_at": at})
    for i in range(EXPECTED["function_calls"][0]):
        at = now - OLD - timedelta(hours=i)
        answers.append({"key": f"old_{i}", "call_id": f"call_{i}", "name": "book_appointment", "status": "done",
                        "response": {"success": True}, "lease_until": at + timedelta(seconds=10), "created_at": at})
    answers += [{"key": f"new_{i}", "call_id": "call_new", "name": "book_appointment", "status": "done",
                 "response": None, "lease_until": now, "created_at": now - timedelta(days=1)} for i in range(3)]
    # Old by its date, yet its lease runs: a request is still answering it (a clock far off, a long
    # retry chain). Pulling it would let a retry book again.
    answers.append({"key": "leased", "call_id": "call_leased", "name": "book_appointment", "status": "in_progress",
                    "response": None, "lease_until": now + timedelta(minutes=5), "created_at": now - OLD})
    async with core.uow() as uow:
        await uow.session.execute(insert(CallRow), calls)
        await uow.session.execute(insert(CallEventRow), events)
        await uow.session.execute(insert(FunctionCallRow), answers)
        await uow.commit()


async def _counts(core: RunningCore) -> dict[str, int]:
    async with core.uow() as uow:
        return {table: int(await uow.session.scalar(select(func.count()).select_from(row)) or 0)
                for table, row in (("function_calls", FunctionCallRow), ("call_events", CallEventRow),
                                   ("calls", CallRow))}


def _core(url: str, **settings: object) -> RunningCore:
    return bootstrap(Settings(database_url=url, reconcile_interval_s=0, retention_interval_s=0, **settings))


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mariadb"])
def test_prune_deletes_only_what_is_older_than_the_retention_age(kind: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    upgrade(url)

    async def scenario() -> None:
        core = _core(url, retention_batch_size=2, retention_pause_s=0)
        try:
            await _fill(core)
            report = await prune(core)  # default age: RETENTION_DAYS = 30
            assert report.deleted == {table: old for table, (old, _) in EXPECTED.items()}
            assert report.complete
            assert await _counts(core) == {table: kept for table, (_, kept) in EXPECTED.items()}
            async with core.uow() as uow:
                left = set(await uow.session.scalars(select(FunctionCallRow.key)))
            assert left == {"new_0", "new_1", "new_2", "leased"}
            assert (await prune(core)).deleted == dict.fromkeys(EXPECTED, 0)  # nothing old is left
        finally:
            await core.aclose()

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_periodic_pass_deletes_at_most_its_batches_and_the_next_goes_on(kind: str,
                                                                           request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    upgrade(url)

    async def scenario() -> None:
        core = _core(url, retention_pause_s=0)
        try:
            await _fill(core)
            first = await prune(core, batch_size=2, max_batches=1)
            assert first.deleted == dict.fromkeys(EXPECTED, 2) and not first.complete
            rest = await prune(core, batch_size=2, max_batches=10)
            assert rest.complete
            assert rest.deleted == {table: old - 2 for table, (old, _) in EXPECTED.items()}
        finally:
            await core.aclose()

    asyncio.run(scenario())


def test_the_app_prunes_periodically(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    settings = Settings(database_url=sqlite_url, reconcile_interval_s=0, retention_interval_s=0.2,
                        retention_pause_s=0, log_json=False)

    async def fill() -> None:
        core = _core(sqlite_url)
        try:
            await _fill(core)
        finally:
            await core.aclose()

    asyncio.run(fill())
    remaining: dict[str, int] = {}
    with TestClient(create_app(settings)) as client:
        core = client.app.state.core  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            remaining = client.portal.call(_counts, core)  # type: ignore[union-attr]
            if remaining == {table: kept for table, (_, kept) in EXPECTED.items()}:
                break
            time.sleep(0.1)
    assert remaining == {table: kept for table, (_, kept) in EXPECTED.items()}


def test_callsim_prune_on_demand(sqlite_url: str) -> None:
    upgrade(sqlite_url)

    async def fill() -> None:
        core = _core(sqlite_url)
        try:
            await _fill(core)
        finally:
            await core.aclose()

    asyncio.run(fill())
    # 35 days: the rows 40 days old go, the call events 29 days old stay.
    done = callsim("prune", "--database-url", sqlite_url, "--older-than-days", "35", "--batch-size", "3")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout[done.stdout.find("{"):])
    assert report["deleted"] == {table: old for table, (old, _) in EXPECTED.items()} and report["complete"]
    refused = callsim("prune", "--database-url", sqlite_url, "--older-than-days", "0")
    assert refused.returncode == 2 and "more than 0" in refused.stderr
    broken = callsim("prune", "--database-url", "sqlite+aiosqlite:////nonexistent/dir/x.db")
    assert broken.returncode == 1 and "prune failed" in broken.stderr and "Traceback" not in broken.stderr
