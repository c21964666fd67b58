"""In-memory stand-ins for the adapters the service layer's `Core` protocol names.

A fake unit of work works on a copy of the shared tables and publishes it on commit, so a failed
transaction leaves nothing behind, as a real one would. Each fake keeps its state where a test can
read it: `FakeDatabase.appointments`, `FakeCalcom.bookings`.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from booking_core.adapters.calcom import (
    CalcomBooking,
    CalcomOutcomeUnknown,
    CalcomSlotTaken,
    CalcomUnreachable,
)
from booking_core.adapters.locks import LockBusy
from booking_core.adapters.repository import AppointmentRepository
from booking_core.config import Settings
from booking_core.domain.model import (
    TRANSITIONS,
    AppointmentStatus,
    OpeningHours,
    Service,
    Slot,
    to_utc_naive,
)

HOLDING = (AppointmentStatus.PENDING.value, AppointmentStatus.CONFIRMED.value)
SERVICE = Service(1, "Damenschnitt", 60, Decimal("45"), "host:101", 2)


@dataclass
class Appointment:
    """The columns of an appointments row that the service layer reads and writes."""

    id: str
    service_id: int
    customer_id: int | None
    resource: str
    start_at: datetime
    end_at: datetime
    status: str
    sync_status: str
    idempotency_key: str | None = None
    call_id: str | None = None
    customer_phone: str | None = None
    calcom_uid: str | None = None
    confirmed_start: datetime | None = None
    rescheduled_from_id: str | None = None
    closed_by_key: str | None = None
    absent_checks: int = 0
    recheck_at: datetime | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))


@dataclass
class Customer:
    id: int
    phone: str
    name: str


@dataclass
class ServiceRecord:
    id: int
    name: str


@dataclass
class Tables:
    appointments: dict[str, Appointment] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    services: dict[int, ServiceRecord] = field(default_factory=lambda: {SERVICE.id: ServiceRecord(SERVICE.id, SERVICE.name)})


def _db_error(step: str) -> OperationalError:
    return OperationalError(step, {}, Exception(f"injected: database lost at {step}"))


class FakeDatabase:
    """The committed state, plus the steps at which the next transactions fail."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.failing: set[str] = set()  # repository method names that raise a database error

    @property
    def appointments(self) -> dict[str, Appointment]:
        return self.tables.appointments

    def check(self, step: str) -> None:
        if step in self.failing:
            raise _db_error(step)

    def add(self, **values: Any) -> Appointment:
        row = Appointment(**values)
        self.tables.appointments[row.id] = row
        return row


