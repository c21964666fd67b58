"""Moving an appointment: one Cal.com step, one database transaction, one truthful answer.

Cal.com's reschedule endpoint moves a booking in one operation (new uid, the old booking cancelled,
the old booking ignored in the availability check, so "eine halbe Stunde später" fits). The plan is
recorded first: a `pending` row for the new time with `rescheduled_from_id`. After Cal.com moved the
booking, one transaction takes the old row out of `confirmed` and confirms the new one. When that
transaction fails, Cal.com already holds the new time: the caller hears the truth ("verschoben"),
the worker retries the transaction, and after a restart the reconciler finishes the recorded plan.
An unknown outcome is looked up; if it stays unknown the caller hears "nicht bestätigt" and a move
that lands later is moved back (unknown_outcome).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from booking_core.adapters.calcom import (
    CalcomBooking,
    CalcomError,
    CalcomOutcomeUnknown,
    CalcomSlotTaken,
    CalcomUnreachable,
)
from booking_core.adapters.locks import LockBusy, LockUnavailable
from booking_core.adapters.orm import AppointmentRow
from booking_core.domain.model import (
    AppointmentStatus,
    BookingRefused,
    Service,
    Slot,
    from_utc_naive,
)
from booking_core.observability import BOOKINGS, CALCOM_CALLS, LOCK_FAILED, log
from booking_core.service_layer import unknown_outcome
from booking_core.service_layer.booking import (
    LOOKUP_RESERVE_S,
    MIN_CREATE_TIMEOUT_S,
    MIN_LOOKUP_TIMEOUT_S,
    Booked,
    Deadline,
    _refuse_taken,
    _settle,
    _SlotHeld,
    _write_intent,
)
from booking_core.service_layer.context import CallContext
from booking_core.service_layer.core import Core
from booking_core.service_layer.moves import (
    DB_ERRORS,
    MoveConflict,
    MoveLost,
    confirm_move,
    find_move,
    finish_move,
    move_back,
)

CONFIRMED = AppointmentStatus.CONFIRMED.value
RESCHEDULED = AppointmentStatus.RESCHEDULED.value
REASON = "Vom Kunden telefonisch verschoben"


async def move_appointment(core: Core, ctx: CallContext, service: Service, old: AppointmentRow,
                           start: datetime, customer_name: str, customer_phone: str) -> Booked:
    """Move `old` (confirmed, with its Cal.com uid) to `start`. Raises BookingRefused."""
    if not old.calcom_uid:
        raise BookingRefused("booking_unconfirmed")  # the reconciler links it first
    slot = Slot.for_service(service, start)
    deadline = Deadline(core.settings.calcom_budget_s, ctx.started)

    async def held_by_someone() -> None:
        try:
            async with core.uow() as uow:
                held = await uow.appointments.is_held(slot, exclude_id=old.id)
        except SQLAlchemyError:
            return
        if held:
            raise _SlotHeld

    try:
        async with core.lock.hold(slot.lock_keys(core.settings.lock_cell_minutes), on_busy=held_by_someone):
            return await _move_locked(core, ctx, service, old, slot, customer_name, customer_phone, deadline)
    except _SlotHeld:
        _refuse_taken()
    except LockBusy:
        log.info(LOCK_FAILED, call_id=ctx.call_id, resource=slot.resource, start=start.isoformat())
        raise BookingRefused("lock_busy") from None  # the handler offers alternatives
    except LockUnavailable as exc:
        log.error(LOCK_FAILED, call_id=ctx.call_id, reason=str(exc), lock="unavailable")
        raise BookingRefused("lock_unavailable") from None
    raise AssertionError("unreachable")


async def _move_locked(core: Core, ctx: CallContext, service: Service, old: AppointmentRow, slot: Slot,
                       customer_name: str, customer_phone: str, deadline: Deadline) -> Booked:
    new_id = await _write_intent(core, ctx, service, slot, customer_name, customer_phone, old)
    if new_id is None:
        raise _SlotHeld
    assert old.calcom_uid is not None
    try:
        moved = await core.calcom.reschedule_booking(
            old.calcom_uid, slot.start, REASON, timeout_s=max(MIN_CREATE_TIMEOUT_S, deadline.left() - LOOKUP_RESERVE_S))
        CALCOM_CALLS.labels("reschedule", "ok").inc()
    except CalcomSlotTaken:
        CALCOM_CALLS.labels("reschedule", "slot_taken").inc()
        await _settle(core, new_id, AppointmentStatus.FAILED, "in_sync")
        raise _SlotHeld from None
    except CalcomUnreachable:
        CALCOM_CALLS.labels("reschedule", "unreachable").inc()
        await _settle(core, new_id, AppointmentStatus.FAILED, "in_sync")
        raise BookingRefused("calcom_unavailable") from None
    except CalcomOutcomeUnknown as exc:
        CALCOM_CALLS.labels("reschedule", "unknown").inc()
        log.warning("Cal.com reschedule outcome unknown, looking it up", call_id=ctx.call_id,
                    appointment_id=new_id, reason=str(exc))
        found = await _find_move(core, old, slot, timeout_s=max(MIN_LOOKUP_TIMEOUT_S, deadline.left()))
        if found is None:
            try:
                await unknown_outcome.mark_unknown(core, new_id)
            except DB_ERRORS as db_exc:
                log.error("could not mark outcome unknown", appointment_id=new_id, error=type(db_exc).__name__)
                core.spawn(unknown_outcome.mark_unknown_later(core, new_id))
            core.spawn(unknown_outcome.watch(core, new_id))
            raise BookingRefused("booking_unconfirmed") from None
        moved = found
    except CalcomError as exc:  # a definite refusal: nothing moved
        CALCOM_CALLS.labels("reschedule", "rejected").inc()
        log.error("Cal.com rejected reschedule", call_id=ctx.call_id, reason=str(exc))
        await _settle(core, new_id, AppointmentStatus.FAILED, "in_sync")
        raise BookingRefused("calcom_unavailable") from None

    try:
        if core.settings.callsim_test_hooks and ctx.fault == "db_move":
            raise OperationalError("UPDATE appointments", {}, Exception("injected move failure"))
        await confirm_move(core, new_id, old.id, old.calcom_uid, slot, moved.uid, ctx.idempotency_key)
    except (MoveConflict, MoveLost) as exc:
        # Another confirmed appointment holds the new time in our DB (or the old one was cancelled
        # meanwhile): Cal.com must not keep a move nobody may have. Move it back, then refuse.
        log.error("move refused by the database after Cal.com moved it", appointment_id=new_id, error=str(exc))
        await _settle(core, new_id, AppointmentStatus.FAILED, "in_sync")
        core.spawn(move_back(core, old.id, old.calcom_uid, moved.uid))
        raise BookingRefused("slot_taken", alternatives=None) from None
    except DB_ERRORS as exc:
        # Cal.com holds the new time: that is the truth to tell. The plan (the pending row) is
        # finished by this worker shortly, or by the reconciler after a restart.
        BOOKINGS.labels("move_db_retry").inc()
        log.error("move confirmed at Cal.com, database step deferred", call_id=ctx.call_id,
                  appointment_id=new_id, error=type(exc).__name__)
        core.spawn(finish_move_later(core, new_id, moved.uid))
    BOOKINGS.labels("rescheduled").inc()
    core.slots.forget(slot.start)
    return Booked(new_id, service, slot.start, slot.end, moved.uid)


async def _find_move(core: Core, old: AppointmentRow, slot: Slot, timeout_s: float) -> CalcomBooking | None:
    try:
        return await find_move(core.calcom, old.id, old.calcom_uid, slot.start, slot.end, timeout_s=timeout_s)
    except CalcomError as exc:
        CALCOM_CALLS.labels("lookup", type(exc).__name__).inc()
        return None


async def finish_move_later(core: Core, new_id: str, uid: str) -> None:
    """Retry the move's database step in the background (bounded); the reconciler takes over after."""
    for attempt in range(core.settings.compensation_attempts + 2):
        await asyncio.sleep(0.2 * 2**attempt)
        try:
            if await finish_move(core, new_id, uid):
                return
        except Exception as exc:  # logged; the row keeps the plan for the reconciler
            log.warning("deferred move step failed", appointment_id=new_id, attempt=attempt + 1,
                        error=f"{type(exc).__name__}: {exc}"[:300])


