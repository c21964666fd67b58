"""Unknown Cal.com outcomes, resolved from the row so that a worker restart loses nothing.

A create (or move) that timed out may still commit inside Cal.com. Its row stays `pending` with
`sync_status=unknown`, which keeps the slot held, and `recheck_at` says when to look again. Whoever
comes first does the next look: the worker's own background task or any reconciler pass after a
restart. A failed lookup proves nothing and changes nothing but the next look's time. The slot is
released only after enough lookups that *succeeded* and found nothing, the last one long enough
after the create for Cal.com to have finished it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, timedelta

from booking_core.adapters.calcom import CalcomBooking, CalcomError
from booking_core.adapters.leases import utcnow
from booking_core.adapters.orm import AppointmentRow
from booking_core.domain.model import AppointmentStatus
from booking_core.observability import COMPENSATION, ORPHANED, RECONCILE_ACTIONS, log
from booking_core.service_layer import moves
from booking_core.service_layer.core import Core

PENDING = AppointmentStatus.PENDING.value
UNKNOWN = "unknown"
LOOKED_UP_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class SettleRule:
    """How much "absent" evidence releases a slot: `absent_checks` successful lookups, the last at
    least `after` past the row's creation."""

    absent_checks: int
    after: timedelta

    @classmethod
    def of(cls, core: Core, grace_s: float | None = None) -> SettleRule:
        after = core.settings.unknown_settle_after_s
        if grace_s is not None and grace_s < after:
            # An operator's explicit grace (`callsim reconcile --grace-s 0` once the core is quiet)
            # says nothing is still on its way.
            after = grace_s
        return cls(1 if after <= 0 else 2, timedelta(seconds=after))


def next_recheck(core: Core, looks_done: int) -> timedelta:
    delays = core.settings.unknown_recheck_s or [core.settings.calcom_background_timeout_s]
    return timedelta(seconds=delays[min(looks_done, len(delays) - 1)])


async def mark_unknown(core: Core, appointment_id: str) -> bool:
    """The create's outcome is unknown: keep the slot held and schedule the first look."""
    async with core.uow() as uow:
        changed = await uow.appointments.compare_and_set(
            appointment_id, {"status": PENDING}, sync_status=UNKNOWN, absent_checks=0,
            recheck_at=utcnow() + next_recheck(core, 0))
        await uow.commit()
    return changed


async def mark_unknown_later(core: Core, appointment_id: str, attempts: int = 7) -> bool:
    """`mark_unknown` failed (the database was away when the outcome turned unknown): set the marker
    as soon as the database is back, so the row is flagged rather than left looking like a fresh
    intent. Bounded; past it the reconciler's stale-intent pass still finds the pending row."""
    for attempt in range(attempts):
        await asyncio.sleep(0.1 * 2**attempt)
        try:
            return await mark_unknown(core, appointment_id)  # False: the row moved on meanwhile
        except Exception as exc:  # noqa: BLE001 - whatever the database or its driver raised
            log.warning("unknown-outcome marker not written yet", appointment_id=appointment_id,
                        attempt=attempt + 1, error=f"{type(exc).__name__}: {exc}"[:200])
    return False


async def watch(core: Core, appointment_id: str) -> None:
    """The worker's own follow-up of an unknown outcome, for as long as it lives."""
    for looks in range(len(core.settings.unknown_recheck_s) + 8):  # bounded; the reconciler goes on
        await asyncio.sleep(next_recheck(core, looks).total_seconds())
        try:
            if await recheck(core, appointment_id) != UNKNOWN:
                return
        except Exception as exc:  # the row keeps its marker; the reconciler looks later
            log.error("recheck of unknown outcome failed", appointment_id=appointment_id,
                      error=f"{type(exc).__name__}: {exc}"[:300])


async def recheck(core: Core, appointment_id: str, *, listed: CalcomBooking | None = None,
                  listing_complete: bool = False, rule: SettleRule | None = None) -> str:
    """One look at a pending row's Cal.com booking. `listed`/`listing_complete`: what a complete
    reconciler listing already showed, saving a lookup. Returns the row's resulting state."""
    rule = rule or SettleRule.of(core)
    async with core.uow() as uow:
        row = await uow.appointments.get(appointment_id)
        service = await uow.services.get(row.service_id) if row is not None else None
    if row is None or row.status != PENDING:
        return row.status if row is not None else "missing"
    if row.rescheduled_from_id:
        return await _recheck_move(core, row, rule)
    found = listed
    if found is None and not listing_complete:
        try:
            found = await _lookup(core, row, service.calcom_event_type_id if service else None)
        except CalcomError as exc:
            log.warning("lookup of unknown outcome failed", appointment_id=row.id, error=str(exc))
            await _look_again(core, row, absent=False)
            return UNKNOWN
    if found is not None and found.active:
        return await claim_and_cancel(core, row, found.uid, "Abgleich: Buchung wurde nicht bestätigt")
    return await _absent(core, row, rule)


