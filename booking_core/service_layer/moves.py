"""The steps of a recorded move (a `pending` row with `rescheduled_from_id`), shared by the
reschedule handler, its retries, the background retry and the reconciler."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from booking_core.adapters.calcom import CalcomBooking, CalcomClient, CalcomError
from booking_core.domain.model import AppointmentStatus, Slot, from_utc_naive
from booking_core.observability import ORPHANED, log
from booking_core.service_layer.core import Core

CONFIRMED = AppointmentStatus.CONFIRMED.value
RESCHEDULED = AppointmentStatus.RESCHEDULED.value
# asyncpg and aiomysql report a lost connection with their own exceptions, not SQLAlchemy's.
DB_ERRORS = (SQLAlchemyError, OSError, TimeoutError)


class MoveConflict(Exception):
    """The database refused the new time: another confirmed appointment overlaps it."""


class MoveLost(Exception):
    """The old appointment left `confirmed` another way (cancelled meanwhile), or the plan is gone."""


async def find_move(calcom: CalcomClient, old_id: str, old_uid: str | None, start: datetime, end: datetime, *,
                    timeout_s: float | None = None) -> CalcomBooking | None:
    """Cal.com copies the old booking's metadata onto the moved one and links it by
    `rescheduledFromUid`: that pair finds a move whose answer was lost. Raises CalcomError."""
    listing = await calcom.list_bookings(
        after_start=start - timedelta(minutes=1), before_end=end + timedelta(minutes=1), timeout_s=timeout_s)
    for booking in listing:
        if (booking.active and str(booking.metadata.get("appointment_id", "")) == old_id
                and booking.raw.get("rescheduledFromUid") == old_uid):
            return booking
    return None


async def confirm_move(core: Core, new_id: str, old_id: str, old_uid: str | None, slot: Slot, uid: str,
                       closed_by_key: str | None, attempts: int = 4) -> None:
    """Old → rescheduled and new → confirmed in one transaction, each a compare-and-set.

    The old row leaves `confirmed` first: PostgreSQL's exclusion constraint and the unique start
    then see only the new row, so a move into an overlapping time of the same appointment passes.
    """
    for attempt in range(attempts):
        try:
            await _confirm_move_once(core, new_id, old_id, old_uid, slot, uid, closed_by_key)
            return
        except IntegrityError as exc:
            raise MoveConflict(str(exc.orig)) from None
        except DBAPIError as exc:
            text = str(exc.orig).lower()
            if "exclusion" in text or "ex_appointments_no_overlap" in text:
                raise MoveConflict(text) from None
            transient = "deadlock" in text or "lock wait timeout" in text or "could not serialize" in text
            if not transient or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.02 * (attempt + 1))


async def _confirm_move_once(core: Core, new_id: str, old_id: str, old_uid: str | None, slot: Slot, uid: str,
                             closed_by_key: str | None) -> None:
    async with core.uow() as uow:
        left = await uow.appointments.transition(
            old_id, AppointmentStatus.RESCHEDULED, expected={"status": CONFIRMED, "calcom_uid": old_uid},
            confirmed_start=None, closed_by_key=closed_by_key)
        if not left:
            old = await uow.appointments.get(old_id)
            if old is None or old.status != RESCHEDULED:
                raise MoveLost(f"{old_id} is {old.status if old else 'gone'}")
        if not await uow.appointments.confirm(new_id, uid):
            new = await uow.appointments.get(new_id)
            if new is not None and new.status == CONFIRMED and new.calcom_uid == uid:
                return  # a retried transaction that had in fact committed
            raise MoveLost(f"{new_id} is {new.status if new else 'gone'}")
        clash = await uow.appointments.confirmed_clash(slot, exclude_ids=(new_id, old_id))
        if clash is not None:
            raise MoveConflict(clash)
        await uow.commit()


async def finish_move(core: Core, new_id: str, uid: str) -> bool:
    """Finish a recorded move whose Cal.com step happened: True when the new row is confirmed."""
    async with core.uow() as uow:
        new = await uow.appointments.get(new_id)
        old = await uow.appointments.get(new.rescheduled_from_id) if new and new.rescheduled_from_id else None
    if new is None or old is None:
        return False
    if new.status == CONFIRMED:
        return True
    if new.status != AppointmentStatus.PENDING.value:
        return False
    zone = core.settings.zone
    slot = Slot(new.resource, from_utc_naive(new.start_at, zone), from_utc_naive(new.end_at, zone))
    await confirm_move(core, new_id, old.id, old.calcom_uid, slot, uid, new.idempotency_key)
    log.info("move finished", appointment_id=new_id, calcom_uid=uid)
    return True


async def move_back(core: Core, old_id: str, old_uid: str | None, moved_uid: str) -> bool:
    """Undo a move nobody may keep (the caller was told it did not happen): Cal.com moves the booking
    back to the old row's time, and the old row follows the new uid."""
    async with core.uow() as uow:
        old = await uow.appointments.get(old_id)
    if old is None or old.status != CONFIRMED or old.calcom_uid != old_uid:
        log.error(ORPHANED, appointment_id=old_id, calcom_uid=moved_uid, reason="move cannot be undone")
        return False
    back_to = from_utc_naive(old.start_at, core.settings.zone)
    try:
        back = await core.calcom.patient(core.settings.calcom_background_timeout_s).reschedule_booking(
            moved_uid, back_to, "Automatische Rückverschiebung: Verschiebung nicht bestätigt")
    except CalcomError as exc:
        log.error(ORPHANED, appointment_id=old_id, calcom_uid=moved_uid, reason=f"move back failed: {exc}")
        return False
    async with core.uow() as uow:
        await uow.appointments.compare_and_set(old_id, {"status": CONFIRMED, "calcom_uid": old_uid},
                                               calcom_uid=back.uid, sync_status="in_sync")
        await uow.commit()
    log.warning("move undone", appointment_id=old_id, calcom_uid=back.uid, undone=moved_uid)
    return True
