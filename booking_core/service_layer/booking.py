"""The booking SAGA: lock → intent row → Cal.com → confirm, compensating when confirm fails.

Read top to bottom, `book_slot` is steps 2–6 of the design's six (the handler `book_appointment` does
step 1); compensation and the Cal.com cancels are in compensation.py. The DB row is the record of what
the caller was told: only `confirmed` rows were answered "gebucht", and the reconciler makes Cal.com
agree with that.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

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
    check_transition,
    from_utc_naive,
    to_utc_naive,
)
from booking_core.observability import (
    BOOKINGS,
    CALCOM_CALLS,
    LOCK_ACQUIRED,
    LOCK_FAILED,
    LOCK_RESULTS,
    LOCK_WAIT,
    log,
)
from booking_core.service_layer import unknown_outcome
from booking_core.service_layer.compensation import compensate
from booking_core.service_layer.context import CallContext
from booking_core.service_layer.core import Core
from booking_core.service_layer.moves import DB_ERRORS
from booking_core.service_layer.unit_of_work import UnitOfWork

LOOKUP_RESERVE_S = 0.3  # kept back from the create call so an unknown outcome can still be looked up
# A caller who waited in a busy queue still deserves a real attempt at Cal.com.
MIN_CREATE_TIMEOUT_S = 0.6
# Finding a booking whose answer was lost is what prevents an orphan: give it a real chance too.
MIN_LOOKUP_TIMEOUT_S = 0.4


class SlotConflict(Exception):
    """The database refused the confirm: another confirmed appointment overlaps."""


class _NothingToResume(Exception):
    """Cal.com answered that the earlier attempt's booking does not exist; its row is settled."""


class _SlotHeld(Exception):
    """Another appointment holds the slot: refuse it once the lock is released (the alternatives
    take a Cal.com call and a DB read: inside the lock they would stretch it towards its TTL)."""


# A retry re-runs an invocation whose earlier attempts failed outright; past this many, Cal.com is
# plainly not taking bookings right now.
MAX_ATTEMPTS = 8
# The confirm's error may hide a commit that went through (its acknowledgement lost): the row is
# read again this often before the booking is compensated.
REREAD_TRIES = 3


class Deadline:
    def __init__(self, seconds: float, started: float | None = None) -> None:
        self._end = (time.monotonic() if started is None else started) + seconds

    def left(self) -> float:
        return max(0.0, self._end - time.monotonic())


@dataclass(frozen=True)
class Booked:
    appointment_id: str
    service: Service
    start: datetime
    end: datetime
    calcom_uid: str


def crash_point(ctx: CallContext, core: Core, name: str) -> None:
    """Test hook: die like `kill -9` at a named SAGA step (only with CALLSIM_TEST_HOOKS=1)."""
    if core.settings.callsim_test_hooks and ctx.fault == f"crash_{name}":
        os.kill(os.getpid(), signal.SIGKILL)


