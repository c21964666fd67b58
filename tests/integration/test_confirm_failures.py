"""The confirm step failing after Cal.com booked (review F4, F8, F12), on SQLite, PostgreSQL and
MariaDB: whatever the database or its driver raised, the caller is told the truth and the booking
at Cal.com exists iff the row is confirmed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import DBAPIError

from booking_core.adapters.calcom import CalcomClient
from booking_core.adapters.migrations import upgrade
from booking_core.adapters.orm import ServiceRow
from booking_core.adapters.repository import AppointmentRepository
from booking_core.bootstrap import RunningCore, bootstrap
from booking_core.config import Settings
from booking_core.domain.model import AppointmentStatus, BookingRefused, Service, Slot
from booking_core.schemas import FunctionArgs
from booking_core.service_layer import booking as booking_module
from booking_core.service_layer import handlers
from booking_core.service_layer.booking import book_slot
from booking_core.service_layer.context import CallContext

START = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def database_url(request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "postgres_url",
                                   "mariadb": "mariadb_url"}[request.param])
    upgrade(url)
    return url


class FakeCalcom:
    """Creates succeed; cancels are recorded."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.cancelled: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v2/bookings":
            body = json.loads(request.content)
            uid = f"uid-{len(self.created) + 1}"
            self.created.append(uid)
            start = datetime.fromisoformat(body["start"])
            return httpx.Response(201, json={"status": "success", "data": {
                "uid": uid, "status": "accepted", "start": start.isoformat(),
                "end": (start + timedelta(minutes=60)).isoformat(), "eventTypeId": 2,
                "metadata": body.get("metadata", {})}})
        if request.url.path.endswith("/cancel"):
            uid = request.url.path.split("/")[-2]
            self.cancelled.append(uid)
            # Cal.com answers a cancel with the booking, now cancelled.
            return httpx.Response(200, json={"status": "success", "data": {"uid": uid, "status": "cancelled"}})
        return httpx.Response(404, json={"status": "error", "error": {"message": "not here"}})


async def _core(database_url: str, calcom: FakeCalcom) -> tuple[RunningCore, Service]:
    core = bootstrap(Settings(database_url=database_url))
    await core.calcom.aclose()
    core.calcom = CalcomClient("http://calcom.test", "cal_x", transport=httpx.MockTransport(calcom.handler))
    async with core.uow() as uow:
        uow.services.add(ServiceRow(name="Damenschnitt", aliases=[], duration_min=60, resource="host:101",
                                    calcom_event_type_id=2, active=True))
        await uow.commit()
        row = await uow.services.by_name("Damenschnitt")
    assert row is not None
    return core, Service(row.id, row.name, 60, None, "host:101", 2)


def _ctx() -> CallContext:
    return CallContext(call_id=f"call_{uuid.uuid4().hex}", caller_phone="+4915100000001",
                       now=START - timedelta(days=1), idempotency_key=uuid.uuid4().hex, first_attempt=True)


async def _rows(core: RunningCore) -> list[tuple[str, str | None]]:
    async with core.uow() as uow:
        from sqlalchemy import select

        from booking_core.adapters.orm import AppointmentRow
        return [(r.status, r.calcom_uid) for r in await uow.session.scalars(select(AppointmentRow))]