class FakeAppointments:
    def __init__(self, db: FakeDatabase, tables: Tables) -> None:
        self._db, self._tables = db, tables

    @property
    def _rows(self) -> dict[str, Appointment]:
        return self._tables.appointments

    async def get(self, appointment_id: str, *, for_update: bool = False) -> Appointment | None:
        self._db.check("get")
        return self._rows.get(appointment_id)

    async def by_idempotency_key(self, key: str) -> Appointment | None:
        return next((row for row in self._rows.values() if row.idempotency_key == key), None)

    def _overlapping(self, slot: Slot, statuses: Iterable[str], excluded: Iterable[str]) -> Appointment | None:
        start, end = to_utc_naive(slot.start), to_utc_naive(slot.end)
        return next((row for row in self._rows.values()
                     if row.resource == slot.resource and row.status in statuses and row.id not in excluded
                     and row.start_at < end and row.end_at > start), None)

    async def is_held(self, slot: Slot, *, exclude_id: str | None = None) -> bool:
        return self._overlapping(slot, HOLDING, [exclude_id] if exclude_id else []) is not None

    async def confirmed_clash(self, slot: Slot, *, exclude_ids: tuple[str, ...]) -> str | None:
        clash = self._overlapping(slot, (AppointmentStatus.CONFIRMED.value,), exclude_ids)
        return clash.id if clash else None

    async def add_intent(self, **values: Any) -> None:
        self._db.check("add_intent")
        if any(row.idempotency_key == values["idempotency_key"] for row in self._rows.values()):
            raise IntegrityError("INSERT INTO appointments", {}, Exception("duplicate idempotency_key"))
        self._rows[values["id"]] = Appointment(**values)

    async def transition(self, appointment_id: str, to: AppointmentStatus, *, expected: Mapping[str, Any],
                         **values: Any) -> bool:
        """The same compare-and-set as the repository's, on the in-memory row."""
        wanted = expected["status"]
        statuses = (wanted,) if isinstance(wanted, str) else tuple(wanted)
        allowed = [status for status in statuses if to in TRANSITIONS[AppointmentStatus(status)]]
        row = self._rows.get(appointment_id)
        if row is None or row.status not in allowed:
            return False
        if any(getattr(row, name) != value for name, value in expected.items() if name != "status"):
            return False
        row.status = to.value
        if to != AppointmentStatus.CONFIRMED:
            values.setdefault("confirmed_start", None)
        for name, value in values.items():
            setattr(row, name, row.start_at if value is True else value)  # True: the row's own start
        return True

    async def confirm(self, appointment_id: str, calcom_uid: str) -> bool:
        self._db.check("confirm")
        confirmable = tuple(s.value for s, targets in TRANSITIONS.items() if AppointmentStatus.CONFIRMED in targets)
        return await self.transition(appointment_id, AppointmentStatus.CONFIRMED, expected={"status": confirmable},
                                     confirmed_start=True, calcom_uid=calcom_uid, sync_status="in_sync")

    # The repository's own wrapper: it only builds the expected state and calls transition().
    move = AppointmentRepository.move

    async def set_sync_status(self, appointment_id: str, status: AppointmentStatus, sync_status: str) -> bool:
        row = self._rows.get(appointment_id)
        if row is None or row.status != status.value:
            return False
        row.sync_status = sync_status
        return True

    async def compare_and_set(self, appointment_id: str, expected: Mapping[str, Any], **values: Any) -> bool:
        assert "status" not in values, "status changes go through transition()"
        self._db.check("compare_and_set")
        row = self._rows.get(appointment_id)
        if row is None or any(getattr(row, name) != value for name, value in expected.items()):
            return False
        for name, value in values.items():
            setattr(row, name, value)
        return True

    async def upcoming_for_phone(self, phone: str, after: datetime) -> list[Appointment]:
        return sorted((row for row in self._rows.values() if row.customer_phone == phone
                       and row.status == AppointmentStatus.CONFIRMED.value and row.end_at > after),
                      key=lambda row: row.start_at)

    async def closed_by(self, key: str) -> Appointment | None:
        return next((row for row in self._rows.values() if row.closed_by_key == key), None)

    async def busy_between(self, resource: str, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
        return [(row.id, row.start_at, row.end_at) for row in self._rows.values()
                if row.resource == resource and row.status in HOLDING and row.start_at < end and row.end_at > start]


class FakeCustomers:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def ensure(self, phone: str, name: str) -> int:
        found = self._tables.customers.get(phone)
        if found is None:
            found = self._tables.customers[phone] = Customer(len(self._tables.customers) + 1, phone, name)
        elif name:
            found.name = name
        return found.id

    async def by_phone(self, phone: str) -> Customer | None:
        return self._tables.customers.get(phone)


class FakeServices:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def get(self, service_id: int) -> ServiceRecord | None:
        return self._tables.services.get(service_id)

    async def all(self) -> list[ServiceRecord]:
        return list(self._tables.services.values())


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    async def __aenter__(self) -> FakeUnitOfWork:
        self._db.check("begin")
        self._work = copy.deepcopy(self._db.tables)
        self.appointments = FakeAppointments(self._db, self._work)
        self.customers = FakeCustomers(self._work)
        self.services = FakeServices(self._work)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        return None  # what was not committed is dropped with the copy

    async def commit(self) -> None:
        self._db.check("commit")
        self._db.tables = copy.deepcopy(self._work)  # later writes in this unit need another commit

    async def rollback(self) -> None:
        self._work = copy.deepcopy(self._db.tables)


class FakeCalcom:
    """Cal.com's bookings in a dict. `create_outcome`: "ok", "taken", "unreachable", or "lost" (booked,
    but the answer never arrives). `cancel_failures`: how many cancels fail before one works."""

    def __init__(self) -> None:
        self.bookings: dict[str, CalcomBooking] = {}
        self.create_outcome = "ok"
        self.lookup_finds = True  # False: the lookup after a lost answer sees nothing (yet)
        self.cancel_failures = 0
        self.cancels: list[str] = []
        self._uids = (f"uid-{n}" for n in itertools.count(1))

    def add(self, start: datetime, length_min: int, metadata: dict[str, str], **raw: Any) -> CalcomBooking:
        uid = next(self._uids)
        booking = CalcomBooking(uid=uid, status="accepted", start=start.astimezone(UTC).isoformat(),
                                end=(start + timedelta(minutes=length_min)).astimezone(UTC).isoformat(),
                                event_type_id=SERVICE.calcom_event_type_id, metadata=dict(metadata), raw=dict(raw))
        self.bookings[uid] = booking
        return booking

    def active(self) -> list[CalcomBooking]:
        return [booking for booking in self.bookings.values() if booking.active]

    async def create_booking(self, *, event_type_id: int, start: datetime, length_min: int | None,
                             attendee: dict[str, Any], metadata: dict[str, str],
                             timeout_s: float | None = None) -> CalcomBooking:
        if self.create_outcome == "taken":
            raise CalcomSlotTaken(409, "User either already has booking at this time or is not available")
        if self.create_outcome == "unreachable":
            raise CalcomUnreachable("connection refused")
        booking = self.add(start, length_min or SERVICE.duration_min, metadata)
        if self.create_outcome == "lost":
            raise CalcomOutcomeUnknown("read timeout: the booking may exist")
        return booking

    async def find_by_metadata(self, key: str, value: str, *, event_type_id: int | None,
                               after_start: datetime, before_end: datetime,
                               timeout_s: float | None = None) -> CalcomBooking | None:
        if not self.lookup_finds:
            return None
        return next((b for b in self.bookings.values() if str(b.metadata.get(key)) == value), None)

    async def list_bookings(self, **_filters: Any) -> list[CalcomBooking]:
        return list(self.bookings.values())

    async def cancel_booking(self, uid: str, reason: str, timeout_s: float | None = None) -> None:
        if self.cancel_failures > 0:
            self.cancel_failures -= 1
            raise CalcomUnreachable("connection reset")
        self.cancels.append(uid)
        self.bookings[uid] = dataclasses.replace(self.bookings[uid], status="cancelled")

    async def reschedule_booking(self, uid: str, start: datetime, reason: str,
                                 timeout_s: float | None = None) -> CalcomBooking:
        old = self.bookings[uid]
        self.bookings[uid] = dataclasses.replace(old, status="cancelled")
        return self.add(start, SERVICE.duration_min, old.metadata, rescheduledFromUid=uid)

    def patient(self, timeout_s: float) -> FakeCalcom:
        return self


class FakeLock:
    """One holder per key; `busy` makes every hold find the slot's lock taken."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.busy = False

    @asynccontextmanager
    async def hold(self, keys: list[str], on_busy: Callable[[], Coroutine[Any, Any, None]] | None = None
                   ) -> AsyncIterator[None]:
        if self.busy or self.held & set(keys):
            if on_busy is not None:
                await on_busy()
            raise LockBusy(keys[0])
        self.held |= set(keys)
        try:
            yield
        finally:
            self.held -= set(keys)

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


class FakeSlots:
    """Cal.com's free starts: every full hour of the requested range, as the salon's grid."""

    def __init__(self) -> None:
        self.forgotten: list[datetime | None] = []

    async def slots(self, event_type_id: int, start: datetime, end: datetime, time_zone: str,
                    timeout_s: float | None = None) -> list[datetime]:
        hours = int((end - start).total_seconds() // 3600)
        return [start + timedelta(hours=n) for n in range(hours)]

    def forget(self, moment: datetime | None = None) -> None:
        self.forgotten.append(moment)


class FakeCatalog:
    async def resolve(self, text: str | None, **_options: Any) -> Service:
        return SERVICE

    async def by_name(self, name: str) -> Service | None:
        return SERVICE if name == SERVICE.name else None


@dataclass
class FakeCore:
    """Something of the service layer's `Core` shape, wired with the fakes above."""

    settings: Settings
    db: FakeDatabase = field(default_factory=FakeDatabase)
    calcom: FakeCalcom = field(default_factory=FakeCalcom)
    lock: FakeLock = field(default_factory=FakeLock)
    slots: FakeSlots = field(default_factory=FakeSlots)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    answers_to_store: list[tuple[str, str, str, Any]] = field(default_factory=list)
    spawned: list[Coroutine[Any, Any, Any]] = field(default_factory=list)

    @property
    def hours(self) -> OpeningHours:
        return OpeningHours(self.settings.opening_time, self.settings.closing_time,
                            frozenset(self.settings.opening_days))

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Background work waits until the test runs it (run_background), or is dropped."""
        self.spawned.append(coro)

    async def run_background(self) -> list[Any]:
        work, self.spawned = self.spawned, []
        return list(await asyncio.gather(*work))

    def drop_background(self) -> None:
        for coro in self.spawned:
            coro.close()
        self.spawned = []