async def book_slot(core: Core, ctx: CallContext, service: Service, start: datetime,
                    customer_name: str, customer_phone: str,
                    rescheduled_from: AppointmentRow | None = None) -> Booked:
    """Steps 2–6 of the SAGA for one slot. Raises BookingRefused with the caller-facing reason."""
    slot = Slot.for_service(service, start)
    deadline = Deadline(core.settings.calcom_budget_s, ctx.started)
    exclude_id = rescheduled_from.id if rescheduled_from else None

    # A retry of a call that may have died mid-SAGA reads before the lock: is there an intent to
    # resume, and is the slot already held (answered without the lock or Cal.com)? A first attempt
    # has nothing to resume and skips the read: the intent's transaction re-checks the slot anyway.
    # With the LOCK_ENABLED=false test switch nothing serialises the SAGA before Cal.com: only the
    # DB constraint at confirm remains, which is what the "can the race test fail" proofs need.
    if not ctx.first_attempt:
        try:
            async with core.uow() as uow:
                key, earlier = await _latest_attempt(uow, ctx.idempotency_key)
                held = earlier is None and core.settings.lock_enabled and await uow.appointments.is_held(
                    slot, exclude_id=exclude_id)
        except SQLAlchemyError as exc:
            log.error("database unavailable", call_id=ctx.call_id, error=type(exc).__name__)
            raise BookingRefused("db_unavailable") from None
        ctx = replace(ctx, idempotency_key=key)
        if earlier is not None:
            try:
                return await _resume(core, ctx, service, earlier, deadline)
            except _NothingToResume:
                # The earlier attempt booked nothing: this request is the caller's next try.
                ctx = replace(ctx, idempotency_key=attempt_key(key, earlier.id))
        if held:
            _refuse_taken()

    async def held_by_someone() -> None:
        """The lock is taken: if the DB already holds the slot (the holder's intent, or a booking
        made before), refuse at once instead of queueing behind the holder to find out."""
        try:
            async with core.uow() as uow:
                held = await uow.appointments.is_held(slot, exclude_id=exclude_id)
        except SQLAlchemyError:
            return  # keep waiting: the intent's transaction reports the database
        if held:
            LOCK_WAIT.observe(time.monotonic() - waited)
            LOCK_RESULTS.labels("contended").inc()
            raise _SlotHeld

    waited = time.monotonic()
    try:
        async with core.lock.hold(slot.lock_keys(core.settings.lock_cell_minutes), on_busy=held_by_someone):
            LOCK_WAIT.observe(time.monotonic() - waited)
            LOCK_RESULTS.labels("acquired").inc()
            log.info(LOCK_ACQUIRED, call_id=ctx.call_id, resource=slot.resource, start=start.isoformat())
            return await _book_locked(core, ctx, service, slot, customer_name, customer_phone,
                                      deadline, rescheduled_from)
    except _SlotHeld:
        _refuse_taken()  # outside the lock: alternatives take a while
    except LockBusy:
        LOCK_WAIT.observe(time.monotonic() - waited)
        LOCK_RESULTS.labels("contended").inc()
        log.info(LOCK_FAILED, call_id=ctx.call_id, resource=slot.resource, start=start.isoformat())
        raise BookingRefused("lock_busy") from None
    except LockUnavailable as exc:
        LOCK_RESULTS.labels("unavailable").inc()
        log.error(LOCK_FAILED, call_id=ctx.call_id, reason=str(exc), lock="unavailable")
        raise BookingRefused("lock_unavailable") from None


def attempt_key(key: str, failed_id: str) -> str:
    """The intent key of the attempt after the one whose row `failed_id` failed outright."""
    return hashlib.sha256(f"{key}/{failed_id}".encode()).hexdigest()


async def _latest_attempt(uow: UnitOfWork, key: str) -> tuple[str, AppointmentRow | None]:
    """The intent of this invocation's latest attempt (None: none yet) and its key.

    An attempt whose row failed or was compensated booked nothing: the caller heard "versuchen Sie
    es gleich noch einmal", and the try that follows is a fresh attempt with a key of its own."""
    for _ in range(MAX_ATTEMPTS):
        row = await uow.appointments.by_idempotency_key(key)
        if row is None or row.status not in _GAVE_UP:
            return key, row
        key = attempt_key(key, row.id)
    raise BookingRefused("calcom_unavailable")


_GAVE_UP = (AppointmentStatus.FAILED.value, AppointmentStatus.COMPENSATED.value)


def _refuse_taken() -> NoReturn:
    """The handler offers alternatives (handlers.with_alternatives), after the lock is released."""
    BOOKINGS.labels("slot_taken").inc()
    raise BookingRefused("slot_taken")


async def _book_locked(core: Core, ctx: CallContext, service: Service, slot: Slot, customer_name: str,
                       customer_phone: str, deadline: Deadline,
                       rescheduled_from: AppointmentRow | None) -> Booked:
    appointment_id = await _write_intent(core, ctx, service, slot, customer_name, customer_phone,
                                         rescheduled_from)
    if appointment_id is None:
        raise _SlotHeld
    crash_point(ctx, core, "after_intent")

    booking = await _create_in_calcom(core, ctx, service, slot, appointment_id, customer_name,
                                      customer_phone, deadline)
    crash_point(ctx, core, "after_calcom")

    try:
        await _confirm_or_compensate(core, ctx, appointment_id, slot, booking.uid, rescheduled_from)
    except SlotConflict:
        BOOKINGS.labels("lost_race_at_confirm").inc()
        raise _SlotHeld from None
    BOOKINGS.labels("booked").inc()
    core.slots.forget(slot.start)
    return Booked(appointment_id, service, slot.start, slot.end, booking.uid)


