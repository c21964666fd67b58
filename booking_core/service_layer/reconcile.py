"""Make Cal.com agree with the DB, which records what each caller was told.

- a Cal.com booking of ours whose row is not `confirmed` (caller told "not booked", a crashed SAGA,
  a failed compensation, a cancel that did not reach Cal.com) is an orphan: cancel it;
- a `confirmed` row whose Cal.com booking lacks a link is adopted (uid filled in);
- a second active Cal.com booking for one row (a blind retry that got through) is cancelled;
- stale `pending` rows with nothing in Cal.com are settled as `failed`.
Pending rows younger than the grace period belong to a SAGA still running and are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from booking_core.adapters.calcom import CalcomBooking, CalcomError
from booking_core.bootstrap import Core
from booking_core.domain.model import AppointmentStatus
from booking_core.observability import ORPHANED, RECONCILE_ACTIONS, log


@dataclass
class ReconcileReport:
    checked_bookings: int = 0
    cancelled_orphans: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    settled_failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def actions(self) -> int:
        return len(self.cancelled_orphans) + len(self.adopted) + len(self.settled_failed)

    def as_dict(self) -> dict[str, Any]:
        return {"checked_bookings": self.checked_bookings, "cancelled_orphans": self.cancelled_orphans,
                "adopted": self.adopted, "settled_failed": self.settled_failed, "errors": self.errors}


async def reconcile(core: Core, *, grace_s: float | None = None) -> ReconcileReport:
    report = ReconcileReport()
    grace = timedelta(seconds=core.settings.reconcile_grace_s if grace_s is None else grace_s)
    now = datetime.now(UTC).replace(tzinfo=None)
    timeout = max(core.settings.calcom_timeout_s, 5.0)
    try:
        bookings = await core.calcom.list_bookings(after_start=datetime.now(UTC) - timedelta(days=1),
                                                   timeout_s=timeout)
    except CalcomError as exc:
        report.errors.append(f"listing Cal.com bookings failed: {exc}")
        return report
    # Offset paging over a listing that grows meanwhile can return one booking twice: a second copy
    # must not look like a duplicate booking of its row and be cancelled.
    ours = list({b.uid: b for b in bookings if b.metadata.get("appointment_id")}.values())
    report.checked_bookings = len(ours)
    async with core.uow() as uow:
        rows = await uow.appointments.by_ids(sorted({str(b.metadata["appointment_id"]) for b in ours}))
        stale = await uow.appointments.needing_reconcile(now - grace)
    linked: dict[str, CalcomBooking] = {}
    for booking in sorted((b for b in ours if b.active), key=lambda b: b.uid):
        row = rows.get(str(booking.metadata["appointment_id"]))
        if row is not None and row.status == AppointmentStatus.PENDING.value and row.updated_at > now - grace:
            continue  # a SAGA is still working on it
        keep = (row is not None and row.status == AppointmentStatus.CONFIRMED.value
                and row.id not in linked and row.calcom_uid in (None, booking.uid))
        if keep and row is not None:
            linked[row.id] = booking
            if row.calcom_uid is None:
                await _adopt(core, row.id, booking.uid, report)
            continue
        await _cancel_orphan(core, booking, row.id if row else None, report)
    for row in stale:
        if row.status == AppointmentStatus.PENDING.value and row.id not in {
                str(b.metadata["appointment_id"]) for b in ours if b.active}:
            await _set(core, row.id, AppointmentStatus.FAILED.value, report.settled_failed)
        elif row.sync_status != "in_sync" and row.status != AppointmentStatus.PENDING.value:
            await _mark_in_sync(core, row.id)
    if report.actions:
        log.info("reconciled", **report.as_dict())
    return report


async def _cancel_orphan(core: Core, booking: CalcomBooking, row_id: str | None, report: ReconcileReport) -> None:
    log.warning(ORPHANED, calcom_uid=booking.uid, appointment_id=row_id, action="cancel")
    try:
        await core.calcom.cancel_booking(booking.uid, "Abgleich: keine bestätigte Buchung",
                                         timeout_s=max(core.settings.calcom_timeout_s, 5.0))
    except CalcomError as exc:
        report.errors.append(f"cancel {booking.uid}: {exc}")
        return
    RECONCILE_ACTIONS.labels("cancel_orphan").inc()
    report.cancelled_orphans.append(booking.uid)
    if row_id:
        async with core.uow() as uow:
            row = await uow.appointments.get(row_id)
            if row is not None and row.status in (AppointmentStatus.PENDING.value, AppointmentStatus.FAILED.value):
                row.status = AppointmentStatus.COMPENSATED.value
            if row is not None:
                row.sync_status = "in_sync"
            await uow.commit()


async def _adopt(core: Core, row_id: str, uid: str, report: ReconcileReport) -> None:
    async with core.uow() as uow:
        row = await uow.appointments.get(row_id)
        if row is not None:
            row.calcom_uid = uid
            row.sync_status = "in_sync"
            await uow.commit()
    RECONCILE_ACTIONS.labels("adopt").inc()
    report.adopted.append(row_id)


async def _set(core: Core, row_id: str, status: str, bucket: list[str]) -> None:
    async with core.uow() as uow:
        row = await uow.appointments.get(row_id)
        if row is not None:
            row.status = status
            row.sync_status = "in_sync"
            await uow.commit()
    RECONCILE_ACTIONS.labels(status).inc()
    bucket.append(row_id)


async def _mark_in_sync(core: Core, row_id: str) -> None:
    async with core.uow() as uow:
        row = await uow.appointments.get(row_id)
        if row is not None:
            row.sync_status = "in_sync"
            await uow.commit()
