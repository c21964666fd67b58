"""Queries the service layer needs, one place per table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking_core.adapters.orm import (
    AppointmentRow,
    CallEventRow,
    CallRow,
    CustomerRow,
    FunctionCallRow,
    ServiceRow,
)
from booking_core.domain.model import TRANSITIONS, AppointmentStatus, Slot, to_utc_naive

HOLDING = (AppointmentStatus.PENDING.value, AppointmentStatus.CONFIRMED.value)

# The hot path's statements are built once, on the tables rather than the mapped classes, with
# plain bound parameters (an IN list is re-rendered on every execution): every check and booking
# runs them, and SQLAlchemy's ORM layer cost more CPU than SQLite took to run them. The booking's
# writes need none of the ORM's unit of work (identity map, flush ordering) either.
_APPOINTMENTS = cast(Table, AppointmentRow.__table__)
_CUSTOMERS = cast(Table, CustomerRow.__table__)
_A = _APPOINTMENTS.c


def _status_in(statuses: Iterable[str]) -> ColumnElement[bool]:
    return or_(*(_A.status == status for status in statuses))


# An appointment fits in one opening day, so nothing that overlaps [start, end) began a day or more
# before `start`: saying so bounds the index range scan, which would otherwise walk the resource's
# whole history on every check.
LONGEST_APPOINTMENT = timedelta(days=1)
_OVERLAPS_WINDOW = (_A.start_at < bindparam("end"), _A.start_at > bindparam("earliest"), _A.end_at > bindparam("start"))
_BUSY = select(_A.id, _A.start_at, _A.end_at).where(
    _A.resource == bindparam("resource"), _status_in(HOLDING), *_OVERLAPS_WINDOW)
_BY_PHONE = select(CustomerRow).where(CustomerRow.phone == bindparam("phone"))
_BY_KEY = select(AppointmentRow).where(AppointmentRow.idempotency_key == bindparam("key"))
_GET = select(AppointmentRow).where(AppointmentRow.id == bindparam("id"))
_GET_FOR_UPDATE = _GET.with_for_update()

_CUSTOMER_ID_NAME = select(_CUSTOMERS.c.id, _CUSTOMERS.c.name).where(_CUSTOMERS.c.phone == bindparam("phone"))
_ADD_CUSTOMER = insert(_CUSTOMERS)
_RENAME_CUSTOMER = update(_CUSTOMERS).where(_CUSTOMERS.c.id == bindparam("customer_id")).values(
    name=bindparam("new_name"))
_ADD_APPOINTMENT = insert(_APPOINTMENTS)
_CONFIRMABLE = tuple(status.value for status, targets in TRANSITIONS.items() if AppointmentStatus.CONFIRMED in targets)


@cache
def _overlapping(statuses: tuple[str, ...], excluded: int, for_update: bool) -> Any:
    """The id of one appointment in `statuses` overlapping the window, ignoring `excluded` ids."""
    query = select(_A.id).where(
        _A.resource == bindparam("resource"), _status_in(statuses), *_OVERLAPS_WINDOW,
        *(_A.id != bindparam(f"exclude_{i}") for i in range(excluded))).limit(1)
    if for_update:
        # A locking read sees the latest committed rows (MariaDB's REPEATABLE READ would not).
        query = query.with_for_update()
    return query


class ServiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self) -> list[ServiceRow]:
        result = await self.session.scalars(select(ServiceRow).where(ServiceRow.active.is_(True)).order_by(ServiceRow.id))
        return list(result)

    async def all(self) -> list[ServiceRow]:
        return list(await self.session.scalars(select(ServiceRow).order_by(ServiceRow.id)))

    async def by_name(self, name: str) -> ServiceRow | None:
        return await self.session.scalar(select(ServiceRow).where(ServiceRow.name == name))

    async def get(self, service_id: int) -> ServiceRow | None:
        return await self.session.get(ServiceRow, service_id)

    async def fingerprint(self) -> tuple[Any, ...]:
        row = (await self.session.execute(select(func.count(ServiceRow.id), func.max(ServiceRow.updated_at)))).one()
        return tuple(row)

    def add(self, row: ServiceRow) -> None:
        self.session.add(row)


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_phone(self, phone: str) -> CustomerRow | None:
        return await self.session.scalar(_BY_PHONE, {"phone": phone})

    async def ensure(self, phone: str, name: str) -> int:
        """The customer's id, created on first call; a new non-empty name replaces the old one."""
        found = (await self.session.execute(_CUSTOMER_ID_NAME, {"phone": phone})).first()
        if found is None:
            result = await self.session.execute(_ADD_CUSTOMER, {"phone": phone, "name": name})
            return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]
        if name and found.name != name:
            await self.session.execute(_RENAME_CUSTOMER, {"customer_id": found.id, "new_name": name})
        return int(found.id)

    def add(self, row: CustomerRow) -> None:
        self.session.add(row)


class AppointmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: AppointmentRow) -> None:
        self.session.add(row)

    async def get(self, appointment_id: str, *, for_update: bool = False) -> AppointmentRow | None:
        return await self.session.scalar(_GET_FOR_UPDATE if for_update else _GET, {"id": appointment_id})

    async def by_idempotency_key(self, key: str) -> AppointmentRow | None:
        return await self.session.scalar(_BY_KEY, {"key": key})

    async def is_held(self, slot: Slot, *, exclude_id: str | None = None) -> bool:
        """Whether a pending or confirmed appointment holds any part of the slot."""
        excluded = (exclude_id,) if exclude_id else ()
        query = _overlapping(HOLDING, len(excluded), False)
        return await self.session.scalar(query, _slot_window(slot, excluded)) is not None

    async def confirmed_clash(self, slot: Slot, *, exclude_ids: tuple[str, ...]) -> str | None:
        """The id of a confirmed appointment overlapping the slot, read with a row lock."""
        query = _overlapping((AppointmentStatus.CONFIRMED.value,), len(exclude_ids), True)
        return await self.session.scalar(query, _slot_window(slot, exclude_ids))

    async def add_intent(self, **values: Any) -> None:
        await self.session.execute(_ADD_APPOINTMENT, values)

    async def transition(self, appointment_id: str, to: AppointmentStatus, *, expected: Mapping[str, Any],
                         **values: Any) -> bool:
        """The one way an appointment's status changes: a compare-and-set against what the writer
        read (`UPDATE … WHERE id = :id AND status IN :expected AND …`), from the expected statuses
        that domain.TRANSITIONS lets become `to`. `expected["status"]` is one status or several;
        its other keys are columns that must still hold their value. False, and nothing written, if
        the row moved on meanwhile or none of the expected statuses may become `to`. Leaving
        `confirmed` frees the start in the unique constraint. Does not commit."""
        wanted = expected["status"]
        statuses = (wanted,) if isinstance(wanted, str) else tuple(wanted)
        allowed = [status for status in statuses if to in TRANSITIONS[AppointmentStatus(status)]]
        if not allowed:
            return False
        conditions = [_A.id == appointment_id, _status_in(allowed)]
        conditions += [_A[name].is_(None) if value is None else _A[name] == value
                       for name, value in expected.items() if name != "status"]
        changes: dict[str, Any] = {"status": to.value, **values}
        if to != AppointmentStatus.CONFIRMED:
            changes.setdefault("confirmed_start", None)
        result = await self.session.execute(update(_APPOINTMENTS).where(*conditions).values(**changes))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def confirm(self, appointment_id: str, calcom_uid: str) -> bool:
        """→ confirmed, from a state that may become confirmed; False if the row is missing or may not."""
        return await self.transition(appointment_id, AppointmentStatus.CONFIRMED, expected={"status": _CONFIRMABLE},
                                     confirmed_start=_A.start_at, calcom_uid=calcom_uid, sync_status="in_sync")

    async def move(self, appointment_id: str, from_statuses: Iterable[str], to: AppointmentStatus,
                   sync_status: str, *, calcom_uid: str | None = None) -> bool:
        """transition() from any of `from_statuses` (and, if given, only the row of that Cal.com booking)."""
        expected: dict[str, Any] = {"status": tuple(from_statuses)}
        if calcom_uid is not None:
            expected["calcom_uid"] = calcom_uid
        return await self.transition(appointment_id, to, expected=expected, sync_status=sync_status)

    async def set_sync_status(self, appointment_id: str, status: AppointmentStatus, sync_status: str) -> bool:
        result = await self.session.execute(update(_APPOINTMENTS).where(
            _A.id == appointment_id, _A.status == status.value).values(sync_status=sync_status))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def busy_between(self, resource: str, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
        """(id, start_at, end_at) of what holds the resource in [start, end)."""
        result = await self.session.execute(_BUSY, {"resource": resource, **_window(start, end)})
        return [(row_id, row_start, row_end) for row_id, row_start, row_end in result]

    async def upcoming_for_phone(self, phone: str, after: datetime) -> list[AppointmentRow]:
        return list(await self.session.scalars(
            select(AppointmentRow).where(
                AppointmentRow.customer_phone == phone,
                AppointmentRow.status == AppointmentStatus.CONFIRMED.value,
                AppointmentRow.end_at > after,
            ).order_by(AppointmentRow.start_at)
        ))

    async def needing_reconcile(self, stale_before: datetime) -> list[AppointmentRow]:
        """Rows flagged out of sync, and pending rows no SAGA touched since `stale_before`."""
        return list(await self.session.scalars(select(AppointmentRow).where(
            or_(
                AppointmentRow.sync_status != "in_sync",
                (AppointmentRow.status == AppointmentStatus.PENDING.value) & (AppointmentRow.updated_at < stale_before),
            ))))

    async def compare_and_set(self, appointment_id: str, expected: Mapping[str, Any], **values: Any) -> bool:
        """Write `values` only if the row still holds `expected` (what the writer read); False if
        someone changed it meanwhile. Does not commit. A status change goes through transition()."""
        if "status" in values:
            raise ValueError("an appointment's status changes only through transition()")
        conditions = [_A[name].is_(None) if value is None else _A[name] == value for name, value in expected.items()]
        result = await self.session.execute(
            update(_APPOINTMENTS).where(_A.id == appointment_id, *conditions).values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def confirmed_by_uids(self, uids: list[str]) -> dict[str, AppointmentRow]:
        """The confirmed rows holding these Cal.com uids, by uid."""
        if not uids:
            return {}
        rows = await self.session.scalars(select(AppointmentRow).where(
            AppointmentRow.calcom_uid.in_(uids), AppointmentRow.status == AppointmentStatus.CONFIRMED.value))
        return {row.calcom_uid: row for row in rows if row.calcom_uid}

    async def pending_moves_from(self, appointment_id: str) -> list[AppointmentRow]:
        """Recorded moves away from this appointment that are not finished."""
        return list(await self.session.scalars(select(AppointmentRow).where(
            AppointmentRow.rescheduled_from_id == appointment_id,
            AppointmentRow.status == AppointmentStatus.PENDING.value)))

    async def closed_by(self, key: str) -> AppointmentRow | None:
        """The appointment a call with this idempotency key cancelled or moved away from."""
        return await self.session.scalar(select(AppointmentRow).where(AppointmentRow.closed_by_key == key))

    async def by_ids(self, ids: list[str]) -> dict[str, AppointmentRow]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(AppointmentRow).where(AppointmentRow.id.in_(ids)))
        return {row.id: row for row in rows}

    async def confirmed_between(self, start: datetime, end: datetime) -> list[AppointmentRow]:
        return list(await self.session.scalars(select(AppointmentRow).where(
            AppointmentRow.status == AppointmentStatus.CONFIRMED.value,
            AppointmentRow.start_at < end, AppointmentRow.end_at > start)))


def _window(start: datetime, end: datetime) -> dict[str, Any]:
    """The parameters of _OVERLAPS_WINDOW."""
    return {"start": start, "end": end, "earliest": start - LONGEST_APPOINTMENT}


def _slot_window(slot: Slot, excluded: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {"resource": slot.resource, **_window(to_utc_naive(slot.start), to_utc_naive(slot.end))}
    params.update((f"exclude_{i}", appointment_id) for i, appointment_id in enumerate(excluded))
    return params


class CallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, call_id: str) -> CallRow | None:
        return await self.session.get(CallRow, call_id)

    def add(self, row: CallRow | CallEventRow) -> None:
        self.session.add(row)

    async def event(self, call_id: str, event: str) -> CallEventRow | None:
        return await self.session.scalar(select(CallEventRow).where(
            CallEventRow.call_id == call_id, CallEventRow.event == event))


# Idempotency claims (service_layer/idempotency.py). Core statements, built once: every mutating call
# runs them, and the ORM's unit of work cost more CPU than the database took to run them.
_FUNCTION_CALLS = cast(Table, FunctionCallRow.__table__)
_F = _FUNCTION_CALLS.c
_CLAIM = insert(_FUNCTION_CALLS)
_LATEST = (select(_F.key, _F.request_key, _F.seq, _F.created_at)
           .where(_F.call_id == bindparam("call_id"), _F.seq.is_not(None))
           .order_by(_F.seq.desc(), _F.created_at.desc()).limit(1))
_MINE = (_F.key == bindparam("stored_key"), _F.owner == bindparam("stored_owner"))
_STORE = update(_FUNCTION_CALLS).where(*_MINE).values(status=bindparam("new_status"), response=bindparam("answer"))
_RENEW = update(_FUNCTION_CALLS).where(*_MINE, _F.status == "in_progress").values(lease_until=bindparam("until"))


class FunctionCallRepository:
    """Claims of mutating function calls: who runs an invocation, and the answer it gave."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def latest(self, call_id: str) -> Any:
        """(key, request_key, seq, created_at) of the call's latest mutating request, or None."""
        return (await self.session.execute(_LATEST, {"call_id": call_id})).first()

    async def claim(self, values: dict[str, Any]) -> None:
        await self.session.execute(_CLAIM, values)

    async def get(self, key: str) -> FunctionCallRow | None:
        return await self.session.get(FunctionCallRow, key)

    async def renew(self, key: str, owner: str, until: datetime) -> bool:
        """Extend a running attempt's lease; False once another attempt owns the claim."""
        result = await self.session.execute(_RENEW, {"stored_key": key, "stored_owner": owner, "until": until})
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def store(self, answers: list[dict[str, Any]]) -> None:
        """Each {stored_key, stored_owner, new_status, answer}: written only while that owner holds it."""
        await self.session.execute(_STORE, answers)

    async def take_over(self, key: str, seen: FunctionCallRow, owner: str, lease_until: datetime) -> bool:
        """Compare-and-set on the claim as `seen`: False if another attempt changed it first."""
        result = await self.session.execute(update(FunctionCallRow).where(
            FunctionCallRow.key == key, FunctionCallRow.status == seen.status,
            FunctionCallRow.lease_until == seen.lease_until,
            (FunctionCallRow.owner == seen.owner) if seen.owner is not None else FunctionCallRow.owner.is_(None),
        ).values(status="in_progress", response=None, owner=owner, lease_until=lease_until))
        return bool(result.rowcount)  # type: ignore[attr-defined]


# Retention: (table, its key, the column that dates a row). Keys are read first and deleted by
# key, a batch at a time: MariaDB refuses LIMIT inside an IN subquery, and a DELETE bounded by the
# keys it names holds its row locks only for those rows.
_CALL_EVENTS = cast(Table, CallEventRow.__table__)
_CALL_ROWS = cast(Table, CallRow.__table__)
PRUNABLE: dict[str, tuple[Table, str, str]] = {
    "function_calls": (_FUNCTION_CALLS, "key", "created_at"),
    "call_events": (_CALL_EVENTS, "id", "received_at"),
    "calls": (_CALL_ROWS, "call_id", "updated_at"),
}


@cache
def _stale_keys(table_name: str, batch: int) -> Any:
    table, key, dated = PRUNABLE[table_name]
    query = select(table.c[key]).where(table.c[dated] < bindparam("cutoff"))
    if table_name == "function_calls":
        # A claim still leased belongs to a request being answered: never pulled from under it.
        query = query.where(table.c.lease_until < bindparam("now"))
    return query.order_by(table.c[dated]).limit(batch)


class RetentionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def delete_older(self, table_name: str, cutoff: datetime, now: datetime, batch: int) -> int:
        """Delete up to `batch` rows of the table dated before `cutoff` (naive UTC); the count deleted."""
        table, key, _ = PRUNABLE[table_name]
        keys = list(await self.session.scalars(_stale_keys(table_name, batch), {"cutoff": cutoff, "now": now}))
        if not keys:
            return 0
        result = await self.session.execute(table.delete().where(table.c[key].in_(keys)))
        return int(result.rowcount)  # type: ignore[attr-defined]
