"""The booking SAGA's branches over in-memory fakes (lock, unit of work, Cal.com): milliseconds each.

The process-level suites (tests/integration, tests/reliability) prove the same rules against real
databases, Redis and the Cal.com mock; these pin each branch down where a change breaks it first.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking_core.domain.model import AppointmentStatus, BookingRefused, to_utc_naive
from booking_core.schemas import FunctionArgs
from booking_core.service_layer.booking import attempt_key, book_slot
from booking_core.service_layer.context import CallContext
from booking_core.service_layer.handlers import run_function
from tests.unit.service_layer.fakes import SERVICE, Appointment, FakeCore

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2031, 3, 4, 10, 0, tzinfo=ZONE)  # a Tuesday morning: the salon is open
PHONE = "+4915100000001"
CONFIRMED = AppointmentStatus.CONFIRMED.value


def call(*, first_attempt: bool = True, key: str | None = None) -> CallContext:
    return CallContext(call_id=f"call_{uuid.uuid4().hex[:8]}", caller_phone=PHONE, now=START - timedelta(days=1),
                       idempotency_key=key or uuid.uuid4().hex, first_attempt=first_attempt)


def only_row(core: FakeCore) -> Appointment:
    rows = list(core.db.appointments.values())
    assert len(rows) == 1, rows
    return rows[0]


def existing(core: FakeCore, status: str, *, start: datetime = START, key: str | None = None,
             with_booking: bool = False, phone: str = PHONE) -> Appointment:
    row = core.db.add(id=str(uuid.uuid4()), service_id=SERVICE.id, customer_id=1, resource=SERVICE.resource,
                      start_at=to_utc_naive(start), end_at=to_utc_naive(start + timedelta(minutes=60)),
                      status=status, sync_status="in_sync", idempotency_key=key, customer_phone=phone)
    if with_booking:
        row.calcom_uid = core.calcom.add(start, 60, {"appointment_id": row.id}).uid
    return row


async def test_a_free_slot_is_booked_confirmed_and_its_lock_released(core: FakeCore) -> None:
    booked = await book_slot(core, call(), SERVICE, START, "Eva", PHONE)

    row = only_row(core)
    assert (row.id, row.status, row.sync_status, row.calcom_uid) == (booked.appointment_id, CONFIRMED, "in_sync",
                                                                    booked.calcom_uid)
    [booking] = core.calcom.active()
    assert booking.metadata["appointment_id"] == row.id
    assert core.lock.held == set()
    assert core.slots.forgotten == [START]


async def test_a_slot_the_database_holds_is_refused_before_calcom(core: FakeCore) -> None:
    existing(core, CONFIRMED, with_booking=True)
    calcom_before = dict(core.calcom.bookings)

    with pytest.raises(BookingRefused) as refused:
        await book_slot(core, call(), SERVICE, START + timedelta(minutes=30), "Eva", PHONE)

    assert refused.value.code == "slot_taken"
    assert "alternatives" not in refused.value.data  # the handler attaches them, outside the lock
    assert core.calcom.bookings == calcom_before
    assert len(core.db.appointments) == 1


async def test_a_slot_calcom_calls_taken_settles_the_intent_as_failed(core: FakeCore) -> None:
    core.calcom.create_outcome = "taken"

    with pytest.raises(BookingRefused) as refused:
        await book_slot(core, call(), SERVICE, START, "Eva", PHONE)

    assert refused.value.code == "slot_taken"
    row = only_row(core)
    assert (row.status, row.sync_status, row.calcom_uid) == ("failed", "in_sync", None)
    assert core.calcom.active() == []


async def test_a_busy_lock_is_answered_at_once_without_writing_anything(core: FakeCore) -> None:
    core.lock.busy = True

    with pytest.raises(BookingRefused) as refused:
        await book_slot(core, call(), SERVICE, START, "Eva", PHONE)

    assert refused.value.code == "lock_busy"
    assert core.db.appointments == {}
    assert core.calcom.bookings == {}


async def test_a_lost_calcom_answer_is_looked_up_and_the_booking_confirmed(core: FakeCore) -> None:
    core.calcom.create_outcome = "lost"

    booked = await book_slot(core, call(), SERVICE, START, "Eva", PHONE)

    row = only_row(core)
    [booking] = core.calcom.active()
    assert (row.status, row.calcom_uid, booked.calcom_uid) == (CONFIRMED, booking.uid, booking.uid)


async def test_a_lost_answer_not_found_keeps_the_slot_held_as_an_unknown_outcome(core: FakeCore) -> None:
    core.calcom.create_outcome = "lost"
    core.calcom.lookup_finds = False

    with pytest.raises(BookingRefused) as refused:
        await book_slot(core, call(), SERVICE, START, "Eva", PHONE)

    assert refused.value.code == "booking_unconfirmed"
    row = only_row(core)
    assert (row.status, row.sync_status, row.absent_checks) == ("pending", "unknown", 0)
    assert row.recheck_at is not None
    assert len(core.spawned) == 1  # this worker watches the outcome; the reconciler after a restart
    core.drop_background()


async def test_an_unknown_outcome_whose_marker_failed_is_marked_once_the_database_is_back(core: FakeCore) -> None:
    """Found by `make soak` (PostgreSQL, "dbkill"): the database went away just as the create's
    outcome turned unknown; the row stayed pending/in_sync, looking like a fresh intent."""
    core.calcom.create_outcome = "lost"
    core.calcom.lookup_finds = False
    core.db.failing = {"compare_and_set"}

    with pytest.raises(BookingRefused) as refused:
        await book_slot(core, call(), SERVICE, START, "Eva", PHONE)

    assert refused.value.code == "booking_unconfirmed"
    assert (only_row(core).status, only_row(core).sync_status) == ("pending", "in_sync")
    core.db.failing = set()
    marker, *watching = core.spawned
    core.spawned = watching
    assert await marker is True
    row = only_row(core)
    assert (row.status, row.sync_status, row.absent_checks) == ("pending", "unknown", 0)
    core.drop_background()


async def test_a_failed_confirm_is_compensated_by_cancelling_at_calcom(core: FakeCore) -> None:
    core.db.failing = {"confirm"}

    with pytest.raises(BookingRefused) as refused:
        await book_slot(core, call(), SERVICE, START, "Eva", PHONE)
    assert refused.value.code == "db_unavailable"
    [booking] = core.calcom.active()

    assert await core.run_background() == [True]

    row = only_row(core)
    assert (row.status, row.sync_status, row.calcom_uid) == ("compensated", "in_sync", None)
    assert core.calcom.cancels == [booking.uid]
    assert core.calcom.active() == []


async def test_a_compensation_that_keeps_failing_is_left_flagged_for_the_reconciler(core: FakeCore) -> None:
    core.db.failing = {"confirm"}
    core.calcom.cancel_failures = 99

    with pytest.raises(BookingRefused):
        await book_slot(core, call(), SERVICE, START, "Eva", PHONE)
    assert await core.run_background() == [False]

    row = only_row(core)
    assert (row.status, row.sync_status) == ("compensated", "compensation_failed")
    assert len(core.calcom.active()) == 1  # the orphan the reconciler cancels
    assert core.calcom.cancels == []


async def test_a_retry_resumes_the_pending_intent_instead_of_booking_twice(core: FakeCore) -> None:
    key = uuid.uuid4().hex
    died = existing(core, "pending", key=key, with_booking=True)  # the first attempt died after Cal.com
    uid, died.calcom_uid = died.calcom_uid, None

    booked = await book_slot(core, call(first_attempt=False, key=key), SERVICE, START, "Eva", PHONE)

    assert (booked.appointment_id, booked.calcom_uid) == (died.id, uid)
    row = only_row(core)
    assert (row.status, row.calcom_uid) == (CONFIRMED, uid)
    assert [b.uid for b in core.calcom.active()] == [uid]


async def test_a_retry_whose_first_attempt_booked_nothing_books_afresh(core: FakeCore) -> None:
    key = uuid.uuid4().hex
    died = existing(core, "pending", key=key)  # died before Cal.com was called

    booked = await book_slot(core, call(first_attempt=False, key=key), SERVICE, START, "Eva", PHONE)

    assert core.db.appointments[died.id].status == "failed"
    fresh = core.db.appointments[booked.appointment_id]
    assert (fresh.status, fresh.idempotency_key) == (CONFIRMED, attempt_key(key, died.id))
    assert [b.uid for b in core.calcom.active()] == [booked.calcom_uid]


async def test_the_handler_offers_alternatives_when_the_slot_is_taken(core: FakeCore) -> None:
    core.calcom.create_outcome = "taken"
    args = FunctionArgs(service=SERVICE.name, date_time=START.isoformat(), customer_name="Eva")

    answer = await run_function(core, "book_appointment", call(), args)

    assert (answer.success, answer.error) == (False, "slot_taken")
    offered = answer.data["alternatives"]
    assert offered and START.isoformat() not in offered
    assert all(datetime.fromisoformat(start).date() == START.date() for start in offered[:1])


async def test_cancel_closes_the_appointment_and_cancels_it_at_calcom(core: FakeCore) -> None:
    row = existing(core, CONFIRMED, with_booking=True)
    ctx = call()

    answer = await run_function(core, "cancel_appointment", ctx, FunctionArgs())

    assert (answer.success, answer.data["status"], answer.data["appointment_id"]) == (True, "cancelled", row.id)
    stored = core.db.appointments[row.id]
    assert (stored.status, stored.closed_by_key, stored.confirmed_start) == ("cancelled", ctx.idempotency_key, None)
    assert core.calcom.cancels == [row.calcom_uid]
    assert core.calcom.active() == []


async def test_cancel_of_nothing_says_not_found(core: FakeCore) -> None:
    answer = await run_function(core, "cancel_appointment", call(), FunctionArgs())

    assert (answer.success, answer.error) == (False, "not_found")
    assert core.calcom.cancels == []


async def test_reschedule_moves_the_booking_and_both_rows(core: FakeCore) -> None:
    old = existing(core, CONFIRMED, with_booking=True)
    new_start = START + timedelta(hours=3)

    answer = await run_function(core, "reschedule_appointment", call(),
                                FunctionArgs(new_date_time=new_start.isoformat()))

    assert answer.success, answer
    assert answer.data["old_appointment_id"] == old.id
    assert core.db.appointments[old.id].status == "rescheduled"
    new = core.db.appointments[answer.data["appointment_id"]]
    assert (new.status, new.start_at, new.rescheduled_from_id) == (CONFIRMED, to_utc_naive(new_start), old.id)
    [moved] = core.calcom.active()
    assert (moved.uid, moved.raw["rescheduledFromUid"]) == (new.calcom_uid, old.calcom_uid)


async def test_reschedule_into_a_held_slot_is_refused_with_alternatives(core: FakeCore) -> None:
    old = existing(core, CONFIRMED, with_booking=True)
    taken = existing(core, CONFIRMED, start=START + timedelta(hours=3), with_booking=True, phone="+4915100000002")

    answer = await run_function(core, "reschedule_appointment", call(),
                                FunctionArgs(new_date_time=(START + timedelta(hours=3)).isoformat()))

    assert (answer.success, answer.error) == (False, "slot_taken")
    assert answer.data["alternatives"]
    assert core.db.appointments[old.id].status == CONFIRMED
    assert core.db.appointments[taken.id].status == CONFIRMED
    assert len(core.calcom.active()) == 2
