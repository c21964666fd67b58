"""The invariant checker: orphans, double bookings, ghosts and truthfulness.

It compares Cal.com's own record (mock ledger or the real API) with the core's appointments table
and, when given the harness's record of a run, with what callers were told. It is the operators'
SQL checks, done across both systems.

* orphan: an active Cal.com booking made by us (metadata.appointment_id) whose row isn't confirmed
* double booking: overlapping active bookings of one host at Cal.com (and, from the ledger history,
  two that were accepted at the same moment), or overlapping confirmed rows of one resource
* ghost: a confirmed row whose Cal.com booking is not accepted (the caller would arrive to nothing)
* truthfulness: every "gebucht" is backed by an active booking at the end, and no call that was
  told it failed has an active booking
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx

from harness.appointments_db import Appointment, fetch_appointments
from harness.calcom_listing import CalBooking, fetch_bookings
from harness.results import CallRecord, Violation

CHANGING = ("book_appointment", "reschedule_appointment")
# "Der Termin ist nicht gebucht." is a refusal; only an unnegated "gebucht" claims a booking.
_CLAIMS_BOOKED = re.compile(r"(?<!nicht )(?<!nichts )\bgebucht\b", re.IGNORECASE)


def claims_booked(message: str | None) -> bool:
    return bool(message and _CLAIMS_BOOKED.search(message))


@dataclass
class Snapshot:
    bookings: list[CalBooking]
    source: str
    appointments: list[Appointment] | None  # None: no DB access (webhook given by URL only)


async def take_snapshot(calcom_url: str, api_key: str, database_url: str | None,
                        client: httpx.AsyncClient | None = None) -> Snapshot:
    if client is None:
        async with httpx.AsyncClient() as own:
            bookings, source = await fetch_bookings(own, calcom_url, api_key)
    else:
        bookings, source = await fetch_bookings(client, calcom_url, api_key)
    appointments = await fetch_appointments(database_url) if database_url else None
    return Snapshot(bookings, source, appointments)


T = TypeVar("T")


def _overlapping_pairs(items: Iterable[T], resource: Any, start: Any, end: Any) -> list[tuple[T, T]]:
    by_resource: dict[str, list[T]] = defaultdict(list)
    for item in items:
        by_resource[resource(item)].append(item)
    pairs = []
    for group in by_resource.values():
        group.sort(key=start)
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                if start(second) >= end(first):
                    break
                pairs.append((first, second))
    return pairs


def _local(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _held_by(snapshot: Snapshot) -> dict[str, str]:
    """Cal.com uid → id of the confirmed row holding it. A booking moved with Cal.com's reschedule
    endpoint keeps the old booking's metadata (its `appointment_id` names the row moved away from),
    so the row that holds its uid is the one it belongs to."""
    return {a.calcom_uid: a.id for a in snapshot.appointments or [] if a.confirmed and a.calcom_uid}


def _appointment_of(booking: CalBooking, held_by: dict[str, str]) -> str | None:
    return held_by.get(booking.uid, booking.appointment_id)


def orphans(snapshot: Snapshot) -> list[Violation]:
    if snapshot.appointments is None:
        return []
    rows = {a.id: a for a in snapshot.appointments}
    held_by = _held_by(snapshot)
    found = []
    for booking in snapshot.bookings:
        if not booking.active or not booking.appointment_id:
            continue
        row = rows.get(_appointment_of(booking, held_by) or "")
        if row is None or not row.confirmed:
            state = "no row" if row is None else f"row status {row.status}"
            found.append(Violation(
                invariant="orphans", key=f"orphan:{booking.uid}",
                detail=f"Cal.com booking {booking.uid} ({booking.host}, {_local(booking.start)}) is active "
                       f"but appointment {booking.appointment_id} has {state}",
                call_ids=[booking.call_id] if booking.call_id else [],
                data={"uid": booking.uid, "appointment_id": booking.appointment_id}))
    return found


def _linked(a: CalBooking, b: CalBooking) -> bool:
    """A reschedule replaces one booking with another; the two are one appointment, not a double."""
    return a.rescheduled_to == b.uid or b.rescheduled_to == a.uid or a.rescheduled_from == b.uid \
        or b.rescheduled_from == a.uid


def _spans_meet(a: CalBooking, b: CalBooking) -> bool:
    for a_from, a_until in a.accepted_spans():
        for b_from, b_until in b.accepted_spans():
            if (a_until is None or b_from < a_until) and (b_until is None or a_from < b_until):
                return True
    return False


def calcom_double_bookings(bookings: Sequence[CalBooking]) -> list[Violation]:
    found = []
    candidates = [b for b in bookings if b.active or b.history]
    for a, b in _overlapping_pairs(candidates, lambda x: x.host, lambda x: x.start, lambda x: x.end):
        if _linked(a, b):
            continue
        both_now = a.active and b.active
        if not both_now and not (a.history and b.history and _spans_meet(a, b)):
            continue
        kind = "active" if both_now else "transient (both accepted at one moment, one cancelled since)"
        found.append(Violation(
            invariant="double_bookings", key=f"double:calcom:{min(a.uid, b.uid)}|{max(a.uid, b.uid)}",
            detail=f"Cal.com double booking of {a.host}: {a.uid} {_local(a.start)}–{_local(a.end)} and "
                   f"{b.uid} {_local(b.start)}–{_local(b.end)}, {kind}",
            call_ids=[c for c in (a.call_id, b.call_id) if c],
            data={"side": "calcom", "transient": not both_now, "uids": [a.uid, b.uid]}))
    return found


def db_double_bookings(appointments: Sequence[Appointment]) -> list[Violation]:
    confirmed = [a for a in appointments if a.confirmed]
    return [
        Violation(
            invariant="double_bookings", key=f"double:db:{min(a.id, b.id)}|{max(a.id, b.id)}",
            detail=f"DB double booking of {a.resource}: {a.id} {_local(a.start)}–{_local(a.end)} and "
                   f"{b.id} {_local(b.start)}–{_local(b.end)}, both confirmed",
            call_ids=[c for c in (a.call_id, b.call_id) if c],
            data={"side": "db", "ids": [a.id, b.id]})
        for a, b in _overlapping_pairs(confirmed, lambda x: x.resource, lambda x: x.start, lambda x: x.end)
    ]


def ghosts(snapshot: Snapshot) -> list[Violation]:
    if snapshot.appointments is None:
        return []
    by_uid = {b.uid: b for b in snapshot.bookings}
    found = []
    for row in snapshot.appointments:
        if not row.confirmed:
            continue
        booking = by_uid.get(row.calcom_uid or "")
        if booking is None or not booking.active:
            state = "no Cal.com uid" if not row.calcom_uid else (
                "missing at Cal.com" if booking is None else f"{booking.status} at Cal.com")
            found.append(Violation(
                invariant="ghosts", key=f"ghost:{row.id}",
                detail=f"appointment {row.id} ({row.resource}, {_local(row.start)}) is confirmed but its booking "
                       f"{row.calcom_uid or '–'} is {state}",
                call_ids=[row.call_id] if row.call_id else [], data={"appointment_id": row.id}))
    return found


def _told(calls: Sequence[CallRecord]) -> tuple[dict[str, str], list[Violation]]:
    """Appointments callers were told are booked (and not since cancelled/moved): id → call_id."""
    active: dict[str, tuple[str, str | None]] = {}
    found = []
    for call in calls:
        for f in call.functions:
            if f.success and f.name in CHANGING and claims_booked(f.message):
                if f.name == "reschedule_appointment":
                    old_id = f.data.get("old_appointment_id")
                    if old_id is not None:
                        active.pop(str(old_id), None)
                    else:  # an older core: the moved appointment is known only by its start, per caller
                        old = f.data.get("old_start")
                        for key in [k for k, (cid, start) in active.items()
                                    if start == old and cid == call.call_id]:
                            del active[key]
                active[str(f.data.get("appointment_id"))] = (call.call_id, f.data.get("start"))
            elif f.success and f.name == "cancel_appointment":
                active.pop(str(f.data.get("appointment_id")), None)
            elif not f.success and claims_booked(f.message):
                found.append(Violation(
                    invariant="truthfulness", key=f"truth:claim:{call.call_id}:{f.name}",
                    detail=f"{f.name} failed ({f.error}) yet the caller heard \"gebucht\": {f.message!r}",
                    call_ids=[call.call_id]))
    return {k: call_id for k, (call_id, _) in active.items()}, found


def truthfulness(calls: Sequence[CallRecord], snapshot: Snapshot) -> list[Violation]:
    told, found = _told(calls)
    held_by = _held_by(snapshot)
    accepted_by_id = {_appointment_of(b, held_by) for b in snapshot.bookings if b.active and b.appointment_id}
    rows = {a.id: a for a in snapshot.appointments or []}
    for appointment_id, call_id in told.items():
        row = rows.get(appointment_id)
        backed = appointment_id in accepted_by_id and (snapshot.appointments is None or (row and row.confirmed))
        if not backed:
            found.append(Violation(
                invariant="truthfulness", key=f"truth:told:{appointment_id}",
                detail=f"caller of {call_id} was told \"gebucht\" but appointment {appointment_id} is not active "
                       f"(Cal.com accepted: {appointment_id in accepted_by_id}, "
                       f"DB: {row.status if row else 'no row'})",
                call_ids=[call_id]))
    call_ids = {c.call_id for c in calls}
    for booking in snapshot.bookings:
        if booking.active and booking.call_id in call_ids and _appointment_of(booking, held_by) not in told:
            found.append(Violation(
                invariant="truthfulness", key=f"truth:silent:{booking.uid}",
                detail=f"call {booking.call_id} was not told \"gebucht\" for it, yet Cal.com booking {booking.uid} "
                       f"({_local(booking.start)}) is active",
                call_ids=[str(booking.call_id)]))
    for row in snapshot.appointments or []:
        if row.confirmed and row.call_id in call_ids and row.id not in told:
            found.append(Violation(
                invariant="truthfulness", key=f"truth:silent-row:{row.id}",
                detail=f"call {row.call_id} was not told \"gebucht\" for it, yet appointment {row.id} "
                       f"({_local(row.start)}) is confirmed",
                call_ids=[str(row.call_id)]))
    return found


def find_violations(snapshot: Snapshot, calls: Sequence[CallRecord] | None = None) -> list[Violation]:
    found = orphans(snapshot) + calcom_double_bookings(snapshot.bookings) + ghosts(snapshot)
    if snapshot.appointments is not None:
        found += db_double_bookings(snapshot.appointments)
    if calls is not None:
        found += truthfulness(calls, snapshot)
    return found


def summary(snapshot: Snapshot, violations: Sequence[Violation]) -> dict[str, Any]:
    """The JSON `callsim check` prints."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in violations:
        by_kind[v.invariant].append({"detail": v.detail, "call_ids": v.call_ids, **v.data})
    doubles = by_kind.get("double_bookings", [])
    return {
        "ok": not violations,
        "source": snapshot.source,
        "database_checked": snapshot.appointments is not None,
        "bookings": len(snapshot.bookings),
        "active_bookings": sum(1 for b in snapshot.bookings if b.active),
        "appointments": None if snapshot.appointments is None else len(snapshot.appointments),
        "orphans": by_kind.get("orphans", []),
        "double_bookings": {
            "calcom": [d for d in doubles if d.get("side") == "calcom" and not d.get("transient")],
            "calcom_transient": [d for d in doubles if d.get("side") == "calcom" and d.get("transient")],
            "db": [d for d in doubles if d.get("side") == "db"],
        },
        "ghosts": by_kind.get("ghosts", []),
        "truthfulness": by_kind.get("truthfulness", []),
        "counts": {kind: len(items) for kind, items in by_kind.items()},
    }
