"""Cal.com's booking rules: when a booking is refused, and the race window that lets two through."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from mock_calcom.catalog import EventType
from mock_calcom.errors import MSG_ALREADY_CANCELLED, MSG_PAST, MSG_SLOT_TAKEN, CalcomError
from mock_calcom.ledger import Booking
from mock_calcom.state import MockState


def _refuse_unless_available(
    state: MockState, event_type: EventType, start: datetime, end: datetime, ignore_uid: str | None
) -> None:
    if start < state.now():
        raise CalcomError(400, MSG_PAST)
    # Cal.com answers "not available" alike for a busy host and for a time outside working hours. A second
    # create of the same event type, start, end and host is refused here too: Cal.com has no idempotency
    # key, so a blind retry after a lost response meets its own first booking as a conflict.
    if not state.availability.within_opening_hours(start, end) or state.availability.conflicts(
        event_type.host, start, end, ignore_uid
    ):
        raise CalcomError(state.config.conflict_status, MSG_SLOT_TAKEN)


async def _race_window(state: MockState) -> None:
    if state.config.race_window_ms:
        # Check and insert are apart, and nothing re-checks: a concurrent create of the same slot that
        # passes its own check meanwhile is inserted too (Cal.com issues #13397, #5820).
        await asyncio.sleep(state.config.race_window_ms / 1000)


async def create_booking(
    state: MockState,
    event_type: EventType,
    start: datetime,
    length_minutes: int,
    attendee: dict[str, Any],
    metadata: dict[str, Any],
    guests: list[str],
    *,
    rescheduled_from: Booking | None = None,
) -> Booking:
    end = start + timedelta(minutes=length_minutes)
    _refuse_unless_available(
        state, event_type, start, end, rescheduled_from.uid if rescheduled_from else None
    )
    await _race_window(state)
    return state.ledger.add(
        {
            "event_type": event_type,
            "host": state.catalog.host(event_type.host),
            "start": start,
            "end": end,
            "attendee": attendee,
            "metadata": metadata,
            "guests": guests,
            "rescheduled_from_uid": rescheduled_from.uid if rescheduled_from else None,
        },
        state.now(),
    )


def cancel_booking(state: MockState, booking: Booking, reason: str | None) -> Booking:
    if not booking.active:
        raise CalcomError(400, MSG_ALREADY_CANCELLED)
    state.ledger.set_status(booking, "cancelled", state.now(), cancellation_reason=reason)
    return booking


async def reschedule_booking(
    state: MockState, booking: Booking, start: datetime, reason: str | None
) -> Booking:
    if not booking.active:
        raise CalcomError(
            400, f"Can't reschedule booking with uid={booking.uid} because it is {booking.status}"
        )
    length = int((booking.end - booking.start).total_seconds() // 60)
    new = await create_booking(
        state,
        booking.event_type,
        start,
        length,
        booking.attendee,
        booking.metadata,
        booking.guests,
        rescheduled_from=booking,
    )
    # Cal.com keeps the old booking as cancelled, pointing at its successor.
    state.ledger.set_status(
        booking, "cancelled", state.now(), rescheduled_to_uid=new.uid, rescheduling_reason=reason
    )
    new.rescheduling_reason = reason
    return new
