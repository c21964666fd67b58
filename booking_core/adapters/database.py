"""Engine and session factory for SQLite, PostgreSQL and MariaDB alike.

Every session runs in UTC: `updated_at`/`created_at` come from the server's NOW(), and the
reconciler's grace compares them with the app's UTC clock (PostgreSQL's `now()::timestamp` and
MariaDB's `NOW()` are in the session's zone, which defaults to the server's).
"""

import asyncio
import math
import time
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_
from sqlalchemy.util.concurrency import in_greenlet

PING_AFTER_IDLE_S = 1.0


def make_engine(url: str, pool_size: int = 30, pool_timeout_s: float = 5.0, wait_s: float = 15.0) -> AsyncEngine:
    """`wait_s` bounds how long one statement waits for another transaction's locks: the booking
    runs its DB steps inside the slot lock, and a wait past the lock's TTL would let a second caller
    into the slot (bootstrap passes a fraction of LOCK_TTL_S)."""
    if url.startswith("sqlite"):
        # Connections kept, not opened and closed per burst (each is a thread and three PRAGMAs).
        engine = create_async_engine(url, connect_args={"timeout": wait_s}, pool_size=pool_size, max_overflow=0,
                                     pool_timeout=pool_timeout_s)
        _sqlite_pragmas(engine.sync_engine, wait_s)
        _one_writer_at_a_time(engine.sync_engine, wait_s)
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


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
_HOLDS = "callsim_writer_gate"


def _one_writer_at_a_time(engine: Engine, wait_s: float) -> None:
    """SQLite has one writer, and its busy handler lets waiters poll in growing sleeps (up to 100 ms):
    under 50 concurrent bookings the write lock was almost never free when a sleeper looked, one
    starved past the busy timeout ("database is locked") and a caller heard "technisches Problem".
    So a transaction's first write waits its turn here, first come first served, and is woken the
    moment the previous writer finishes; reads never wait (WAL). It waits no longer than SQLite's own
    busy timeout would (`wait_s`, a fraction of the slot lock's TTL: the pysqlite driver runs a
    transaction's reads before its first write outside the write lock, so the intent's "is the slot
    held?" read and its INSERT are atomic only under the slot lock). Other processes on the same file
    still meet SQLite's busy timeout."""
    # One gate per event loop (a lock belongs to one), and per engine: another database is not this one's writer.
    gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    @event.listens_for(engine, "before_cursor_execute")
    def _take(connection, _cursor, statement, _parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        info = connection.connection.info
        if _HOLDS in info or not statement.lstrip()[:6].upper().startswith(_WRITES) or not in_greenlet():
            return  # a sync caller (migrations, the bench's filler) has SQLite's busy timeout alone
        loop = asyncio.get_running_loop()
        gate = gates.get(loop) or gates.setdefault(loop, asyncio.Lock())
        try:
            await_(asyncio.wait_for(gate.acquire(), wait_s))
        except TimeoutError:
            raise PoolTimeoutError(f"no turn to write within {wait_s:.1f} s") from None
        info[_HOLDS] = gate

    def _give_back(info: dict[str, Any]) -> None:
        gate = info.pop(_HOLDS, None)
        if gate is not None:
            gate.release()

    # The transaction ends with COMMIT or ROLLBACK; a connection handed back to the pool (or dropped)
    # without either still gives its turn back.
    event.listen(engine, "commit", lambda connection: _give_back(connection.connection.info))
    event.listen(engine, "rollback", lambda connection: _give_back(connection.connection.info))
    event.listen(engine.pool, "checkin", lambda _dbapi, record: _give_back(record.info))
    event.listen(engine.pool, "invalidate", lambda _dbapi, record, _exc: _give_back(record.info))


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
