"""Commit or roll back in one place; repositories share the unit's session."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking_core.adapters.repository import (
    AppointmentRepository,
    CallRepository,
    CustomerRepository,
    FunctionCallRepository,
    ServiceRepository,
)

# Drivers whose own exceptions can escape SQLAlchemy: asyncpg raises a raw ConnectionRefusedError
# (an OSError) or its own errors when the pool has to reconnect to a restarting server.
_DRIVERS = ("asyncpg", "aiomysql", "pymysql", "aiosqlite", "sqlite3")


class DatabaseUnreachable(SQLAlchemyError):
    """A database failure the driver raised without SQLAlchemy's wrapping (see _is_driver_failure)."""


def _is_driver_failure(exc: BaseException) -> bool:
    if isinstance(exc, SQLAlchemyError):
        return False
    return isinstance(exc, (OSError, TimeoutError)) or type(exc).__module__.split(".")[0] in _DRIVERS


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self.services = ServiceRepository(self.session)
        self.customers = CustomerRepository(self.session)
        self.appointments = AppointmentRepository(self.session)
        self.calls = CallRepository(self.session)
        self.function_calls = FunctionCallRepository(self.session)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        # close() discards anything uncommitted without expiring what was loaded, so rows read
        # inside the unit stay usable after it (rollback() would expire them).
        try:
            await self.session.close()
        except Exception as closing:  # the connection died (with the error below, if any)
            if exc is None:
                if _is_driver_failure(closing):
                    raise DatabaseUnreachable(f"{type(closing).__name__}: {closing}"[:300]) from closing
                raise
        if exc is not None and _is_driver_failure(exc):
            # One type for every database failure: every `except SQLAlchemyError` that compensates,
            # settles or answers "technisches Problem" sees it, whatever the driver raised.
            raise DatabaseUnreachable(f"{type(exc).__name__}: {exc}"[:300]) from exc

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()

    async def kill_connection(self) -> None:
        """Test hook: the server drops this transaction's connection (pg_terminate_backend / KILL)
        between the confirm's UPDATE and its COMMIT, as a failover or an operator would."""
        engine = self.session.bind
        assert isinstance(engine, AsyncEngine)
        dialect = engine.dialect.name
        if dialect == "postgresql":
            pid, kill = await self.session.scalar(text("SELECT pg_backend_pid()")), "SELECT pg_terminate_backend(:pid)"
        elif dialect in ("mysql", "mariadb"):
            pid, kill = await self.session.scalar(text("SELECT CONNECTION_ID()")), "KILL :pid"
        else:
            raise DBAPIError("COMMIT", {}, Exception("injected: SQLite has no connection to kill"))
        async with engine.connect() as admin:
            await admin.execute(text(kill), {"pid": int(pid)})
            await admin.commit()
