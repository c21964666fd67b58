"""Database sessions (review F6, F13): UTC on every engine, and lock waits inside the slot lock end
well before the lock's TTL, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from booking_core.adapters.migrations import upgrade
from booking_core.adapters.orm import ServiceRow
from booking_core.bootstrap import RunningCore, bootstrap
from booking_core.config import Settings
from booking_core.domain.model import Slot
from booking_core.service_layer.booking import confirm_intent
from booking_core.service_layer.context import CallContext

START = datetime(2031, 3, 4, 9, 0)
LOCK_TTL_S = 5.0


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def database_url(request: pytest.FixtureRequest) -> str:
    url = str(request.getfixturevalue(f"{request.param}_url"))
    upgrade(url)
    return url


async def _pending(core: RunningCore) -> str:
    appointment_id = str(uuid.uuid4())
    async with core.uow() as uow:
        uow.services.add(ServiceRow(name="Damenschnitt", aliases=[], duration_min=60, resource="host:101",
                                    calcom_event_type_id=2, active=True))
        await uow.session.flush()
        service = await uow.services.by_name("Damenschnitt")
        assert service is not None
        await uow.appointments.add_intent(
            id=appointment_id, service_id=service.id, resource="host:101", start_at=START,
            end_at=START + timedelta(hours=1), status="pending", sync_status="in_sync",
            idempotency_key=uuid.uuid4().hex)
        await uow.commit()
    return appointment_id


@pytest.fixture
def new_york_postgres(postgres_url: str) -> str:
    """A PostgreSQL database whose sessions default to New York time (as initdb on such a host)."""
    upgrade(postgres_url)

    async def alter() -> None:
        admin = create_async_engine(postgres_url)
        async with admin.connect() as connection:
            await connection.execute(text(f'ALTER DATABASE "{make_url(postgres_url).database}" '
                                          "SET timezone TO 'America/New_York'"))
            await connection.commit()
        await admin.dispose()

    asyncio.run(alter())
    return postgres_url


async def test_a_fresh_intent_is_not_stale_whatever_the_servers_time_zone(new_york_postgres: str) -> None:
    """updated_at comes from the server's now(): in a New York session it is 5 hours "old"."""
    postgres_url = new_york_postgres
    core = bootstrap(Settings(database_url=postgres_url))
    fresh = await _pending(core)
    async with core.uow() as uow:
        stale = await uow.appointments.needing_reconcile(datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=30))
    assert fresh not in [row.id for row in stale]
    await core.aclose()


async def test_sessions_run_in_utc(database_url: str) -> None:
    core = bootstrap(Settings(database_url=database_url))
    async with core.uow() as uow:
        server_now = await uow.session.scalar(text("SELECT CURRENT_TIMESTAMP"))
    assert server_now is not None
    naive = server_now.replace(tzinfo=None) if isinstance(server_now, datetime) else datetime.fromisoformat(server_now)
    if isinstance(server_now, datetime) and server_now.tzinfo is not None:
        naive = server_now.astimezone(UTC).replace(tzinfo=None)
    assert abs(naive - datetime.now(UTC).replace(tzinfo=None)) < timedelta(seconds=5)
    if core.engine.dialect.name in ("mysql", "mariadb"):
        async with core.uow() as uow:
            assert await uow.session.scalar(text("SELECT @@session.time_zone")) == "+00:00"
    if core.engine.dialect.name == "postgresql":
        async with core.uow() as uow:
            assert await uow.session.scalar(text("SHOW timezone")) == "UTC"
    await core.aclose()


async def test_a_confirm_waiting_on_a_row_lock_gives_up_before_the_lock_ttl(database_url: str) -> None:
    core = bootstrap(Settings(database_url=database_url, lock_ttl_s=LOCK_TTL_S))
    appointment_id = await _pending(core)
    slot = Slot("host:101", START.replace(tzinfo=UTC), (START + timedelta(hours=1)).replace(tzinfo=UTC))
    ctx = CallContext(call_id="c", caller_phone=None, now=datetime.now(UTC), idempotency_key="k")
    holder = None
    if database_url.startswith("sqlite"):
        sqlite_holder = sqlite3.connect(database_url.split("///", 1)[1], isolation_level=None)
        sqlite_holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    else:
        holder_engine = create_async_engine(database_url)
        holder = await holder_engine.connect()
        await holder.execute(text("SELECT id FROM appointments WHERE id = :id FOR UPDATE"), {"id": appointment_id})
    started = time.monotonic()
    try:
        with pytest.raises(Exception):  # noqa: B017,PT011 - whatever the engine says, it must say it in time
            await asyncio.wait_for(confirm_intent(core, ctx, appointment_id, slot, "uid-1", None),
                                   timeout=LOCK_TTL_S * 3)
        took = time.monotonic() - started
    finally:
        if holder is not None:
            await holder.rollback()
            await holder.close()
            await holder_engine.dispose()
        else:
            sqlite_holder.rollback()
            sqlite_holder.close()
    assert took < LOCK_TTL_S, f"confirm waited {took:.1f}s on a lock; the slot lock lives {LOCK_TTL_S}s"
    await core.aclose()
