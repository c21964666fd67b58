"""SAGA compensation: cancel at Cal.com what the caller was told is not booked, and cancels the
caller asked for, with bounded retries; what still fails is flagged for the reconciler."""

from __future__ import annotations

import asyncio

from sqlalchemy.exc import SQLAlchemyError

from booking_core.adapters.calcom import CalcomError
from booking_core.domain.model import AppointmentStatus
from booking_core.observability import CALCOM_CALLS, COMPENSATION, COMPENSATIONS, ORPHANED, log
from booking_core.service_layer.core import Core


async def compensate(core: Core, appointment_id: str, uid: str, call_id: str | None, *,
                     told_no: bool = False) -> bool:
    """Cancel the Cal.com booking nobody was told about, with bounded retries.

    The row is moved to `compensated` *before* Cal.com is asked (a compare-and-set against
    pending/failed): a confirm racing this, a retry's resume or the first attempt after a takeover,
    then fails instead of telling the caller "gebucht" for a booking about to be cancelled. A row
    already confirmed with this booking keeps it, unless `told_no`: the confirm's acknowledgement
    was lost and the caller heard "nicht eingetragen", so the row must not say "gebucht" either.
    """
    if not core.settings.compensation_enabled:
        log.error(ORPHANED, call_id=call_id, appointment_id=appointment_id, calcom_uid=uid, compensation="disabled")
        return False
    if not await _fence_for_compensation(core, appointment_id, uid, told_no):
        log.info("compensation skipped: the booking is confirmed", call_id=call_id,
                 appointment_id=appointment_id, calcom_uid=uid)
        return True
    log.warning(COMPENSATION, call_id=call_id, appointment_id=appointment_id, calcom_uid=uid)
    for attempt in range(core.settings.compensation_attempts):
        try:
            await core.calcom.cancel_booking(uid, "Automatische Stornierung: Buchung nicht bestätigt")
            COMPENSATIONS.labels("cancelled").inc()
            await _mark_compensated(core, appointment_id, uid, told_no)
            return True
        except CalcomError as exc:
            log.warning(COMPENSATION, call_id=call_id, appointment_id=appointment_id, attempt=attempt + 1,
                        error=str(exc))
            await asyncio.sleep(0.2 * 2**attempt)
    COMPENSATIONS.labels("failed").inc()
    log.error(ORPHANED, call_id=call_id, appointment_id=appointment_id, calcom_uid=uid)
    await _flag_for_reconciler(core, appointment_id, "compensation_failed")
    return False


async def _flag_for_reconciler(core: Core, appointment_id: str, sync_status: str) -> None:
    """Best effort: the reconciler finds the Cal.com side anyway, the flag only says why."""
    try:
        async with core.uow() as uow:
            row = await uow.appointments.get(appointment_id)
            if row is not None:
                row.sync_status = sync_status
                await uow.commit()
    except SQLAlchemyError:
        pass


async def _fence_for_compensation(core: Core, appointment_id: str, uid: str, told_no: bool) -> bool:
    """Claim the row for compensation; False if it is confirmed with this booking and keeps it.

    While the database cannot be reached the booking is cancelled anyway (after a few seconds of
    retrying): every caller on a compensation path was told "nicht eingetragen"."""
    sources = [AppointmentStatus.PENDING.value, AppointmentStatus.FAILED.value]
    for attempt in range(5):
        try:
            async with core.uow() as uow:
                moved = await uow.appointments.move(appointment_id, sources, AppointmentStatus.COMPENSATED,
                                                    "compensating")
                if not moved and told_no:
                    moved = await uow.appointments.move(
                        appointment_id, (AppointmentStatus.CONFIRMED.value,), AppointmentStatus.COMPENSATED,
                        "compensating", calcom_uid=uid)
                row = None if moved else await uow.appointments.get(appointment_id)
                await uow.commit()
            return not (row is not None and row.status == AppointmentStatus.CONFIRMED.value and row.calcom_uid == uid)
        except SQLAlchemyError as exc:
            log.warning("compensation could not claim the row", appointment_id=appointment_id,
                        attempt=attempt + 1, error=type(exc).__name__)
            await asyncio.sleep(0.2 * 2**attempt)
    return True


async def _mark_compensated(core: Core, appointment_id: str, uid: str, told_no: bool) -> None:
    try:
        async with core.uow() as uow:
            if not await uow.appointments.set_sync_status(appointment_id, AppointmentStatus.COMPENSATED, "in_sync"):
                # Not claimed before the cancel (the database was away): the same claim, now.
                moved = await uow.appointments.move(
                    appointment_id, (AppointmentStatus.PENDING.value, AppointmentStatus.FAILED.value),
                    AppointmentStatus.COMPENSATED, "in_sync")
                if not moved and told_no:
                    await uow.appointments.move(appointment_id, (AppointmentStatus.CONFIRMED.value,),
                                                AppointmentStatus.COMPENSATED, "in_sync", calcom_uid=uid)
            await uow.commit()
    except SQLAlchemyError as exc:
        log.error("could not mark compensated", appointment_id=appointment_id, error=type(exc).__name__)


async def cancel_in_calcom(core: Core, row_id: str, uid: str | None, call_id: str | None,
                           timeout_s: float) -> None:
    """After the DB says cancelled: cancel at Cal.com within what is left of the caller's budget,
    then keep retrying in the background; what still fails is left for the reconciler."""
    if not uid:
        return
    if await _try_cancel(core, row_id, uid, call_id, timeout_s=timeout_s):
        return
    core.spawn(_retry_cancel(core, row_id, uid, call_id))


async def _try_cancel(core: Core, row_id: str, uid: str, call_id: str | None, timeout_s: float) -> bool:
    try:
        await core.calcom.cancel_booking(uid, "Vom Kunden telefonisch storniert", timeout_s=timeout_s)
        CALCOM_CALLS.labels("cancel", "ok").inc()
        return True
    except CalcomError as exc:
        CALCOM_CALLS.labels("cancel", type(exc).__name__).inc()
        log.warning("Cal.com cancel failed", call_id=call_id, appointment_id=row_id, error=str(exc))
        return False


async def _retry_cancel(core: Core, row_id: str, uid: str, call_id: str | None) -> None:
    for attempt in range(core.settings.compensation_attempts):
        await asyncio.sleep(0.2 * 2**attempt)
        if await _try_cancel(core, row_id, uid, call_id, timeout_s=core.settings.calcom_timeout_s):
            return
    log.error("Cal.com cancel failed, reconciler will retry", call_id=call_id, appointment_id=row_id)
    await _flag_for_reconciler(core, row_id, "cancel_failed")
