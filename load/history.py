"""A salon's history in the core's database, for `make bench`'s history shape.

Written straight into the tables (PostgreSQL: COPY through asyncpg with the big tables' indexes
dropped and rebuilt afterwards, a sort instead of millions of random B-tree inserts; SQLite: one
executemany per table), fast enough for millions of rows:

* past appointments laid back to back on each stylist's half-hours (no overlaps: the PostgreSQL
  exclusion constraint holds), mostly confirmed, some cancelled or failed, reaching back years;
* upcoming appointments on every other half-hour from tomorrow; on the stylists the benchmark books
  only before BOOKINGS_FROM_DAY, so its bookings never meet them (its checks do);
* function-call records (Retell's stored answers) and call events (with their call rows), all
  inside the retention age, so the core's periodic prune leaves them in place during the run;
* the services and stylists: what the core synced from Cal.com plus retired services (inactive,
  so the matcher's catalog stays the salon's) and further stylists, up to the size asked for.

The core has started (migrated, services synced) and is idle while this runs.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

SLOT = timedelta(minutes=30)
SLOTS_PER_DAY = 18  # 08:00–17:00 UTC, inside the salon's 9–18 h in winter
FIRST_SLOT_UTC = timedelta(hours=8)
RECENT = timedelta(days=29)  # inside the 30-day retention age
CALLS_PER_CUSTOMER = 20
FUNCTION_CALLS_PER_CALL = 4
EVENTS = ("call_started", "call_ended", "call_analyzed")
_ANSWER = json.dumps({"success": True, "error": None, "message": "Ihr Termin ist gebucht: Dienstag, 3. Dezember "
                      "um 14:30 Uhr, Damenschnitt. Bis dann!", "data": {
                          "appointment_id": "00000000-0000-0000-0000-000000000000",
                          "start": "2026-12-03T14:30:00+01:00", "service": "Damenschnitt"}}, ensure_ascii=False)


@dataclass(frozen=True)
class HistorySize:
    """The issue's PostgreSQL shape; SQLite gets a tenth (`scaled(0.1)`)."""

    past: int = 1_000_000
    upcoming: int = 20_000
    stylists: int = 30
    services: int = 200
    function_calls: int = 5_000_000
    call_events: int = 2_000_000

    def scaled(self, factor: float) -> HistorySize:
        """Row counts times `factor` (at least one each); stylists and services stay."""
        return replace(self, **{f.name: max(1, round(getattr(self, f.name) * factor)) for f in fields(self)
                                if f.name not in ("stylists", "services")})


@dataclass
class Existing:
    """What the core already holds: its services (id, resource)."""

    services: list[tuple[int, str]]


def _key(prefix: str, i: int) -> str:
    return hashlib.blake2b(f"{prefix}{i}".encode(), digest_size=32).hexdigest()


def stylists(existing: Existing, count: int) -> list[str]:
    known = sorted({resource for _, resource in existing.services})
    return known + [f"host:{9000 + i}" for i in range(max(0, count - len(known)))]


def retired_services(existing: Existing, size: HistorySize, resources: list[str]) -> list[dict[str, Any]]:
    missing = max(0, size.services - len(existing.services))
    return [{"name": f"Frühere Leistung {i + 1:03d}", "aliases": "[]", "duration_min": 30, "price_eur": None,
             "calcom_event_type_id": None, "resource": resources[i % len(resources)], "active": False}
            for i in range(missing)]


def _slot_start(day: date, slot: int) -> datetime:
    return datetime(day.year, day.month, day.day) + FIRST_SLOT_UTC + slot * SLOT