async def test_a_raw_driver_connection_error_at_confirm_is_compensated(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calcom = FakeCalcom()
    core, service = await _core(database_url, calcom)

    async def refused(*_args: Any, **_kwargs: Any) -> bool:
        # What asyncpg raises when the pool reconnects to a restarting server: not a SQLAlchemyError.
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")

    monkeypatch.setattr(AppointmentRepository, "confirm", refused)
    with pytest.raises(BookingRefused) as refusal:
        await book_slot(core, _ctx(), service, START, "Eva", "+4915100000001")
    assert refusal.value.code == "db_unavailable"
    await core.drain()
    assert calcom.cancelled == calcom.created == ["uid-1"]
    assert [status for status, _ in await _rows(core)] == ["compensated"]
    await core.aclose()


async def test_a_confirm_whose_acknowledgement_was_lost_is_answered_booked(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calcom = FakeCalcom()
    core, service = await _core(database_url, calcom)
    confirm_once = booking_module._confirm_once

    async def committed_then_reset(*args: Any, **kwargs: Any) -> None:
        await confirm_once(*args, **kwargs)  # the COMMIT reached the server ...
        raise DBAPIError("COMMIT", {}, ConnectionResetError(104, "reset"))  # ... its answer did not

    monkeypatch.setattr(booking_module, "_confirm_once", committed_then_reset)
    booked = await book_slot(core, _ctx(), service, START, "Eva", "+4915100000001")
    await core.drain()
    assert booked.calcom_uid == "uid-1" and calcom.cancelled == []
    assert await _rows(core) == [("confirmed", "uid-1")]
    await core.aclose()


async def test_a_confirm_fenced_out_by_a_takeover_compensates_instead_of_confirming(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A retry took the attempt over, found nothing at Cal.com yet, settled the row failed and told
    the caller "nicht eingetragen"; then the first attempt's create returns."""
    calcom = FakeCalcom()
    core, service = await _core(database_url, calcom)
    confirm_once = booking_module._confirm_once

    async def after_takeover(core: RunningCore, appointment_id: str, *args: Any, **kwargs: Any) -> None:
        async with core.uow() as uow:
            await uow.appointments.move(appointment_id, ("pending",), AppointmentStatus.FAILED, "unknown")
            await uow.commit()
        await confirm_once(core, appointment_id, *args, **kwargs)

    monkeypatch.setattr(booking_module, "_confirm_once", after_takeover)
    with pytest.raises(BookingRefused):
        await book_slot(core, _ctx(), service, START, "Eva", "+4915100000001")
    await core.drain()
    assert calcom.cancelled == ["uid-1"]
    assert await _rows(core) == [("compensated", None)]
    await core.aclose()


@pytest.mark.parametrize("refused_by", ["calcom", "database"])
async def test_alternatives_are_looked_up_after_the_slot_lock_is_released(
        database_url: str, monkeypatch: pytest.MonkeyPatch, refused_by: str) -> None:
    """Alternatives cost a Cal.com call and a DB read: inside the lock they stretch it towards its
    TTL (review F13)."""
    calcom = FakeCalcom()
    core, service = await _core(database_url, calcom)
    if refused_by == "calcom":
        def taken(request: httpx.Request) -> httpx.Response:
            if request.method == "POST" and request.url.path == "/v2/bookings":
                return httpx.Response(400, json={"status": "error", "error": {
                    "message": "User either already has booking at this time or is not available"}})
            return calcom.handler(request)
        await core.calcom.aclose()
        core.calcom = CalcomClient("http://calcom.test", "cal_x", transport=httpx.MockTransport(taken))
    else:
        async def clash(*_args: Any, **_kwargs: Any) -> str:
            return "another-confirmed-appointment"
        monkeypatch.setattr(AppointmentRepository, "confirmed_clash", clash)
    held_while_looking: list[bool] = []

    async def alternatives(*_args: Any, **_kwargs: Any) -> list[datetime]:
        async with core.lock.hold(Slot.for_service(service, START).lock_keys(core.settings.lock_cell_minutes)):
            held_while_looking.append(False)  # got the lock at once: nobody held it
        return []

    monkeypatch.setattr(handlers, "alternatives", alternatives)
    args = FunctionArgs(service=service.name, date_time=START.isoformat(), customer_name="Eva")
    with pytest.raises(BookingRefused) as refusal:
        await handlers.book_appointment(core, _ctx(), args)
    assert refusal.value.code == "slot_taken"
    assert refusal.value.data["alternatives"] == []
    assert held_while_looking == [False]
    await core.drain()
    await core.aclose()
