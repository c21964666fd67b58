"""Make Cal.com agree with the DB, which records what each caller was told, without ever harming a
booking it cannot prove abandoned.

- Only bookings tagged with this deployment's id (metadata `callsim_deployment`) are touched, so
  staging and production, or two salons, can share one Cal.com account.
- A booking held by a `confirmed` row (by uid) is in sync; one whose `rescheduledFromUid` is held by
  a confirmed row was moved in Cal.com (by staff, or by a reschedule whose DB step failed): the row
  adopts it (uid and times), nothing is cancelled.
- A booking whose row never became `confirmed` (caller told "not booked", a crashed SAGA) is
  cancelled, after the row is claimed with a compare-and-set, so a confirm racing in from a retry
  either wins first or is refused.
- A booking of ours with no row at all is reported, never cancelled on its own: after a database
  restore or a failover to a lagging replica those are customers who heard "gebucht". Only an
  operator's `--cancel-unknown` cancels them.
- Pending rows younger than the grace period belong to a SAGA still running; rows with an unknown
  Cal.com outcome are settled only by the evidence rules of `unknown_outcome`.
- Every status write is a compare-and-set against the state read; one pass at a time across all
  workers and hosts (a database lease); the listing pages through everything with a status filter,
  and a page that fails does not abort the pass (only the decisions that needed it are skipped).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from booking_core.adapters import leases
from booking_core.adapters.calcom import CalcomBooking, CalcomError
from booking_core.adapters.orm import AppointmentRow
from booking_core.domain.model import AppointmentStatus
from booking_core.observability import ORPHANED, RECONCILE_ACTIONS, log
from booking_core.service_layer.core import Core
from booking_core.service_layer.unknown_outcome import (
    UNKNOWN,
    SettleRule,
    claim_and_cancel,
    recheck,
)

CONFIRMED = AppointmentStatus.CONFIRMED.value
PENDING = AppointmentStatus.PENDING.value
# Cal.com's listing filters (cal.com apps/api/v2 GetBookingsInput_2024_08_13 `status`): what still
# holds a slot. Past and cancelled bookings harm nobody and would only make the walk longer.
ACTIVE_FILTER = "upcoming,unconfirmed"
LEASE_TTL_S = 120.0
DEPLOYMENT_KEY = "callsim_deployment"


@dataclass
class ReconcileReport:
    checked_bookings: int = 0
    cancelled_orphans: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    settled_failed: list[str] = field(default_factory=list)
    # Bookings tagged with our deployment id whose row does not exist (cancelled only on request).
    unknown_bookings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None  # why no pass ran (another reconciler holds the lease)

    @property
    def actions(self) -> int:
        return len(self.cancelled_orphans) + len(self.adopted) + len(self.settled_failed)

    def as_dict(self) -> dict[str, Any]:
        return {"checked_bookings": self.checked_bookings, "cancelled_orphans": self.cancelled_orphans,
                "adopted": self.adopted, "settled_failed": self.settled_failed,
                "unknown_bookings": self.unknown_bookings, "errors": self.errors, "skipped": self.skipped}


def lease_name(core: Core) -> str:
    return f"reconciler:{core.settings.callsim_deployment_id}"


async def reconcile(core: Core, *, grace_s: float | None = None, cancel_unknown: bool = False,
                    wait_s: float = 30.0) -> ReconcileReport:
    """One pass. Waits up to `wait_s` for another reconciler's pass to end (the background loop
    passes 0 and simply skips its turn)."""
    holder = uuid.uuid4().hex
    give_up = time.monotonic() + wait_s
    while not await _take_lease(core, holder):
        if time.monotonic() >= give_up:
            return ReconcileReport(skipped="another reconciler pass is running")
        await asyncio.sleep(0.25)
    try:
        return await _reconcile(core, holder, grace_s, cancel_unknown)
    finally:
        try:
            async with core.uow() as uow:
                await leases.release(uow.session, lease_name(core), holder)
        except SQLAlchemyError as exc:  # it expires on its own
            log.warning("reconciler lease not released", error=type(exc).__name__)


async def _take_lease(core: Core, holder: str) -> bool:
    async with core.uow() as uow:
        return await leases.take(uow.session, lease_name(core), holder, LEASE_TTL_S)


async def _reconcile(core: Core, holder: str, grace_s: float | None, cancel_unknown: bool) -> ReconcileReport:
    report = ReconcileReport()
    grace = timedelta(seconds=core.settings.reconcile_grace_s if grace_s is None else grace_s)
    rule = SettleRule.of(core, grace_s)
    calcom = core.calcom.patient(core.settings.calcom_background_timeout_s)

    listed: dict[str, CalcomBooking] = {}  # by uid: offset paging can return one booking twice
    complete = True
    async for page in calcom.booking_pages(status=ACTIVE_FILTER):
        if page.error:
            complete = False
            report.errors.append(f"listing Cal.com bookings: {page.error}")
        listed.update((b.uid, b) for b in page.bookings if b.active and _ours(core, b))
        await _take_lease(core, holder)  # a long walk keeps the lease
    ours = sorted(listed.values(), key=lambda b: b.uid)
    report.checked_bookings = len(ours)

    now = _utcnow()
    async with core.uow() as uow:
        rows = await uow.appointments.by_ids(sorted({_appointment_id(b) for b in ours}))
        holders = await uow.appointments.confirmed_by_uids(
            sorted({b.uid for b in ours} | {b.raw["rescheduledFromUid"] for b in ours
                                            if isinstance(b.raw.get("rescheduledFromUid"), str)}))
        stale = await uow.appointments.needing_reconcile(now - grace)

    for booking in ours:
        try:
            await _settle_booking(core, booking, rows.get(_appointment_id(booking)), holders, now, grace,
                                  cancel_unknown, report)
        except (SQLAlchemyError, CalcomError) as exc:
            report.errors.append(f"booking {booking.uid}: {type(exc).__name__}: {exc}"[:300])

    listed_ids = {_appointment_id(b): b for b in ours}
    for row in stale:
        try:
            await _settle_row(core, row, listed_ids.get(row.id), complete, now, grace, rule, report)
        except (SQLAlchemyError, CalcomError) as exc:
            report.errors.append(f"appointment {row.id}: {type(exc).__name__}: {exc}"[:300])
    if report.actions or report.unknown_bookings or report.errors:
        log.info("reconciled", **report.as_dict())
    return report


def _ours(core: Core, booking: CalcomBooking) -> bool:
    return (booking.metadata.get(DEPLOYMENT_KEY) == core.settings.callsim_deployment_id
            and bool(booking.metadata.get("appointment_id")))


def _appointment_id(booking: CalcomBooking) -> str:
    return str(booking.metadata["appointment_id"])


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _created_within(booking: CalcomBooking, now: datetime, grace: timedelta) -> bool:
    """Made by Cal.com within the grace period: a SAGA (or a reschedule's DB step) may still be
    writing the row that goes with it."""
    try:
        created = datetime.fromisoformat(str(booking.raw.get("createdAt", "")).replace("Z", "+00:00"))
    except ValueError:
        return False
    created = created.astimezone(UTC).replace(tzinfo=None) if created.tzinfo else created
    return now - grace < created <= now + timedelta(minutes=5)


async def _settle_booking(core: Core, booking: CalcomBooking, row: AppointmentRow | None,
                          holders: dict[str, AppointmentRow], now: datetime, grace: timedelta,
                          cancel_unknown: bool, report: ReconcileReport) -> None:
    if booking.uid in holders:
        return  # a confirmed row holds it
    if _created_within(booking, now, grace):
        return
    moved_from = booking.raw.get("rescheduledFromUid")
    if isinstance(moved_from, str) and moved_from in holders:
        async with core.uow() as uow:
            planned = await uow.appointments.pending_moves_from(holders[moved_from].id)
        if not planned:  # a recorded move of ours is finished (or undone) with its own row below
            await _adopt_move(core, holders[moved_from], booking, report)
        return
    if row is None:
        report.unknown_bookings.append(booking.uid)
        log.warning(ORPHANED, calcom_uid=booking.uid, appointment_id=_appointment_id(booking),
                    action="cancel" if cancel_unknown else "report", reason="no row in this database")
        if cancel_unknown:
            await _cancel(core, booking.uid, "Abgleich: keine Buchung in der Datenbank", report)
        return
    if row.status == CONFIRMED:
        if row.calcom_uid is None:
            await _adopt_uid(core, row, booking, report)
        else:
            await _cancel_duplicate(core, row, booking, report)
        return
    if row.status == PENDING:
        if row.updated_at > now - grace:
            return  # a SAGA is still working on it, or its outcome is unknown and fresh
        await _claim_and_cancel(core, row, booking, report)
        return
    if row.status == AppointmentStatus.FAILED.value:
        await _claim_and_cancel(core, row, booking, report)
        return
    # compensated / cancelled / rescheduled: final states, no confirm can come back to them.
    if await _cancel(core, booking.uid, "Abgleich: keine bestätigte Buchung", report):
        async with core.uow() as uow:
            await uow.appointments.compare_and_set(row.id, {"status": row.status, "sync_status": row.sync_status},
                                                   sync_status="in_sync")
            await uow.commit()


async def _settle_row(core: Core, row: AppointmentRow, listed: CalcomBooking | None, complete: bool,
                      now: datetime, grace: timedelta, rule: SettleRule, report: ReconcileReport) -> None:
    if row.status == PENDING:
        if listed is not None:
            return  # handled with its booking above
        if row.sync_status == UNKNOWN:
            if row.recheck_at is not None and row.recheck_at > now and grace > timedelta(0):
                return  # not due: its own recheck schedule holds the slot meanwhile
        elif row.updated_at > now - grace:
            return
        outcome = await recheck(core, row.id, listed=None, listing_complete=complete, rule=rule)
        if outcome == AppointmentStatus.FAILED.value:
            report.settled_failed.append(row.id)
        elif outcome == AppointmentStatus.COMPENSATED.value and row.calcom_uid:
            report.cancelled_orphans.append(row.calcom_uid)
        elif outcome == CONFIRMED:  # a recorded move, finished
            report.adopted.append(row.id)
        return
    if row.sync_status != "in_sync" and complete and listed is None and not _uid_listed(row, report):
        # cancel_failed / compensation_failed: a complete listing shows no active booking left.
        async with core.uow() as uow:
            await uow.appointments.compare_and_set(row.id, {"status": row.status, "sync_status": row.sync_status},
                                                   sync_status="in_sync")
            await uow.commit()


def _uid_listed(row: AppointmentRow, report: ReconcileReport) -> bool:
    return bool(row.calcom_uid) and row.calcom_uid in report.cancelled_orphans


async def _adopt_uid(core: Core, row: AppointmentRow, booking: CalcomBooking, report: ReconcileReport) -> None:
    async with core.uow() as uow:
        adopted = await uow.appointments.compare_and_set(
            row.id, {"status": CONFIRMED, "calcom_uid": None}, calcom_uid=booking.uid, sync_status="in_sync")
        await uow.commit()
    if adopted:
        RECONCILE_ACTIONS.labels("adopt").inc()
        report.adopted.append(row.id)


async def _adopt_move(core: Core, row: AppointmentRow, booking: CalcomBooking, report: ReconcileReport) -> None:
    """The booking a confirmed row holds was moved in Cal.com: the row follows it."""
    start, end = _naive_utc(booking.start), _naive_utc(booking.end)
    try:
        async with core.uow() as uow:
            adopted = await uow.appointments.compare_and_set(
                row.id, {"status": CONFIRMED, "calcom_uid": row.calcom_uid},
                calcom_uid=booking.uid, start_at=start, end_at=end, confirmed_start=start, sync_status="in_sync")
            await uow.commit()
    except IntegrityError as exc:
        # Another confirmed appointment of ours holds the new time: a human has to choose.
        report.errors.append(f"moved booking {booking.uid} overlaps a confirmed appointment: {exc.orig}"[:300])
        return
    if adopted:
        log.info("rescheduled booking adopted", appointment_id=row.id, calcom_uid=booking.uid,
                 rescheduled_from=row.calcom_uid)
        RECONCILE_ACTIONS.labels("adopt").inc()
        report.adopted.append(row.id)


async def _cancel_duplicate(core: Core, row: AppointmentRow, booking: CalcomBooking, report: ReconcileReport) -> None:
    """A second booking for a row that holds another uid (a blind retry that got through)."""
    async with core.uow() as uow:
        current = await uow.appointments.get(row.id)
    if current is None or current.calcom_uid in (None, booking.uid):
        return  # re-read: it holds this one now
    await _cancel(core, booking.uid, "Abgleich: doppelte Buchung", report)


async def _claim_and_cancel(core: Core, row: AppointmentRow, booking: CalcomBooking, report: ReconcileReport) -> None:
    log.warning(ORPHANED, calcom_uid=booking.uid, appointment_id=row.id, action="cancel")
    outcome = await claim_and_cancel(core, row, booking.uid, "Abgleich: keine bestätigte Buchung")
    if outcome != AppointmentStatus.COMPENSATED.value:
        return
    async with core.uow() as uow:
        current = await uow.appointments.get(row.id)
    if current is not None and current.sync_status == "in_sync":
        report.cancelled_orphans.append(booking.uid)
    else:
        report.errors.append(f"cancel {booking.uid}: Cal.com refused or did not answer")


async def _cancel(core: Core, uid: str, reason: str, report: ReconcileReport) -> bool:
    try:
        await core.calcom.patient(core.settings.calcom_background_timeout_s).cancel_booking(uid, reason)
    except CalcomError as exc:
        report.errors.append(f"cancel {uid}: {exc}")
        return False
    RECONCILE_ACTIONS.labels("cancel_orphan").inc()
    report.cancelled_orphans.append(uid)
    return True


def _naive_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
