"""Engine and session factory for SQLite, PostgreSQL and MariaDB alike.

Every session runs in UTC: `updated_at`/`created_at` come from the server's NOW(), and the
reconciler's grace compares them with the app's UTC clock (PostgreSQL's `now()::timestamp` and
MariaDB's `NOW()` are in the session's zone, which defaults to the server's).
"""

import math
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

PING_AFTER_IDLE_S = 1.0


def make_engine(url: str, pool_size: int = 30, pool_timeout_s: float = 5.0, wait_s: float = 15.0) -> AsyncEngine:
    """`wait_s` bounds how long one statement waits for another transaction's locks: the booking
    runs its DB steps inside the slot lock, and a wait past the lock's TTL would let a second caller
    into the slot (bootstrap passes a fraction of LOCK_TTL_S)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": wait_s})
        _sqlite_pragmas(engine.sync_engine, wait_s)
        return engine
    # No overflow: an overflow connection is closed when it comes back, so a busy minute opened and
    # closed PostgreSQL connections all the time (a new backend costs milliseconds of CPU on both
    # sides). The pool opens connections only as concurrency asks for them, and keeps them; a caller
    # beyond them waits its turn (FIFO) up to pool_timeout_s instead of being refused.
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=pool_timeout_s,
                                 connect_args=_session_settings(url, wait_s))
    _ping_when_idle(engine.sync_engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """A restarted database must not cost the next caller an error: a connection that sat in the
    pool for a while is pinged before use and replaced if dead. A connection back from a request
    a moment ago is not: pinging on every checkout (pool_pre_ping) cost a round trip per
    transaction, and a failure in use invalidates the whole pool anyway."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises for a dead connection
            raise DisconnectionError(str(exc)) from exc  # the pool connects afresh and retries


def _session_settings(url: str, wait_s: float) -> dict[str, Any]:
    """UTC sessions and bounded lock waits, set once per connection by the driver."""
    wait_ms = max(1, int(wait_s * 1000))
    if url.startswith("postgresql"):
        # asyncpg sends these in the startup packet: no extra round trip per connection.
        return {"server_settings": {"timezone": "UTC", "lock_timeout": str(wait_ms),
                                    "statement_timeout": str(2 * wait_ms)}}
    if url.startswith(("mysql", "mariadb")):
        # innodb_lock_wait_timeout counts whole seconds (at least 1; the server default is 50).
        return {"init_command": f"SET time_zone = '+00:00', innodb_lock_wait_timeout = {max(1, math.floor(wait_s))}"}
    return {}


def _sqlite_pragmas(engine: Engine, wait_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        # WAL + busy timeout: several worker processes share one file without "database is locked".
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={max(1, int(wait_s * 1000))}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