async def _write_intent(core: Core, ctx: CallContext, service: Service, slot: Slot, customer_name: str,
                        customer_phone: str, rescheduled_from: AppointmentRow | None) -> str | None:
    """Step 3, under the lock: the pending row, or None if the slot turned out to be held."""
    appointment_id = str(uuid.uuid4())
    start, end = to_utc_naive(slot.start), to_utc_naive(slot.end)
    for attempt in (1, 2):
        try:
            return await _write_intent_once(core, ctx, service, slot, customer_name, customer_phone,
                                            rescheduled_from, appointment_id, start, end)
        except IntegrityError as exc:
            # A concurrent first booking of the same new phone number created its customer row
            # first: the next try finds it. Twice: the same idempotency key, written by a
            # concurrent retry of this very call.
            log.warning("intent conflict", call_id=ctx.call_id, attempt=attempt, error=str(exc.orig)[:300])
        except SQLAlchemyError as exc:
            log.error("intent not written", call_id=ctx.call_id, error=type(exc).__name__)
            raise BookingRefused("db_unavailable") from None
    raise BookingRefused("lock_busy", alternatives=None)  # none looked up: say so, not "nothing free"


async def _write_intent_once(core: Core, ctx: CallContext, service: Service, slot: Slot, customer_name: str,
                             customer_phone: str, rescheduled_from: AppointmentRow | None, appointment_id: str,
                             start: datetime, end: datetime) -> str | None:
    async with core.uow() as uow:
        # Re-checked in the same transaction: the holder before us may have just confirmed.
        if core.settings.lock_enabled and await uow.appointments.is_held(
                slot, exclude_id=rescheduled_from.id if rescheduled_from else None):
            return None
        customer_id = await uow.customers.ensure(customer_phone, customer_name)
        await uow.appointments.add_intent(
            id=appointment_id, service_id=service.id, customer_id=customer_id, resource=slot.resource,
            start_at=start, end_at=end, status=AppointmentStatus.PENDING.value, sync_status="in_sync",
            idempotency_key=ctx.idempotency_key, call_id=ctx.call_id, customer_phone=customer_phone,
            rescheduled_from_id=rescheduled_from.id if rescheduled_from else None,
        )
        await uow.commit()
    return appointment_id


async def _create_in_calcom(core: Core, ctx: CallContext, service: Service, slot: Slot, appointment_id: str,
                            customer_name: str, customer_phone: str, deadline: Deadline) -> CalcomBooking:
    """Step 4. A timeout is an unknown outcome: look the booking up by our id before answering."""
    assert service.calcom_event_type_id is not None
    attendee = {"name": customer_name or "Anrufer", "phoneNumber": customer_phone,
                "email": _placeholder_email(customer_phone), "timeZone": core.settings.tz, "language": "de"}
    # The deployment tag is what lets the reconciler tell our bookings from anyone else's.
    metadata = {"appointment_id": appointment_id, "call_id": (ctx.call_id or "")[:500],
                "callsim_deployment": core.settings.callsim_deployment_id}
    try:
        booking = await core.calcom.create_booking(
            event_type_id=service.calcom_event_type_id, start=slot.start, length_min=service.duration_min,
            attendee=attendee, metadata=metadata,
            timeout_s=max(MIN_CREATE_TIMEOUT_S, deadline.left() - LOOKUP_RESERVE_S))
        CALCOM_CALLS.labels("create", "ok").inc()
        return booking
    except CalcomSlotTaken:
        CALCOM_CALLS.labels("create", "slot_taken").inc()
        await _settle(core, appointment_id, AppointmentStatus.FAILED, "in_sync")
        raise _SlotHeld from None
    except CalcomUnreachable:
        CALCOM_CALLS.labels("create", "unreachable").inc()
        await _settle(core, appointment_id, AppointmentStatus.FAILED, "in_sync")
        raise BookingRefused("calcom_unavailable") from None
    except CalcomOutcomeUnknown as exc:
        CALCOM_CALLS.labels("create", "unknown").inc()
        log.warning("Cal.com outcome unknown, looking booking up", call_id=ctx.call_id,
                    appointment_id=appointment_id, reason=str(exc))
    except CalcomError as exc:  # a definite 4xx: nothing was booked
        CALCOM_CALLS.labels("create", "rejected").inc()
        log.error("Cal.com rejected booking", call_id=ctx.call_id, reason=str(exc))
        await _settle(core, appointment_id, AppointmentStatus.FAILED, "in_sync")
        raise BookingRefused("calcom_unavailable") from None

    found = await _lookup(core, service, slot, appointment_id, deadline)
    if found is not None:
        return found
    # The caller hears "nicht eingetragen", but the slot stays held (row pending, outcome unknown):
    # a create still travelling inside Cal.com must not land on top of the next caller's booking.
    # The row drives the follow-up (unknown_outcome): this worker looks again, and after a restart
    # the reconciler does.
    try:
        await unknown_outcome.mark_unknown(core, appointment_id)
    except DB_ERRORS as exc:
        # Still pending (the slot stays held); the marker follows once the database is back.
        log.error("could not mark outcome unknown", appointment_id=appointment_id, error=type(exc).__name__)
        core.spawn(unknown_outcome.mark_unknown_later(core, appointment_id))
    core.spawn(unknown_outcome.watch(core, appointment_id))
    raise BookingRefused("booking_unconfirmed")


