"""The bench's history fill: the rows asked for, a consistent shape (no overlapping confirmed
appointments, the benchmark's stylists free from the day its bookings start, everything the
retention keeps), and a database the core goes on writing to (sequences, indexes rebuilt)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text

from booking_core.adapters.migrations import upgrade
from booking_core.adapters.orm import AppointmentRow, CallEventRow, CustomerRow, ServiceRow
from booking_core.bootstrap import bootstrap
from booking_core.config import Settings
from booking_core.service_layer.retention import prune
from load.history import HistorySize, fill

SIZE = HistorySize(past=3000, upcoming=400, stylists=8, services=12, function_calls=2000, call_events=600)
BENCH_SERVICES = {"Herrenschnitt", "Damenschnitt"}
BENCH_STYLISTS = {"host:101", "host:102"}
FREE_FROM_DAY = 4


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_history_fill_has_the_shape_asked_for(kind: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    upgrade(url)

    async def scenario() -> None:
        core = bootstrap(Settings(database_url=url, reconcile_interval_s=0, retention_interval_s=0))
        try:
            async with core.uow() as uow:
                await uow.session.execute(insert(ServiceRow), [
                    {"name": name, "aliases": [], "duration_min": 30, "resource": resource, "active": True}
                    for name, resource in (("Herrenschnitt", "host:101"), ("Damenschnitt", "host:102"),
                                           ("Färben", "host:103"))])
                await uow.commit()
            report = await fill(url, SIZE, BENCH_SERVICES, FREE_FROM_DAY)
            assert report.rows["appointments"] == SIZE.past + SIZE.upcoming
            assert report.rows["function_calls"] == SIZE.function_calls
            assert report.rows["call_events"] == SIZE.call_events and report.rows["calls"] == SIZE.call_events // 3
            assert (report.stylists, report.services) == (SIZE.stylists, SIZE.services)
            async with core.uow() as uow:
                session = uow.session
                assert await session.scalar(select(func.count()).select_from(ServiceRow).where(
                    ServiceRow.active.is_(True))) == 3  # retired services stay out of the catalog
                overlaps = await session.scalar(text(
                    "SELECT count(*) FROM appointments a JOIN appointments b ON a.resource = b.resource "
                    "AND a.id < b.id AND a.start_at < b.end_at AND b.start_at < a.end_at "
                    "WHERE a.status = 'confirmed' AND b.status = 'confirmed'"))
                assert overlaps == 0
                today = datetime.combine(date.today(), datetime.min.time())
                late = await session.scalar(select(func.count()).select_from(AppointmentRow).where(
                    AppointmentRow.resource.in_(BENCH_STYLISTS),
                    AppointmentRow.start_at >= today + timedelta(days=FREE_FROM_DAY)))
                assert late == 0
                assert await session.scalar(select(func.count()).select_from(AppointmentRow).where(
                    AppointmentRow.resource.in_(BENCH_STYLISTS), AppointmentRow.start_at > today)) > 0
                assert await session.scalar(select(func.count(func.distinct(AppointmentRow.resource)))) == SIZE.stylists
                # The core writes on: ids continue after the copied ones.
                await session.execute(insert(CustomerRow).values(phone="+4915199999999", name="Neu"))
                await session.execute(insert(CallEventRow).values(call_id="call_new", event="call_started",
                                                                  payload={}))
                await uow.commit()
            assert (await prune(core)).deleted == {"function_calls": 0, "call_events": 0, "calls": 0}
        finally:
            await core.aclose()

    asyncio.run(scenario())


def test_history_size_scales_rows_not_stylists_or_services() -> None:
    tenth = HistorySize().scaled(0.1)
    assert (tenth.past, tenth.upcoming, tenth.function_calls, tenth.call_events) == (100_000, 2000, 500_000,
                                                                                      200_000)
    assert (tenth.stylists, tenth.services) == (30, 200)
