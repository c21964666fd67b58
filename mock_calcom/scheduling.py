"""Cal.com's booking rules: when a booking is refused, and the race window that lets two through."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from mock_calcom.catalog import EventType
from mock_calcom.errors import (
    MSG_ALREADY_CANCELLED,
    MSG_CANCEL_DISABLED,
    MSG_CANCEL_ENDED,
    MSG_CANCEL_REASON_REQUIRED,
    MSG_OUT_OF_BOUNDS,
    MSG_PAST,
    MSG_SLOT_TAKEN,
    CalcomError,
    core_error,
)
from mock_calcom.ledger import Booking
from mock_calcom.state import MockState


def _refuse_unless_available(
    state: MockState, event_type: EventType, start: datetime, end: datetime, ignore_uid: str | None
) -> None:
    now = state.now()
    if start < now:
        raise CalcomError(400, MSG_PAST)
    if not within_bounds(event_type, start, now):
        raise CalcomError(400, MSG_OUT_OF_BOUNDS)
    # Cal.com answers "not available" alike for a busy host and for a time outside working hours. A second
    # create of the same event type, start, end and host is refused here too: Cal.com has no idempotency
    # key, so a blind retry after a lost response meets its own first booking as a conflict.
    buffers = (event_type.before_event_buffer, event_type.after_event_buffer)
    if not state.availability.within_opening_hours(start, end) or state.availability.conflicts(
        event_type.host, start, end, ignore_uid, buffers
    ):
        raise CalcomError(state.config.conflict_status, MSG_SLOT_TAKEN)


def within_bounds(event_type: EventType, start: datetime, now: datetime) -> bool:
    """Minimum booking notice and rolling booking window (packages/lib/isOutOfBounds.tsx); outside them
    handleNewBooking throws booking_time_out_of_bounds_error."""
    if start < now + timedelta(minutes=event_type.minimum_booking_notice):
        return False
    window = event_type.booking_window_days
    return window is None or start < now + timedelta(days=window)


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


def cancel_booking(
    state: MockState, booking: Booking, reason: str | None, *, by_host: bool
) -> Booking:
    """handleCancelBooking's refusals, in its order. They are core `HttpError`s, rendered as the
    configured `core_error_shape` (packages/features/bookings/lib/handleCancelBooking.ts)."""
    now = state.now()
    if not booking.active:
        raise core_error(state.config.core_error_shape, 400, MSG_ALREADY_CANCELLED)
    if booking.end <= now:
        raise core_error(state.config.core_error_shape, 400, MSG_CANCEL_ENDED)
    if booking.event_type.disable_cancelling:
        raise core_error(state.config.core_error_shape, 400, MSG_CANCEL_DISABLED)
    if by_host and not (reason or "").strip():
        raise core_error(state.config.core_error_shape, 400, MSG_CANCEL_REASON_REQUIRED)
    state.ledger.set_status(booking, "cancelled", now, cancellation_reason=reason)
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
