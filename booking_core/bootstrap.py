"""Wire real adapters from Settings in one place; tests pass their own (fakes or real ones)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from booking_core.adapters.calcom import CalcomClient
from booking_core.adapters.database import make_engine, make_sessionmaker
from booking_core.adapters.locks import InProcessSlotLock, NoSlotLock, RedisSlotLock, SlotLock
from booking_core.adapters.migrations import upgrade
from booking_core.adapters.slots_cache import SlotsCache
from booking_core.config import Settings
from booking_core.domain.model import OpeningHours
from booking_core.language.holidays import ClosedDays
from booking_core.service_layer.catalog import Catalog
from booking_core.service_layer.unit_of_work import UnitOfWork


@dataclass
class RunningCore:
    """The service layer's `Core` as a process runs it: real adapters, plus the engine they share."""

    settings: Settings
    engine: AsyncEngine
    uow: Callable[[], UnitOfWork]
    calcom: CalcomClient
    lock: SlotLock
    catalog: Catalog
    slots: SlotsCache
    hours: OpeningHours
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    # (invocation key, attempt owner, call id, answer) given to callers and not yet stored: see idempotency.py
    answers_to_store: list[tuple[str, str, str, Any]] = field(default_factory=list)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run work after the answer (compensation retries) without losing the task to GC."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def drain(self, timeout_s: float = 10.0) -> None:
        if self.background:
            await asyncio.wait(list(self.background), timeout=timeout_s)

    async def aclose(self) -> None:
        await self.drain()
        await self.calcom.aclose()
        await self.lock.aclose()
        await self.engine.dispose()


def make_lock(settings: Settings) -> SlotLock:
    if not settings.lock_enabled:
        return NoSlotLock()
    if settings.redis_url:
        return RedisSlotLock(settings.redis_url, settings.lock_ttl_s, settings.lock_wait_s, settings.lock_namespace)
    return InProcessSlotLock(settings.lock_ttl_s, settings.lock_wait_s)


def migrate(settings: Settings) -> None:
    """Bring the database to the newest schema (what `serve --migrate` does before serving)."""
    upgrade(settings.database_url)


def bootstrap(settings: Settings, *, calcom: CalcomClient | None = None, lock: SlotLock | None = None,
              sessions: async_sessionmaker[AsyncSession] | None = None,
              calcom_transport: httpx.AsyncBaseTransport | None = None) -> RunningCore:
    """The real adapters from `settings`; each one given here is used instead (a fake, or a real
    adapter pointed elsewhere). `calcom_transport` keeps the real client on another transport."""
    # A fifth of the slot lock's TTL per lock wait: the intent, settle and confirm steps together
    # stay inside the lock even when each waits its longest.
    engine = make_engine(settings.database_url, settings.db_pool_size, settings.db_pool_timeout_s,
                         wait_s=settings.lock_ttl_s / 5)
    made_sessions = sessions or make_sessionmaker(engine)

    def uow() -> UnitOfWork:
        return UnitOfWork(made_sessions)

    calcom = calcom or CalcomClient(settings.calcom_base_url, settings.calcom_api_key, settings.calcom_timeout_s,
                                    transport=calcom_transport, team_id=settings.calcom_team_id)
    return RunningCore(
        settings=settings,
        engine=engine,
        uow=uow,
        calcom=calcom,
        slots=SlotsCache(calcom, settings.slots_cache_s),
        lock=lock or make_lock(settings),
        catalog=Catalog(uow),
        hours=OpeningHours(settings.opening_time, settings.closing_time, frozenset(settings.opening_days),
                           ClosedDays(settings.salon_holidays_subdiv).reason),
    )