async def _lookup(core: Core, service: Service, slot: Slot, appointment_id: str,
                  deadline: Deadline) -> CalcomBooking | None:
    try:
        found = await core.calcom.find_by_metadata(
            "appointment_id", appointment_id, event_type_id=service.calcom_event_type_id,
            after_start=slot.start - timedelta(minutes=1), before_end=slot.end + timedelta(minutes=1),
            timeout_s=max(MIN_LOOKUP_TIMEOUT_S, deadline.left()))
    except CalcomError as exc:
        CALCOM_CALLS.labels("lookup", type(exc).__name__).inc()
        return None
    CALCOM_CALLS.labels("lookup", "found" if found else "absent").inc()
    return found if found is not None and found.active else None


async def _confirm_or_compensate(core: Core, ctx: CallContext, appointment_id: str, slot: Slot, uid: str,
                                 rescheduled_from: AppointmentRow | None) -> None:
    """Step 5 once Cal.com holds booking `uid`: confirmed, or the booking is compensated.

    Any failure counts, not only SQLAlchemy's: a driver's raw connection error (asyncpg's
    ConnectionRefusedError while PostgreSQL restarts) must not leave the booking at Cal.com with
    nobody told. An error may also hide a commit that went through (the acknowledgement was lost):
    the row is read again, and a confirmed row is what the caller is told.
    """
    try:
        await confirm_intent(core, ctx, appointment_id, slot, uid, rescheduled_from)
        return
    except SlotConflict:
        core.spawn(compensate(core, appointment_id, uid, ctx.call_id))
        raise
    except asyncio.CancelledError:
        core.spawn(compensate(core, appointment_id, uid, ctx.call_id, told_no=True))
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the database or its driver raised
        failure = f"{type(exc).__name__}: {exc}"[:300]
    if await _confirmed_after_all(core, appointment_id, uid):
        log.warning("confirm reported an error but had committed", call_id=ctx.call_id,
                    appointment_id=appointment_id, error=failure)
        return
    BOOKINGS.labels("confirm_failed").inc()
    log.error("confirm failed", call_id=ctx.call_id, appointment_id=appointment_id, error=failure)
    core.spawn(compensate(core, appointment_id, uid, ctx.call_id, told_no=True))
    raise BookingRefused("db_unavailable")


async def _confirmed_after_all(core: Core, appointment_id: str, uid: str) -> bool:
    """Whether the row is confirmed with this booking; False when it cannot be read either."""
    for attempt in range(REREAD_TRIES):
        try:
            async with core.uow() as uow:
                row = await uow.appointments.get(appointment_id)
            return row is not None and row.status == AppointmentStatus.CONFIRMED.value and row.calcom_uid == uid
        except Exception as exc:  # noqa: BLE001 - the database is still failing
            log.warning("confirm re-read failed", appointment_id=appointment_id, attempt=attempt + 1,
                        error=type(exc).__name__)
            await asyncio.sleep(0.05 * (attempt + 1))
    return False


async def confirm_intent(core: Core, ctx: CallContext, appointment_id: str, slot: Slot, uid: str,
                         rescheduled_from: AppointmentRow | None, attempts: int = 4) -> None:
    """Step 5. Write first, then check for overlaps inside the same transaction.

    A deadlock between two confirms of one stylist (InnoDB's gap locks, PostgreSQL's row locks) says
    nothing about the slots: the transaction is simply run again, and only a real overlap or the
    constraint makes it a conflict.
    """
    if core.settings.callsim_test_hooks and ctx.fault == "db_confirm":
        raise DBAPIError("UPDATE appointments", {}, Exception("injected confirm failure"))
    kill = core.settings.callsim_test_hooks and ctx.fault == "kill_db_connection_at_confirm"
    for attempt in range(attempts):
        try:
            if kill and attempt == 0:
                await _confirm_once(core, appointment_id, slot, uid, rescheduled_from, kill_connection=True)
            else:
                await _confirm_once(core, appointment_id, slot, uid, rescheduled_from)
            return
        except IntegrityError as exc:
            raise SlotConflict(str(exc.orig)) from None
        except DBAPIError as exc:
            text = str(exc.orig).lower()
            if "exclusion" in text or "ex_appointments_no_overlap" in text:
                raise SlotConflict(text) from None
            if not _is_transient(text) or attempt == attempts - 1:
                raise
            log.info("confirm retried after a transient lock conflict", appointment_id=appointment_id,
                     attempt=attempt + 1)
            await asyncio.sleep(0.02 * (attempt + 1))


