"""The connection pool across a database restart: a connection that died while idle in the pool is
replaced before use, so the first caller after the restart gets an answer, not an error."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from booking_core.adapters import database
from booking_core.adapters.database import make_engine
from tests.support.services import MARIADB_ADMIN_URL, POSTGRES_ADMIN_URL, _mysql


async def _kill_connections(kind: str, url: str) -> int:
    """Terminate every server connection to the test database (what a restart does to a pool)."""
    name = urlsplit(url).path.lstrip("/")
    if kind == "postgres":
        admin = make_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+asyncpg://"))
        async with admin.connect() as connection:
            killed = (await connection.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})).scalar_one()
        await admin.dispose()
        return int(killed)
    connection = _mysql(MARIADB_ADMIN_URL)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                           (name,))
            ids = [row[0] for row in cursor.fetchall()]
            for process in ids:
                cursor.execute(f"KILL {int(process)}")
        return len(ids)
    finally:
        connection.close()


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_a_connection_killed_while_idle_is_replaced_without_an_error(
        kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.2)
    url = request.getfixturevalue(f"{kind}_url")  # sync test: the fixture runs its own event loop

    async def scenario() -> None:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:  # one connection, back in the pool afterwards
                assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
            assert await _kill_connections(kind, url) >= 1
            await asyncio.sleep(0.3)
            async with engine.connect() as connection:
                assert (await connection.execute(text("SELECT 2"))).scalar_one() == 2
        finally:
            await engine.dispose()

    asyncio.run(scenario())


@pytest.mark.parametrize("kind", ["postgres", "mariadb"])
def test_connections_opened_by_a_burst_are_kept_for_the_next_one(kind: str, request: pytest.FixtureRequest) -> None:
    """A burst opens what it needs; the next burst reuses those connections instead of opening and
    closing server connections again (they cost the server a backend each)."""
    url = request.getfixturevalue(f"{kind}_url")
    whoami = text("SELECT pg_backend_pid()" if kind == "postgres" else "SELECT CONNECTION_ID()")

    async def scenario() -> None:
        engine = make_engine(url, pool_size=8)
        try:
            async def one() -> int:
                async with engine.connect() as connection:
                    backend = int((await connection.execute(whoami)).scalar_one())
                    await asyncio.sleep(0.05)  # held together: the burst needs 8 connections
                    return backend

            first = set(await asyncio.gather(*(one() for _ in range(8))))
            second = set(await asyncio.gather(*(one() for _ in range(8))))
            assert len(first) == 8 and second == first
        finally:
            await engine.dispose()

    asyncio.run(scenario())
