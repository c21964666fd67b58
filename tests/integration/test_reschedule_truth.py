"""Reschedule is one truthful step (review F5), over HTTP against mock_calcom's reschedule endpoint.

test_moving_half_an_hour_later_works and both takeover tests failed before the move used Cal.com's
reschedule endpoint and before cancel/reschedule retries looked up what their first attempt did.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine

from booking_core.adapters.orm import FunctionCallRow
from harness.stack import StackOptions, Target
from tests.support.commands import callsim, check
from tests.support.stack import RetellClient, at, future_workday, running_stack


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with running_stack(StackOptions(extra_env={"RECONCILE_INTERVAL_S": "0"})) as running:
        yield running


def phone() -> str:
    return f"+49152{uuid.uuid4().int % 10**8:08d}"


async def _sql(target: Target, statement: str, **params: Any) -> list[Any]:
    assert target.database_url
    engine = create_async_engine(target.database_url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


async def _rows(target: Target, caller: str) -> list[tuple[str, str]]:
    return [(r.status, str(r.start_at)) for r in await _sql(
        target, "SELECT status, start_at FROM appointments WHERE customer_phone = :p ORDER BY start_at", p=caller)]


async def _active(retell: RetellClient, caller: str) -> list[dict[str, Any]]:
    return [b for b in await retell.ledger()
            if b["status"] == "accepted" and b["attendees"] and b["attendees"][0].get("phoneNumber") == caller]


async def _lose_the_answer(target: Target, call_id: str) -> None:
    """As if the first attempt's worker died after doing the work, before its answer was stored."""
    assert target.database_url
    engine = create_async_engine(target.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(FunctionCallRow).where(FunctionCallRow.call_id == call_id).values(
                status="in_progress", response=None, lease_until=datetime(2000, 1, 1)))
    finally:
        await engine.dispose()


async def test_moving_half_an_hour_later_works(retell: RetellClient) -> None:
    caller, day = phone(), future_workday(9, weekday=1)
    booked = await retell.call("book_appointment", {"service": "Damenschnitt", "date_time": at(day, 10),
                                                    "customer_name": "Rita Sommer"}, phone=caller)
    assert booked["success"], booked
    moved = await retell.call("reschedule_appointment", {"old_date_time": at(day, 10),
                                                         "new_date_time": at(day, 10, 30)}, phone=caller)
    assert moved["success"], moved
    assert moved["data"]["start"] == at(day, 10, 30) and "verschoben" in moved["message"]
    listed = await retell.call("list_appointments", {}, phone=caller)
    assert [a["start"] for a in listed["data"]["appointments"]] == [at(day, 10, 30)]
    active = await _active(retell, caller)
    assert len(active) == 1 and active[0]["rescheduledFromUid"] == booked["data"]["calcom_uid"]


async def test_a_retried_reschedule_after_a_takeover_answers_what_happened(retell: RetellClient,
                                                                          target: Target) -> None:
    caller, day, call_id = phone(), future_workday(9, weekday=2), f"call_{uuid.uuid4().hex}"
    assert (await retell.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(day, 9),
                                                   "customer_name": "Udo Lang"}, phone=caller))["success"]
    args = {"old_date_time": at(day, 9), "new_date_time": at(day, 15)}
    first = await retell.call("reschedule_appointment", args, call_id=call_id, phone=caller)
    assert first["success"], first
    await asyncio.sleep(0.1)  # the answer is stored in the background
    await _lose_the_answer(target, call_id)
    retry = await retell.call("reschedule_appointment", args, call_id=call_id, phone=caller)
    assert retry["success"], retry  # before: "not_found", the appointment having moved
    assert retry["data"]["appointment_id"] == first["data"]["appointment_id"]
    assert len(await _active(retell, caller)) == 1


async def test_a_retried_cancel_after_a_takeover_answers_what_happened(retell: RetellClient, target: Target) -> None:
    caller, day, call_id = phone(), future_workday(9, weekday=3), f"call_{uuid.uuid4().hex}"
    assert (await retell.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(day, 11),
                                                   "customer_name": "Ida Kern"}, phone=caller))["success"]
    first = await retell.call("cancel_appointment", {"date_time": at(day, 11)}, call_id=call_id, phone=caller)
    assert first["success"], first
    await asyncio.sleep(0.1)
    await _lose_the_answer(target, call_id)
    retry = await retell.call("cancel_appointment", {"date_time": at(day, 11)}, call_id=call_id, phone=caller)
    assert retry["success"] and "storniert" in retry["message"], retry  # before: "not_found"
    assert await _active(retell, caller) == []


async def test_a_reschedule_whose_database_step_fails_is_told_the_truth(retell: RetellClient,
                                                                        target: Target) -> None:
    caller, day = phone(), future_workday(9, weekday=4)
    assert (await retell.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(day, 10),
                                                   "customer_name": "Olga Brandt"}, phone=caller))["success"]
    moved = await retell.call("reschedule_appointment", {"old_date_time": at(day, 10),
                                                         "new_date_time": at(day, 16)},
                              phone=caller, fault="db_move")
    # Cal.com holds the new time: that is what the caller hears, and the database follows.
    assert moved["success"] and "verschoben" in moved["message"], moved
    for _ in range(60):
        rows = await _rows(target, caller)
        if [status for status, _ in rows] == ["rescheduled", "confirmed"]:
            break
        await asyncio.sleep(0.1)
    assert [status for status, _ in rows] == ["rescheduled", "confirmed"], rows
    active = await _active(retell, caller)
    assert len(active) == 1 and active[0]["uid"] == moved["data"]["calcom_uid"]


async def test_the_operator_reconcile_warns_while_serving_and_keeps_rowless_bookings(
        retell: RetellClient, target: Target) -> None:
    """`callsim reconcile --grace-s 0` while the core serves warns; a booking of ours without a row
    is reported by `callsim reconcile` and `callsim check`, and cancelled only on request."""
    caller, day = phone(), future_workday(16, weekday=1)
    booked = await retell.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(day, 12),
                                                    "customer_name": "Pia Roth"}, phone=caller)
    assert booked["success"], booked
    event_type = next(b["eventTypeId"] for b in await _active(retell, caller))
    async with httpx.AsyncClient(base_url=target.calcom_url, headers={
            "Authorization": f"Bearer {target.calcom_api_key}", "cal-api-version": "2024-08-13"}) as calcom:
        created = await calcom.post("/v2/bookings", json={
            "start": at(day, 17), "eventTypeId": event_type,
            "attendee": {"name": "Aus der Sicherung", "email": "x@example.org", "timeZone": "Europe/Berlin"},
            "metadata": {"appointment_id": str(uuid.uuid4()), "callsim_deployment": "callsim"}})
    assert created.status_code == 201, created.text
    rowless = created.json()["data"]["uid"]

    done = callsim("reconcile", "--database-url", str(target.database_url), "--calcom-url", target.calcom_url,
                   "--api-key", target.calcom_api_key, "--grace-s", "0")
    assert done.returncode == 0, done.stderr
    assert "warning: --grace-s 0" in done.stderr and "serve" in done.stderr
    assert json.loads(done.stdout)["unknown_bookings"] == [rowless]
    code, report = check(target)
    assert code == 1 and [o["uid"] for o in report["orphans"]] == [rowless]
    done = callsim("reconcile", "--database-url", str(target.database_url), "--calcom-url", target.calcom_url,
                   "--api-key", target.calcom_api_key, "--grace-s", "0", "--cancel-unknown")
    assert done.returncode == 0 and json.loads(done.stdout)["cancelled_orphans"] == [rowless], done.stdout
    assert check(target)[0] == 0
