"""A scripted Cal.com listing and appointment rows for the reconciler tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

from booking_core.adapters.calcom import CalcomClient
from booking_core.adapters.orm import AppointmentRow, ServiceRow
from booking_core.bootstrap import RunningCore, bootstrap
from booking_core.config import Settings

START = datetime(2031, 3, 4, 9, 0)
DEPLOYMENT = "callsim"


def booking(uid: str, appointment_id: str, status: str = "accepted", deployment: str | None = DEPLOYMENT,
            start: datetime = START, minutes: int = 60, **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"appointment_id": appointment_id}
    if deployment is not None:
        metadata["callsim_deployment"] = deployment
    return {"id": 1, "uid": uid, "status": status, "start": start.isoformat() + ".000Z",
            "end": (start + timedelta(minutes=minutes)).isoformat() + ".000Z", "eventTypeId": 2,
            "createdAt": "2030-01-01T00:00:00.000Z", "metadata": metadata, **extra}


class FakeCalcom:
    """Pages of a listing, failures per page, and a record of what was asked and cancelled."""

    def __init__(self, pages: list[list[dict[str, Any]]], *, failing_pages: set[int] | None = None,
                 delay_s: float = 0.0) -> None:
        self.pages = pages
        self.failing_pages = failing_pages or set()
        self.delay_s = delay_s
        self.cancelled: list[str] = []
        self.rescheduled: list[tuple[str, str]] = []  # (uid, new start)
        self.listing_params: list[dict[str, str]] = []
        self.listing_now = 0
        self.listing_most = 0
        self.on_cancel: Callable[[str], Awaitable[None]] | None = None

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/cancel"):
            uid = request.url.path.split("/")[-2]
            if self.on_cancel:
                await self.on_cancel(uid)
            self.cancelled.append(uid)
            # Cal.com answers a cancel with the booking, now cancelled (the client checks it).
            return httpx.Response(200, json={"status": "success", "data": {"uid": uid, "status": "cancelled"}})
        if request.url.path.endswith("/reschedule"):
            uid, start = request.url.path.split("/")[-2], json.loads(request.content)["start"]
            self.rescheduled.append((uid, start))
            moved = {"uid": f"{uid}-moved-back", "status": "accepted", "start": start, "end": start,
                     "metadata": {}, "rescheduledFromUid": uid}
            return httpx.Response(201, json={"status": "success", "data": moved})
        self.listing_now += 1
        self.listing_most = max(self.listing_most, self.listing_now)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.listing_now -= 1
        self.listing_params.append(dict(request.url.params))
        page = int(request.url.params.get("skip", 0)) // int(request.url.params.get("take", 100))
        if page in self.failing_pages:
            return httpx.Response(503, json={"status": "error"})
        data = self.pages[page] if page < len(self.pages) else []
        return httpx.Response(200, json={"status": "success", "data": data,
                                         "pagination": {"hasNextPage": page + 1 < len(self.pages)}})


def core_with(database_url: str, calcom: FakeCalcom, **settings: Any) -> RunningCore:
    core = bootstrap(Settings(database_url=database_url, **settings))
    core.calcom = CalcomClient("http://calcom.test", "cal_x", timeout_s=core.settings.calcom_timeout_s,
                               transport=httpx.MockTransport(calcom.handler))
    return core


async def add_row(core: RunningCore, status: str, uid: str | None, *, sync_status: str = "in_sync",
                  updated_at: datetime = datetime(2020, 1, 1), created_at: datetime = datetime(2020, 1, 1),
                  start: datetime = START, recheck_at: datetime | None = None, **columns: Any) -> str:
    appointment_id = str(uuid.uuid4())
    async with core.uow() as uow:
        service = await uow.services.by_name("Damenschnitt")
        if service is None:
            service = ServiceRow(name="Damenschnitt", aliases=[], duration_min=60, resource="host:101",
                                 calcom_event_type_id=2, active=True)
            uow.services.add(service)
            await uow.session.flush()
        uow.appointments.add(AppointmentRow(
            id=appointment_id, service_id=service.id, resource="host:101", start_at=start,
            end_at=start + timedelta(hours=1), status=status, sync_status=sync_status, calcom_uid=uid,
            confirmed_start=start if status == "confirmed" else None, idempotency_key=uuid.uuid4().hex,
            updated_at=updated_at, created_at=created_at, recheck_at=recheck_at, **columns))
        await uow.commit()
    return appointment_id


async def read_row(core: RunningCore, appointment_id: str) -> AppointmentRow:
    async with core.uow() as uow:
        row = await uow.appointments.get(appointment_id)
    assert row is not None
    return row
