"""What a generated schedule is made of: callers, slots, operations and the faults hypothesis draws.

Kept apart from the state machine so the reproduction printer and the soak totals share one
vocabulary with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from hypothesis import strategies as st

from harness.history import Slot
from tests.reliability.live_stack import BERLIN, LiveStack


@dataclass(frozen=True)
class Caller:
    name: str
    phone: str

    def __repr__(self) -> str:  # hypothesis prints failing steps with repr: keep them readable
        return self.name.split()[0]


CALLERS = (
    Caller("Anna Schmidt", "+4915100000011"),
    Caller("Ben Müller", "+4915100000022"),
    Caller("Clara Weiß", "+4915100000033"),
)

# (label, service, hh, mm). Starts are unique, so "my appointment at 10:00" names one slot; M1015
# overlaps H10 and H1030 on the same stylist, D1230 overlaps both D12 and D13.
SLOT_PLAN = (
    ("H10", "Herrenschnitt", 10, 0),
    ("H1030", "Herrenschnitt", 10, 30),
    ("H11", "Herrenschnitt", 11, 0),
    ("M1015", "Maschinenhaarschnitt", 10, 15),
    ("D12", "Damenschnitt", 12, 0),
    ("D1230", "Damenschnitt", 12, 30),
    ("D13", "Damenschnitt", 13, 0),
)


@dataclass(frozen=True)
class SalonSlot:
    label: str
    service: str
    slot: Slot

    @property
    def iso(self) -> str:
        return self.slot.start.isoformat()

    def __repr__(self) -> str:
        return self.label


def booking_day(today: date | None = None) -> date:
    """A Monday–Saturday at least three days ahead: bookable, and never "today" in any time zone."""
    day = (today or datetime.now(BERLIN).date()) + timedelta(days=3)
    while day.isoweekday() == 7:
        day += timedelta(days=1)
    return day


def salon_slots(stack: LiveStack, day: date) -> tuple[SalonSlot, ...]:
    services = stack.services()
    slots = []
    for label, service, hour, minute in SLOT_PLAN:
        resource, minutes = services[service]
        start = datetime.combine(day, time(hour, minute), BERLIN)
        slots.append(SalonSlot(label, service, Slot(resource, start, start + timedelta(minutes=minutes))))
    return tuple(slots)


@dataclass(frozen=True)
class Book:
    caller: Caller
    target: SalonSlot
    db_fault: bool = False
    kind: Literal["book"] = "book"

    def request(self) -> tuple[str, dict[str, Any]]:
        return "book_appointment", {"service": self.target.service, "date_time": self.target.iso,
                                    "customer_name": self.caller.name}


@dataclass(frozen=True)
class Cancel:
    caller: Caller
    target: SalonSlot
    db_fault: bool = False  # cancels never confirm an intent; kept for a uniform interface
    kind: Literal["cancel"] = "cancel"

    def request(self) -> tuple[str, dict[str, Any]]:
        return "cancel_appointment", {"date_time": self.target.iso}


@dataclass(frozen=True)
class Reschedule:
    caller: Caller
    source: SalonSlot
    target: SalonSlot
    db_fault: bool = False
    kind: Literal["reschedule"] = "reschedule"

    def request(self) -> tuple[str, dict[str, Any]]:
        return "reschedule_appointment", {"old_date_time": self.source.iso, "new_date_time": self.target.iso}


Operation = Book | Cancel | Reschedule


# Cal.com misbehaviour a step may run under (mock_calcom rules). The core gives a create 1.1 s (its
# 1.4 s budget less the lookup reserve): 800 ms succeeds after the stack's 0.5 s lock TTL has run out
# (lock expiry mid-SAGA); 1200 ms times out and lands at Cal.com after the core gave up.
CREATE = {"method": "POST", "path": "/v2/bookings"}
LOOKUP = {"method": "GET", "path": "/v2/bookings"}
CANCEL = {"method": "POST", "path": "/v2/bookings/*/cancel"}
SLOTS = {"method": "GET", "path": "/v2/slots"}
CAL_FAULTS: dict[str, dict[str, Any]] = {
    "create_slow": {"kind": "latency", "ms": 300, **CREATE},
    "create_outlives_lock": {"kind": "latency", "ms": 800, **CREATE},
    "create_lands_late": {"kind": "latency", "ms": 1200, **CREATE},
    "create_hang": {"kind": "hang", "seconds": 3, **CREATE},
    "create_503": {"kind": "http_503", **CREATE},
    "create_reset": {"kind": "reset", **CREATE},
    "create_lost_response": {"kind": "commit_then_timeout", "seconds": 3, **CREATE},
    "create_commit_then_500": {"kind": "commit_then_500", **CREATE},
    "lookup_503": {"kind": "http_503", **LOOKUP},
    "cancel_503": {"kind": "http_503", **CANCEL},
    "cancel_lost_response": {"kind": "commit_then_timeout", "seconds": 3, **CANCEL},
    "slots_slow": {"kind": "latency", "ms": 400, **SLOTS},
}


# Drawn only by the opt-in rules (the first machine's draws stay as they were): a create that lands
# well after the core gave up, so a reconciler pass or a worker restart can fall in between.
LATE_CAL_FAULTS: dict[str, dict[str, Any]] = {
    "create_lands_much_later": {"kind": "latency", "ms": 2600, **CREATE},
    "listing_slow": {"kind": "latency", "ms": 700, **LOOKUP},
}


@dataclass(frozen=True)
class FaultChoice:
    name: str
    once: bool  # only the next matching request, else every one while in force

    def rule(self) -> dict[str, Any]:
        return {**(CAL_FAULTS.get(self.name) or LATE_CAL_FAULTS[self.name]), **({"count": 1} if self.once else {})}

    def label(self) -> str:
        return self.name + (" (once)" if self.once else "")


def db_faults(enabled: bool = True) -> st.SearchStrategy[bool]:
    """One call in five fails at the DB confirm step (X-Callsim-Fault: db_confirm)."""
    return st.integers(0, 4).map(lambda n: n == 0) if enabled else st.just(False)


def operations(slots: tuple[SalonSlot, ...], *, db_fault: st.SearchStrategy[bool]) -> st.SearchStrategy[Operation]:
    callers = st.sampled_from(CALLERS)
    targets = st.sampled_from(slots)
    return st.one_of(
        st.builds(Book, callers, targets, db_fault),
        st.builds(Cancel, callers, targets),
        st.builds(lambda c, p, f: Reschedule(c, p[0], p[1], f), callers, st.sampled_from(moves(slots)), db_fault),
    )


def moves(slots: tuple[SalonSlot, ...]) -> list[tuple[SalonSlot, SalonSlot]]:
    """Reschedules keep the service, so only same-service pairs are moves."""
    return [(a, b) for a in slots for b in slots if a.service == b.service and a != b]


def fault_sets() -> st.SearchStrategy[list[FaultChoice]]:
    choice = st.builds(FaultChoice, st.sampled_from(sorted(CAL_FAULTS)), st.booleans())
    return st.lists(choice, max_size=2, unique_by=lambda c: c.name)


@dataclass
class Step:
    """One rule the machine ran, as the reproduction printer needs it."""

    what: Literal["race_window", "ops"]
    faults: list[FaultChoice] = field(default_factory=list)
    race_window_ms: int = 0
    ops: list[Operation] = field(default_factory=list)
    concurrent: bool = False
    lost_answer: bool = False
    answers: list[str] = field(default_factory=list)
    # Set by the opt-in rules (CALLSIM_STATEFUL_NEW_RULES): the call id each operation is sent
    # with (None: a fresh one) and what else happened around the step, for the reproduction.
    call_ids: list[str | None] = field(default_factory=list)
    note: str = ""