def appointments(size: HistorySize, resources: list[str], service_ids: list[int], customers: range,
                 today: date, protected: set[str], free_from_day: int) -> Iterator[tuple[Any, ...]]:
    """Rows in APPOINTMENT_COLUMNS order: past ones back to back, then upcoming ones, each for one
    of the customer ids in `customers`."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for i in range(size.past):
        resource = resources[i % len(resources)]
        k = i // len(resources)
        start = _slot_start(today - timedelta(days=1 + k // SLOTS_PER_DAY), k % SLOTS_PER_DAY)
        roll = i % 100
        status = "confirmed" if roll < 85 else ("cancelled" if roll < 97 else "failed")
        yield _appointment(f"past{i}", i, resource, start, status, service_ids, customers, start - timedelta(days=3))
    free = [r for r in resources if r not in protected]
    if size.upcoming and not free:
        raise ValueError("every stylist is one the benchmark books: ask for more stylists")
    placed = {r: 0 for r in resources}
    for i in range(size.upcoming):
        # The benchmark's stylists take a share of the upcoming ones until the day its bookings start.
        resource = resources[i % len(resources)]
        k = placed[resource]
        day = 1 + k // (SLOTS_PER_DAY // 2)
        if resource in protected and day >= free_from_day:
            resource = free[i % len(free)]
            k = placed[resource]
            day = 1 + k // (SLOTS_PER_DAY // 2)
        placed[resource] += 1
        start = _slot_start(today + timedelta(days=day), 2 * (k % (SLOTS_PER_DAY // 2)))
        yield _appointment(f"next{i}", size.past + i, resource, start, "confirmed", service_ids, customers,
                           now - timedelta(days=k % 60))


def _appointment(tag: str, i: int, resource: str, start: datetime, status: str, service_ids: list[int],
                 customers: range, created: datetime) -> tuple[Any, ...]:
    customer = customers[i % len(customers)]
    return (str(uuid.UUID(int=int(_key(tag, i)[:32], 16))), service_ids[i % len(service_ids)], customer, resource,
            start, start + SLOT, status, start if status == "confirmed" else None, f"hist_{i:x}", "in_sync",
            _key(tag, i), f"call_hist_{i // 2:x}", _phone(customer), None, created, created)


APPOINTMENT_COLUMNS = ("id", "service_id", "customer_id", "resource", "start_at", "end_at", "status",
                       "confirmed_start", "calcom_uid", "sync_status", "idempotency_key", "call_id",
                       "customer_phone", "rescheduled_from_id", "created_at", "updated_at")
CUSTOMER_COLUMNS = ("id", "phone", "name", "created_at")
FUNCTION_CALL_COLUMNS = ("key", "call_id", "name", "status", "response", "lease_until", "created_at")
CALL_EVENT_COLUMNS = ("id", "call_id", "event", "payload", "received_at")
CALL_COLUMNS = ("call_id", "agent_id", "from_number", "to_number", "status", "call", "updated_at")


def _phone(customer: int) -> str:
    return f"+49170{customer:08d}"


def customers(ids: range) -> Iterator[tuple[Any, ...]]:
    created = datetime(2020, 1, 1)
    for i in ids:
        yield i, _phone(i), f"Kundin {i}", created


def _recent(i: int, count: int, now: datetime) -> datetime:
    """Evenly over the last 29 days, oldest first."""
    return now - RECENT + RECENT * (i / max(1, count))


def function_calls(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    names = ("book_appointment", "cancel_appointment", "reschedule_appointment", "book_appointment")
    for i in range(count):
        at = _recent(i, count, now)
        yield (_key("fc", i), f"call_{i // FUNCTION_CALLS_PER_CALL:x}", names[i % 4], "done", _ANSWER,
               at + timedelta(seconds=10), at)


def call_events(count: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    for i in range(count):
        call_id = f"call_{i // len(EVENTS):x}"
        yield (i + 1, call_id, EVENTS[i % len(EVENTS)],
               f'{{"event": "{EVENTS[i % len(EVENTS)]}", "call": {{"call_id": "{call_id}", "agent_id": "agent_salon",'
               f' "from_number": "+4915100000000", "to_number": "+4930123456", "call_status": "ended"}}}}',
               _recent(i, count, now))


def calls(events: int, now: datetime) -> Iterator[tuple[Any, ...]]:
    count = -(-events // len(EVENTS))
    for i in range(count):
        call_id = f"call_{i:x}"
        yield (call_id, "agent_salon", "+4915100000000", "+4930123456", "analyzed",
               f'{{"call_id": "{call_id}", "call_status": "ended"}}', _recent(i * len(EVENTS), events, now))


@dataclass
class FillReport:
    rows: dict[str, int]
    seconds: float
    stylists: int
    services: int

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "seconds": round(self.seconds, 1), "stylists": self.stylists,
                "services": self.services}


def _plan(existing: Existing, size: HistorySize) -> tuple[list[str], list[dict[str, Any]], int]:
    resources = stylists(existing, size.stylists)
    return resources, retired_services(existing, size, resources), max(1, size.past // CALLS_PER_CUSTOMER)


async def fill(database_url: str, size: HistorySize, bench_services: set[str], free_from_day: int) -> FillReport:
    """Write the history into the core's database (PostgreSQL or SQLite, migrated, services synced).
    The stylists of `bench_services` get no upcoming appointment from `free_from_day` on."""
    started = time.perf_counter()
    if database_url.startswith("postgresql"):
        rows, found = await _fill_postgres(database_url, size, bench_services, free_from_day)
    elif database_url.startswith("sqlite"):
        rows, found = _fill_sqlite(database_url, size, bench_services, free_from_day)
    else:
        raise ValueError(f"history fill supports PostgreSQL and SQLite, not {database_url.split(':')[0]}")
    return FillReport(rows, time.perf_counter() - started, found[0], found[1])


def _sqlite_path(url: str) -> str:
    return url.split(":///", 1)[1]


def _fill_sqlite(url: str, size: HistorySize, bench_services: set[str], free_from_day: int) -> tuple[
        dict[str, int], tuple[int, int]]:
    connection = sqlite3.connect(_sqlite_path(url), timeout=30, isolation_level=None)
    try:
        found = list(connection.execute("SELECT id, resource, name FROM services"))
        existing = Existing([(r[0], r[1]) for r in found])
        protected = {r[1] for r in found if r[2] in bench_services}
        resources, retired, customer_count = _plan(existing, size)
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO services (name, aliases, duration_min, price_eur, calcom_event_type_id, resource, active) "
            "VALUES (:name, :aliases, :duration_min, :price_eur, :calcom_event_type_id, :resource, :active)", retired)
        connection.execute("COMMIT")
        service_ids = [r[0] for r in connection.execute("SELECT id FROM services ORDER BY id")]
        now = datetime.now(UTC).replace(tzinfo=None)
        rows: dict[str, int] = {}
        first = int(connection.execute("SELECT coalesce(max(id), 0) FROM customers").fetchone()[0]) + 1
        ids = range(first, first + customer_count)
        plan: list[tuple[str, tuple[str, ...], Iterable[tuple[Any, ...]]]] = [
            ("customers", CUSTOMER_COLUMNS, customers(ids)),
            ("appointments", APPOINTMENT_COLUMNS,
             appointments(size, resources, service_ids, ids, date.today(), protected, free_from_day)),
            ("function_calls", FUNCTION_CALL_COLUMNS, function_calls(size.function_calls, now)),
            ("call_events", CALL_EVENT_COLUMNS, call_events(size.call_events, now)),
            ("calls", CALL_COLUMNS, calls(size.call_events, now)),
        ]
        for table, columns, source in plan:
            marks = ", ".join("?" for _ in columns)
            connection.execute("BEGIN")
            cursor = connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                            (tuple(_sqlite_value(v) for v in row) for row in source))
            rows[table] = cursor.rowcount
            connection.execute("COMMIT")
        connection.execute("ANALYZE")
        return rows, (len(resources), len(service_ids))
    finally:
        connection.close()


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy stores SQLite datetimes as text with microseconds.
    return value.isoformat(sep=" ", timespec="microseconds") if isinstance(value, datetime) else value


async def _fill_postgres(url: str, size: HistorySize, bench_services: set[str], free_from_day: int) -> tuple[
        dict[str, int], tuple[int, int]]:
    import asyncpg

    parts = urlsplit(url)
    connection = await asyncpg.connect(f"postgresql://{parts.netloc}{parts.path}")
    try:
        # Index builds after the COPY sort in memory; the exclusion constraint's GiST build over a
        # million ranges took minutes with the default 64 MB.
        await connection.execute("SET maintenance_work_mem = '1GB'")
        found = await connection.fetch("SELECT id, resource, name FROM services")
        existing = Existing([(r["id"], r["resource"]) for r in found])
        protected = {r["resource"] for r in found if r["name"] in bench_services}
        resources, retired, customer_count = _plan(existing, size)
        await connection.executemany(
            "INSERT INTO services (name, aliases, duration_min, price_eur, calcom_event_type_id, resource, active) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)", [tuple(s.values()) for s in retired])
        service_ids = [r["id"] for r in await connection.fetch("SELECT id FROM services ORDER BY id")]
        first = int(await connection.fetchval("SELECT coalesce(max(id), 0) FROM customers")) + 1
        ids = range(first, first + customer_count)
        now = datetime.now(UTC).replace(tzinfo=None)
        plan: list[tuple[str, tuple[str, ...], Iterable[tuple[Any, ...]]]] = [
            ("customers", CUSTOMER_COLUMNS, customers(ids)),
            ("appointments", APPOINTMENT_COLUMNS,
             appointments(size, resources, service_ids, ids, date.today(), protected, free_from_day)),
            ("function_calls", FUNCTION_CALL_COLUMNS, function_calls(size.function_calls, now)),
            ("call_events", CALL_EVENT_COLUMNS, call_events(size.call_events, now)),
            ("calls", CALL_COLUMNS, calls(size.call_events, now)),
        ]
        rows: dict[str, int] = {}
        for table, columns, source in plan:
            began = time.perf_counter()
            # The big tables are rebuilt (a sort per index); customers is referenced by a foreign key.
            # Kept during the COPY, the exclusion constraint's GiST index took longer still.
            rebuild = await _drop_indexes(connection, table) if table != "customers" else []
            written = 0
            for chunk in _chunks(source, 50_000):
                await connection.copy_records_to_table(table, records=chunk, columns=list(columns))
                written += len(chunk)
            rows[table] = written
            copied = time.perf_counter()
            for statement in rebuild:
                await connection.execute(statement)
            # The slowest step is adding the exclusion constraint back: one overlap probe per
            # confirmed appointment.
            print(f"history: {table}: {written:,} rows copied in {copied - began:.0f} s, indexes and constraints "
                  f"built in {time.perf_counter() - copied:.0f} s", flush=True)
        for table, column in (("customers", "id"), ("call_events", "id")):
            # COPY wrote the ids: the sequences must continue after them.
            await connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                                     f"(SELECT coalesce(max({column}), 1) FROM {table}))")
        await connection.execute("ANALYZE")
        return rows, (len(resources), len(service_ids))
    finally:
        await connection.close()


def _chunks(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _drop_indexes(connection: Any, table: str) -> list[str]:
    """Drop the table's indexes and the constraints that own one (primary key, unique, exclusion);
    return the statements that build them again, from PostgreSQL's own definitions."""
    owned = await connection.fetch("SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
                                   "WHERE conrelid = $1::regclass AND contype IN ('p', 'u', 'x')", table)
    names = {c["conname"] for c in owned}
    plain = [i for i in await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1", table)
        if i["indexname"] not in names]
    for c in owned:
        await connection.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{c["conname"]}"')
    for i in plain:
        await connection.execute(f'DROP INDEX "{i["indexname"]}"')
    return ([f'ALTER TABLE {table} ADD CONSTRAINT "{c["conname"]}" {c["definition"]}' for c in owned]
            + [i["indexdef"] for i in plain])
