"""Operation histories and the checker that judges them after a run, per slot (Jepsen-style).

Every booking operation a simulated caller makes is logged twice: when it is invoked and when its
answer arrives, with monotonic times, as `ok`, `fail` or `unknown` (no answer, or one that says
nothing either way). The checker only claims what the log proves, whatever the order the server
really ran things in:

* truthful answers: a refusal never says "gebucht", a booking or reschedule that succeeded does,
  and names its appointment;
* at most one winner per slot: two successful bookings of overlapping slots (one resource) whose
  tenures must have overlapped in time are a double booking. A tenure begins somewhere inside its
  booking's interval and ends somewhere inside the interval of the cancel or reschedule that gives
  it up (or never), so two tenures A and B must overlap iff A is released (at the earliest) after B
  answered and B is released after A answered;
* a cancel or reschedule is not told "no such appointment" while the caller surely holds it;
* with the state at the end of the run: every booking a caller was told about and did not give up is
  still active; nothing a caller was told is cancelled, or not booked, is active; nothing is active
  that no operation made.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from harness.invariants import Snapshot, claims_booked

Outcome = Literal["ok", "fail", "unknown"]
Kind = Literal["book", "cancel", "reschedule"]
# Answers that say nothing about the outcome: a Retell retry arriving while the first attempt runs.
UNDECIDED_ERRORS = frozenset({"in_progress"})


@dataclass(frozen=True)
class Slot:
    resource: str  # "host:<id>", as the core's appointments.resource
    start: datetime  # aware
    end: datetime

    def overlaps(self, other: Slot) -> bool:
        return self.resource == other.resource and self.start < other.end and other.start < self.end

    def label(self) -> str:
        return f"{self.resource} {self.start:%Y-%m-%d %H:%M}–{self.end:%H:%M}"


@dataclass
class Operation:
    """One function call as the caller saw it. `slot` is what a book/reschedule takes (the slot a
    cancel gives up); `old_slot` is what a reschedule gives up."""

    index: int
    caller: str
    kind: Kind
    call_id: str
    slot: Slot
    invoked_at: float
    old_slot: Slot | None = None
    faults: tuple[str, ...] = ()
    completed_at: float | None = None
    outcome: Outcome | None = None
    appointment_id: str | None = None
    message: str = ""
    error: str | None = None

    @property
    def answered_at(self) -> float:
        return math.inf if self.completed_at is None else self.completed_at

    @property
    def takes(self) -> bool:
        return self.kind in ("book", "reschedule")

    @property
    def gives_up(self) -> Slot | None:
        return self.slot if self.kind == "cancel" else self.old_slot

    def describe(self) -> str:
        what = (f"{self.kind} {self.slot.label()}" if self.kind != "reschedule" or self.old_slot is None
                else f"reschedule {self.old_slot.label()} → {self.slot.label()}")
        answer: str = self.outcome or "pending"
        if self.error:
            answer += f" ({self.error})"
        return f"#{self.index} {self.caller} {what}: {answer}"


@dataclass(frozen=True)
class ActiveBooking:
    """An appointment that is active at the end of the run (a confirmed row)."""

    appointment_id: str
    call_id: str | None
    slot: Slot


def final_state(snapshot: Snapshot) -> list[ActiveBooking]:
    """The active appointments (confirmed rows) of an invariant-checker snapshot."""
    return [ActiveBooking(a.id, a.call_id, Slot(a.resource, a.start, a.end))
            for a in snapshot.appointments or [] if a.confirmed]


class History:
    """The log. Thread-safe: concurrent callers invoke and complete operations from many threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ops: list[Operation] = []
        self._origin = clock()

    def invoke(self, caller: str, kind: Kind, call_id: str, slot: Slot, *, old_slot: Slot | None = None,
               faults: Iterable[str] = ()) -> Operation:
        with self._lock:
            op = Operation(index=len(self._ops) + 1, caller=caller, kind=kind, call_id=call_id, slot=slot,
                           old_slot=old_slot, faults=tuple(faults), invoked_at=self._clock() - self._origin)
            self._ops.append(op)
            return op

    def complete(self, op: Operation, outcome: Outcome, *, appointment_id: str | None = None,
                 message: str = "", error: str | None = None) -> None:
        with self._lock:
            op.completed_at = self._clock() - self._origin
            op.outcome = "unknown" if error in UNDECIDED_ERRORS else outcome
            op.appointment_id = appointment_id
            op.message = message
            op.error = error

    @property
    def operations(self) -> list[Operation]:
        with self._lock:
            return list(self._ops)

    def totals(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for op in self.operations:
            counts[f"{op.kind}:{op.outcome or 'pending'}"] += 1
        return counts


@dataclass
class _Tenure:
    """A slot held by an appointment: from its booking's answer until it is given up."""

    taken_by: Operation
    released_by: list[Operation] = field(default_factory=list)  # ok or unknown: may have released it
    definitely_released: bool = False

    @property
    def earliest_release(self) -> float:
        return min((op.invoked_at for op in self.released_by), default=math.inf)


def _answers(ops: Sequence[Operation]) -> list[str]:
    found = []
    for op in ops:
        if op.outcome in ("fail", "unknown") and claims_booked(op.message):
            found.append(f"untruthful answer: {op.describe()} yet the caller heard \"gebucht\": {op.message!r}")
        elif op.outcome == "ok" and op.takes:
            if not claims_booked(op.message):
                found.append(f"silent booking: {op.describe()} but the answer never says \"gebucht\": "
                             f"{op.message!r}")
            if not op.appointment_id:
                found.append(f"booking without appointment id: {op.describe()}")
    return found


def _tenures(ops: Sequence[Operation]) -> list[_Tenure]:
    """Successful bookings, each with the operations that may have given it up."""
    tenures = [_Tenure(op) for op in ops if op.outcome == "ok" and op.takes]
    for release in ops:
        given_up = release.gives_up
        if given_up is None or release.outcome not in ("ok", "unknown"):
            continue
        if release.kind == "cancel" and release.outcome == "ok" and release.appointment_id:
            # The cancel names what it cancelled.
            for tenure in tenures:
                if tenure.taken_by.appointment_id == release.appointment_id:
                    tenure.released_by.append(release)
                    tenure.definitely_released = True
            continue
        candidates = [t for t in tenures if t.taken_by.caller == release.caller and t.taken_by.slot == given_up
                      and t.taken_by.invoked_at < release.answered_at and t.taken_by is not release]
        for tenure in candidates:
            tenure.released_by.append(release)
        if release.outcome == "ok" and len(candidates) == 1:
            candidates[0].definitely_released = True
    return tenures


def _one_winner_per_slot(tenures: Sequence[_Tenure]) -> list[str]:
    found = []
    by_resource: dict[str, list[_Tenure]] = defaultdict(list)
    for tenure in tenures:
        by_resource[tenure.taken_by.slot.resource].append(tenure)
    for group in by_resource.values():
        group.sort(key=lambda t: t.taken_by.slot.start)
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if b.taken_by.slot.start >= a.taken_by.slot.end:
                    break
                if a.taken_by.appointment_id and a.taken_by.appointment_id == b.taken_by.appointment_id:
                    continue  # one appointment answered twice (a retry), not two winners
                if a.earliest_release > b.taken_by.answered_at and b.earliest_release > a.taken_by.answered_at:
                    found.append(
                        f"two winners at once: {_tenure_text(a)} and {_tenure_text(b)} hold overlapping slots "
                        "at the same time")
    return found


def _tenure_text(tenure: _Tenure) -> str:
    op = tenure.taken_by
    until = "never released" if tenure.earliest_release == math.inf else f"released at {tenure.earliest_release:.3f}s"
    return (f"{op.caller} (op #{op.index}, {op.slot.label()}, appointment {op.appointment_id}, "
            f"answered at {op.answered_at:.3f}s, {until})")


def _denied(ops: Sequence[Operation], tenures: Sequence[_Tenure]) -> list[str]:
    """A cancel or reschedule answered "no such appointment" while the caller surely held it."""
    found = []
    for op in ops:
        given_up = op.gives_up
        if op.outcome != "fail" or op.error != "not_found" or given_up is None:
            continue
        for tenure in tenures:
            held = tenure.taken_by
            if (held.caller == op.caller and held.slot == given_up and held.answered_at < op.invoked_at
                    and tenure.earliest_release > op.answered_at):
                found.append(f"denied appointment: {op.describe()} although {held.describe()} "
                             f"(appointment {held.appointment_id}) held it throughout")
    return found


def _end_state(ops: Sequence[Operation], tenures: Sequence[_Tenure], final: Sequence[ActiveBooking]) -> list[str]:
    found = []
    active = {b.appointment_id: b for b in final}
    for tenure in tenures:
        op = tenure.taken_by
        if not tenure.released_by and op.appointment_id not in active:
            found.append(f"lost booking: {op.describe()} (appointment {op.appointment_id}) was told \"gebucht\", "
                         "never given up, but is not active at the end")
        if tenure.definitely_released and op.appointment_id in active:
            by = ", ".join(f"#{r.index}" for r in tenure.released_by)
            found.append(f"release ignored: appointment {op.appointment_id} of {op.describe()} was given up by "
                         f"op {by} yet is still active at the end")
    by_call: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        by_call[op.call_id].append(op)
    for booking in final:
        calls = by_call.get(booking.call_id or "", [])
        if not calls:
            found.append(f"booking from nowhere: appointment {booking.appointment_id} ({booking.slot.label()}, "
                         f"call {booking.call_id}) is active but no operation made it")
            continue
        if any(op.outcome == "ok" and op.appointment_id == booking.appointment_id for op in calls):
            continue
        answered = [op for op in calls if op.outcome in ("ok", "fail")]
        last = max(answered, key=lambda op: op.answered_at) if answered else None
        later_unknown = any(op.outcome == "unknown" and (last is None or op.invoked_at > last.invoked_at)
                            for op in calls)
        if last is not None and not later_unknown:
            told = ("told it failed" if last.outcome == "fail"
                    else f"told about appointment {last.appointment_id} instead")
            found.append(f"untold booking: appointment {booking.appointment_id} ({booking.slot.label()}) is active "
                         f"but its call was {told}: {last.describe()}")
    return found


def check(ops: Sequence[Operation], final: Sequence[ActiveBooking] | None = None) -> list[str]:
    """Anomalies as sentences; empty when the history is consistent. Without `final`, only what the
    answers alone prove (truthful wording, one winner per slot)."""
    done = [op for op in ops if op.outcome is not None]
    tenures = _tenures(done)
    found = _answers(done) + _one_winner_per_slot(tenures) + _denied(done, tenures)
    if final is not None:
        found += _end_state(done, tenures, final)
    return found