async def resume_move(core: Core, ctx: CallContext, service: Service, new: AppointmentRow) -> Booked:
    """A retry of a reschedule whose first attempt was taken over: answer what happened."""
    zone = core.settings.zone
    start, end = from_utc_naive(new.start_at, zone), from_utc_naive(new.end_at, zone)
    if new.status == CONFIRMED and new.calcom_uid:
        return Booked(new.id, service, start, end, new.calcom_uid)
    if new.status != AppointmentStatus.PENDING.value or not new.rescheduled_from_id:
        raise BookingRefused("booking_unconfirmed")
    async with core.uow() as uow:
        old = await uow.appointments.get(new.rescheduled_from_id)
    if old is None:
        raise BookingRefused("booking_unconfirmed")
    deadline = Deadline(core.settings.calcom_budget_s, ctx.started)
    try:
        found = await find_move(core.calcom, old.id, old.calcom_uid, start, end,
                                timeout_s=max(MIN_LOOKUP_TIMEOUT_S, deadline.left()))
    except CalcomError:
        found = None
    if found is None:
        # Not (yet) at Cal.com: the row keeps the slot until the outcome is known.
        with contextlib.suppress(SQLAlchemyError):
            await unknown_outcome.mark_unknown(core, new.id)
        core.spawn(unknown_outcome.watch(core, new.id))
        raise BookingRefused("booking_unconfirmed")
    try:
        await finish_move(core, new.id, found.uid)
    except DB_ERRORS:
        core.spawn(finish_move_later(core, new.id, found.uid))
    except (MoveConflict, MoveLost):
        await _settle(core, new.id, AppointmentStatus.FAILED, "in_sync")
        core.spawn(move_back(core, old.id, old.calcom_uid, found.uid))
        raise BookingRefused("slot_taken", alternatives=None) from None
    return Booked(new.id, service, start, end, found.uid)
