"""The database is the last line of defence: two overlapping confirms, exactly one wins.

Runs the real confirm step against SQLite, PostgreSQL (exclusion constraint) and MariaDB.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from booking_core.adapters.migrations import upgrade
from booking_core.adapters.orm import AppointmentRow, ServiceRow
from booking_core.bootstrap import bootstrap
from booking_core.config import Settings
from booking_core.domain.model import InvalidTransition, Slot
from booking_core.service_layer.booking import SlotConflict, confirm_intent
from booking_core.service_layer.context import CallContext

START = datetime(2031, 3, 4, 9, 0)


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def database_url(request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "postgres_url",
                                   "mariadb": "mariadb_url"}[request.param])
    upgrade(url)
    return url


async def _pending(core, start: datetime, minutes: int) -> tuple[str, Slot]:  # type: ignore[no-untyped-def]
    appointment_id = str(uuid.uuid4())
    async with core.uow() as uow:
        if await uow.services.by_name("Damenschnitt") is None:
            uow.services.add(ServiceRow(name="Damenschnitt", aliases=[], duration_min=60, resource="host:101",
                                        calcom_event_type_id=2, active=True))
            await uow.session.flush()
        service = await uow.services.by_name("Damenschnitt")
        uow.appointments.add(AppointmentRow(
            id=appointment_id, service_id=service.id, resource="host:101", start_at=start,
            end_at=start + timedelta(minutes=minutes), status="pending", sync_status="in_sync",
            idempotency_key=uuid.uuid4().hex))
        await uow.commit()
    return appointment_id, Slot("host:101", start.replace(tzinfo=UTC), (start + timedelta(minutes=minutes)).replace(tzinfo=UTC))


def _ctx() -> CallContext:
    return CallContext(call_id="c", caller_phone=None, now=datetime.now().astimezone(), idempotency_key="k")


async def _race(core, intents: list[tuple[str, Slot]]) -> list[str]:  # type: ignore[no-untyped-def]
    async def one(appointment_id: str, slot: Slot) -> str:
        try:
            await confirm_intent(core, _ctx(), appointment_id, slot, f"uid-{appointment_id}", None)
            return "won"
        except SlotConflict:
            return "lost"

    return list(await asyncio.gather(*(one(i, slot) for i, slot in intents)))


async def test_same_start_confirmed_once(database_url: str) -> None:
    core = bootstrap(Settings(database_url=database_url))
    ids = [await _pending(core, START, 60) for _ in range(6)]
    outcomes = await _race(core, ids)
    assert outcomes.count("won") == 1, outcomes
    async with core.uow() as uow:
        confirmed = await uow.appointments.confirmed_between(START - timedelta(hours=1), START + timedelta(hours=2))
    assert len(confirmed) == 1
    await core.aclose()


async def test_overlapping_different_starts_confirmed_once(database_url: str) -> None:
    core = bootstrap(Settings(database_url=database_url))
    first = await _pending(core, START, 60)
    second = await _pending(core, START + timedelta(minutes=30), 60)
    outcomes = await _race(core, [first, second])
    assert sorted(outcomes) == ["lost", "won"]
    await core.aclose()


async def test_adjacent_slots_both_confirm(database_url: str) -> None:
    core = bootstrap(Settings(database_url=database_url))
    ids = [await _pending(core, START, 60), await _pending(core, START + timedelta(minutes=60), 60)]
    assert await _race(core, ids) == ["won", "won"]
    await core.aclose()


async def test_confirm_is_idempotent_and_refuses_rows_that_were_compensated(database_url: str) -> None:
    core = bootstrap(Settings(database_url=database_url))
    appointment_id, slot = await _pending(core, START + timedelta(days=1), 60)
    await confirm_intent(core, _ctx(), appointment_id, slot, "uid-1", None)
    # A retry of a confirm whose commit went through (the answer was lost) is not a conflict.
    await confirm_intent(core, _ctx(), appointment_id, slot, "uid-1", None)
    async with core.uow() as uow:
        row = await uow.appointments.get(appointment_id)
    assert row is not None and (row.status, row.calcom_uid, row.confirmed_start) == ("confirmed", "uid-1", row.start_at)

    failed_id, failed_slot = await _pending(core, START + timedelta(days=2), 60)
    async with core.uow() as uow:
        failed = await uow.appointments.get(failed_id)
        assert failed is not None
        failed.status = "compensated"  # Cal.com's booking was cancelled again: nothing to confirm
        await uow.commit()
    with pytest.raises(InvalidTransition):
        await confirm_intent(core, _ctx(), failed_id, failed_slot, "uid-2", None)
    with pytest.raises(SlotConflict):  # the intent row is gone
        await confirm_intent(core, _ctx(), str(uuid.uuid4()), failed_slot, "uid-3", None)
    await core.aclose()