def _is_transient(text: str) -> bool:
    return "deadlock" in text or "lock wait timeout" in text or "could not serialize" in text


async def _confirm_once(core: Core, appointment_id: str, slot: Slot, uid: str,
                        rescheduled_from: AppointmentRow | None, *, kill_connection: bool = False) -> None:
    async with core.uow() as uow:
        confirmed = await uow.appointments.confirm(appointment_id, uid)
        if kill_connection:
            await uow.kill_connection()
        if not confirmed:
            row = await uow.appointments.get(appointment_id)
            if row is None:
                raise SlotConflict(appointment_id)
            if row.status == AppointmentStatus.CONFIRMED.value and row.calcom_uid == uid:
                return  # a retried transaction that had in fact committed
            check_transition(row.status, AppointmentStatus.CONFIRMED)  # raises: it is not pending
        excluded = (appointment_id, rescheduled_from.id) if rescheduled_from else (appointment_id,)
        clash = await uow.appointments.confirmed_clash(slot, exclude_ids=excluded)
        if clash is not None:
            raise SlotConflict(clash)
        await uow.commit()


async def _settle(core: Core, appointment_id: str, status: AppointmentStatus, sync_status: str) -> None:
    try:
        async with core.uow() as uow:
            # Compare-and-set from pending: a confirm or compensation that won meanwhile stays.
            await uow.appointments.move(appointment_id, (AppointmentStatus.PENDING.value,), status, sync_status)
            await uow.commit()
    except SQLAlchemyError as exc:
        # The row stays pending; the reconciler settles stale pending rows.
        log.error("could not settle appointment", appointment_id=appointment_id, error=type(exc).__name__)


async def _resume(core: Core, ctx: CallContext, service: Service, row: AppointmentRow,
                  deadline: Deadline) -> Booked:
    """A retry of a call whose first attempt died mid-SAGA (`row` is its intent): finish it instead
    of booking twice."""
    zone = core.settings.zone
    start, end = from_utc_naive(row.start_at, zone), from_utc_naive(row.end_at, zone)
    if row.status == AppointmentStatus.CONFIRMED.value and row.calcom_uid:
        return Booked(row.id, service, start, end, row.calcom_uid)
    if row.status != AppointmentStatus.PENDING.value:
        raise BookingRefused("booking_unconfirmed")
    slot = Slot(row.resource, start, end)
    try:
        found = await core.calcom.find_by_metadata(
            "appointment_id", row.id, event_type_id=service.calcom_event_type_id,
            after_start=slot.start - timedelta(minutes=1), before_end=slot.end + timedelta(minutes=1),
            timeout_s=max(MIN_LOOKUP_TIMEOUT_S, deadline.left() / 2))
        CALCOM_CALLS.labels("lookup", "found" if found else "absent").inc()
    except CalcomError as exc:
        CALCOM_CALLS.labels("lookup", type(exc).__name__).inc()
        await _settle(core, row.id, AppointmentStatus.FAILED, "unknown")
        raise BookingRefused("booking_unconfirmed") from None
    if found is None or not found.active:
        # Settled only from pending: the first attempt, if it still runs, is fenced out by this
        # (its confirm refuses a failed row and compensates what it booked, should it land late).
        await _settle(core, row.id, AppointmentStatus.FAILED, "unknown")
        raise _NothingToResume
    try:
        await _confirm_or_compensate(core, ctx, row.id, slot, found.uid, None)
    except SlotConflict:
        raise BookingRefused("booking_unconfirmed") from None
    return Booked(row.id, service, start, end, found.uid)


def _placeholder_email(phone: str) -> str:
    # Cal.com requires an attendee email; phone callers have none.
    digits = "".join(ch for ch in phone if ch.isdigit()) or "unbekannt"
    return f"tel-{digits}@telefon.invalid"