async def _recheck_move(core: Core, row: AppointmentRow, rule: SettleRule) -> str:
    """A recorded move: did Cal.com move the old booking? If so, a caller who heard "nicht
    bestätigt" gets the old time back; otherwise (the answer was "verschoben", or the worker died
    before answering) the plan is finished."""
    async with core.uow() as uow:
        old = await uow.appointments.get(row.rescheduled_from_id or "")
    if old is None:
        return await _absent(core, row, rule)
    try:
        found = await moves.find_move(core.calcom.patient(core.settings.calcom_background_timeout_s),
                                      old.id, old.calcom_uid, row.start_at.replace(tzinfo=UTC),
                                      row.end_at.replace(tzinfo=UTC))
    except CalcomError as exc:
        log.warning("lookup of unknown move failed", appointment_id=row.id, error=str(exc))
        await _look_again(core, row, absent=False)
        return UNKNOWN
    if found is None:
        return await _absent(core, row, rule)
    if row.sync_status == UNKNOWN:
        async with core.uow() as uow:
            claimed = await uow.appointments.transition(
                row.id, AppointmentStatus.COMPENSATED, expected=_as_read(row), sync_status="in_sync",
                recheck_at=None, calcom_uid=found.uid)
            await uow.commit()
        if not claimed:
            return UNKNOWN
        await moves.move_back(core, old.id, old.calcom_uid, found.uid)
        return AppointmentStatus.COMPENSATED.value
    try:
        await moves.finish_move(core, row.id, found.uid)
    except (moves.MoveConflict, moves.MoveLost) as exc:
        log.error("recorded move cannot be finished", appointment_id=row.id, error=str(exc))
        async with core.uow() as uow:
            await uow.appointments.transition(row.id, AppointmentStatus.FAILED, expected=_as_read(row),
                                              sync_status="in_sync", recheck_at=None)
            await uow.commit()
        await moves.move_back(core, old.id, old.calcom_uid, found.uid)
        return AppointmentStatus.FAILED.value
    return AppointmentStatus.CONFIRMED.value


async def _absent(core: Core, row: AppointmentRow, rule: SettleRule) -> str:
    """One more successful lookup found nothing: release the slot once that is enough evidence."""
    checks = row.absent_checks + 1
    if checks >= rule.absent_checks and row.created_at <= utcnow() - rule.after:
        async with core.uow() as uow:
            settled = await uow.appointments.transition(
                row.id, AppointmentStatus.FAILED, expected=_as_read(row), sync_status="in_sync",
                recheck_at=None, absent_checks=checks)
            await uow.commit()
        if settled:
            RECONCILE_ACTIONS.labels("failed").inc()
            return AppointmentStatus.FAILED.value
        return UNKNOWN
    await _look_again(core, row, absent=True)
    return UNKNOWN


async def claim_and_cancel(core: Core, row: AppointmentRow, uid: str, reason: str) -> str:
    """Cancel a booking whose row never became `confirmed`. The row is claimed first (→ compensated,
    compared against the state read), so a confirm racing in from a retry either wins before the
    claim (and nothing is cancelled) or is refused after it: never a cancelled booking under a
    confirmed row."""
    async with core.uow() as uow:
        claimed = await uow.appointments.transition(
            row.id, AppointmentStatus.COMPENSATED, expected=_as_read(row),
            sync_status="compensation_failed", recheck_at=None, confirmed_start=None)
        await uow.commit()
    if not claimed:
        return UNKNOWN  # changed meanwhile: the next look decides on the new state
    log.warning(COMPENSATION, appointment_id=row.id, calcom_uid=uid, by="recheck")
    try:
        await core.calcom.patient(core.settings.calcom_background_timeout_s).cancel_booking(uid, reason)
    except CalcomError as exc:
        # The row stays compensated with the flag: the reconciler cancels the active booking.
        log.error(ORPHANED, appointment_id=row.id, calcom_uid=uid, error=str(exc))
        return AppointmentStatus.COMPENSATED.value
    async with core.uow() as uow:
        await uow.appointments.compare_and_set(
            row.id, {"status": AppointmentStatus.COMPENSATED.value}, sync_status="in_sync", calcom_uid=uid)
        await uow.commit()
    RECONCILE_ACTIONS.labels("cancel_orphan").inc()
    return AppointmentStatus.COMPENSATED.value


def _as_read(row: AppointmentRow) -> dict[str, object]:
    return {"status": row.status, "sync_status": row.sync_status, "calcom_uid": row.calcom_uid,
            "absent_checks": row.absent_checks}


async def _look_again(core: Core, row: AppointmentRow, *, absent: bool) -> None:
    checks = row.absent_checks + (1 if absent else 0)
    async with core.uow() as uow:
        await uow.appointments.compare_and_set(
            row.id, _as_read(row), sync_status=UNKNOWN, absent_checks=checks,
            recheck_at=utcnow() + next_recheck(core, checks))
        await uow.commit()


async def _lookup(core: Core, row: AppointmentRow, event_type_id: int | None) -> CalcomBooking | None:
    """Our id in the booking's metadata finds it (Cal.com has no idempotency key)."""
    return await core.calcom.patient(core.settings.calcom_background_timeout_s).find_by_metadata(
        "appointment_id", row.id, event_type_id=event_type_id,
        after_start=row.start_at.replace(tzinfo=UTC) - LOOKED_UP_WINDOW,
        before_end=row.end_at.replace(tzinfo=UTC) + LOOKED_UP_WINDOW)
