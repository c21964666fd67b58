"""The reconciler against a Cal.com listing it cannot trust to be tidy."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from booking_core.adapters.calcom import CalcomClient
from booking_core.adapters.migrations import upgrade
from booking_core.adapters.orm import AppointmentRow, ServiceRow
from booking_core.bootstrap import bootstrap
from booking_core.config import Settings
from booking_core.service_layer.reconcile import reconcile

START = datetime(2031, 3, 4, 9, 0)


def booking(uid: str, appointment_id: str, status: str = "accepted") -> dict[str, Any]:
    return {"id": 1, "uid": uid, "status": status, "start": "2031-03-04T09:00:00.000Z",
            "end": "2031-03-04T10:00:00.000Z", "eventTypeId": 2,
            "metadata": {"appointment_id": appointment_id, "callsim_deployment": "callsim"}}


class FakeCalcom:
    """Pages of a listing, and a record of what was cancelled."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.cancelled: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cancel"):
            uid = request.url.path.split("/")[-2]
            self.cancelled.append(uid)
            return httpx.Response(200, json={"status": "success", "data": {"uid": uid, "status": "cancelled"}})
        page = int(request.url.params.get("skip", 0)) // int(request.url.params.get("take", 100))
        data = self.pages[page] if page < len(self.pages) else []
        return httpx.Response(200, json={"status": "success", "data": data,
                                         "pagination": {"hasNextPage": page + 1 < len(self.pages)}})


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    upgrade(sqlite_url)
    return sqlite_url


async def _core_with(database_url: str, calcom: FakeCalcom):  # type: ignore[no-untyped-def]
    core = bootstrap(Settings(database_url=database_url))
    await core.calcom.aclose()
    core.calcom = CalcomClient("http://calcom.test", "cal_x", transport=httpx.MockTransport(calcom.handler))
    return core


async def _row(core, status: str, uid: str | None) -> str:  # type: ignore[no-untyped-def]
    appointment_id = str(uuid.uuid4())
    async with core.uow() as uow:
        service = await uow.services.by_name("Damenschnitt")
        if service is None:
            service = ServiceRow(name="Damenschnitt", aliases=[], duration_min=60, resource="host:101",
                                 calcom_event_type_id=2, active=True)
            uow.services.add(service)
            await uow.session.flush()
        uow.appointments.add(AppointmentRow(
            id=appointment_id, service_id=service.id, resource="host:101", start_at=START,
            end_at=START + timedelta(hours=1), status=status, sync_status="in_sync", calcom_uid=uid,
            confirmed_start=START if status == "confirmed" else None, idempotency_key=uuid.uuid4().hex,
            updated_at=datetime(2020, 1, 1)))
        await uow.commit()
    return appointment_id


async def test_a_booking_listed_twice_is_not_cancelled(database_url: str) -> None:
    calcom = FakeCalcom([])
    core = await _core_with(database_url, calcom)
    confirmed = await _row(core, "confirmed", "uid-1")
    calcom.pages = [[booking("uid-1", confirmed)], [booking("uid-1", confirmed)]]
    report = await reconcile(core, grace_s=0)
    assert calcom.cancelled == [] and report.cancelled_orphans == []
    await core.aclose()


async def test_orphans_are_cancelled_and_confirmed_rows_adopted(database_url: str) -> None:
    """A booking without a row (uid-unknown) is only reported: see test_reconcile_truth.py."""
    calcom = FakeCalcom([])
    core = await _core_with(database_url, calcom)
    failed = await _row(core, "failed", None)
    unlinked = await _row(core, "confirmed", None)
    stale_pending = await _row(core, "pending", None)
    calcom.pages = [[booking("uid-orphan", failed), booking("uid-adopt", unlinked),
                     booking("uid-unknown", str(uuid.uuid4())), booking("uid-gone", failed, status="cancelled")]]
    report = await reconcile(core, grace_s=0)
    assert sorted(calcom.cancelled) == ["uid-orphan"]
    assert report.unknown_bookings == ["uid-unknown"]
    assert report.adopted == [unlinked]
    assert report.settled_failed == [stale_pending]
    async with core.uow() as uow:
        rows = await uow.appointments.by_ids([failed, unlinked, stale_pending])
    assert rows[failed].status == "compensated"
    assert rows[unlinked].calcom_uid == "uid-adopt"
    assert rows[stale_pending].status == "failed"
    await core.aclose()
