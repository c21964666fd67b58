"""Commit or roll back in one place; repositories share the unit's session."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking_core.adapters.repository import (
    AppointmentRepository,
    CallRepository,
    CustomerRepository,
    ServiceRepository,
)


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        self.services = ServiceRepository(self.session)
        self.customers = CustomerRepository(self.session)
        self.appointments = AppointmentRepository(self.session)
        self.calls = CallRepository(self.session)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        # close() discards anything uncommitted without expiring what was loaded, so rows read
        # inside the unit stay usable after it (rollback() would expire them).
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()
