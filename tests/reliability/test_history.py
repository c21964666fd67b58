"""The history checker on hand-made histories: it must accept what linearizes and name what does not."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from harness.history import ActiveBooking, History, Operation, Slot, check
from harness.scenario import load_file
from tests.reliability.live_stack import BERLIN
from tests.reliability.reproduction import reproduction_yaml
from tests.reliability.schedule import (
    CALLERS,
    Book,
    Cancel,
    FaultChoice,
    Reschedule,
    SalonSlot,
    Step,
)

DAY = datetime(2031, 3, 4, tzinfo=BERLIN)
H10 = Slot("host:102", DAY.replace(hour=10), DAY.replace(hour=10, minute=30))
H1030 = Slot("host:102", DAY.replace(hour=10, minute=30), DAY.replace(hour=11))
M1015 = Slot("host:102", DAY.replace(hour=10, minute=15), DAY.replace(hour=10, minute=35))
D10 = Slot("host:101", DAY.replace(hour=10), DAY.replace(hour=11))
BOOKED = "Ihr Termin für Herrenschnitt am Dienstag, 4. März um 10 Uhr ist gebucht."
REFUSED = "Ich konnte die Buchung gerade nicht bestätigen, der Termin ist deshalb nicht gebucht."


class Clock:
    """A hand-wound monotonic clock: each test says when things happen."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def log() -> tuple[History, Clock]:
    clock = Clock()
    return History(clock), clock


def run(log: tuple[History, Clock], caller: str, kind: str, slot: Slot, start: float, end: float, outcome: str,
        appointment: str | None = None, *, old: Slot | None = None, call_id: str | None = None,
        message: str | None = None, error: str | None = None) -> Operation:
    history, clock = log
    clock.now = start
    op = history.invoke(caller, kind, call_id or f"call-{len(history.operations)}", slot, old_slot=old)  # type: ignore[arg-type]
    clock.now = end
    default = BOOKED if outcome == "ok" and kind != "cancel" else REFUSED
    history.complete(op, outcome, appointment_id=appointment, message=default if message is None else message,  # type: ignore[arg-type]
                     error=error if error or outcome != "fail" else "slot_taken")
    return op


def active(op: Operation, slot: Slot | None = None) -> ActiveBooking:
    return ActiveBooking(str(op.appointment_id), op.call_id, slot or op.slot)


def test_sequential_book_cancel_book_is_consistent(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "ok", "a1")
    run(log, "anna", "cancel", H10, 2, 3, "ok", "a1", message="Ihr Termin ist storniert.")
    second = run(log, "ben", "book", H10, 4, 5, "ok", "b1")
    run(log, "clara", "book", H10, 4.5, 5.5, "fail")
    assert check(log[0].operations, [active(second)]) == []


def test_two_winners_of_one_slot_are_a_double_booking(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "ok", "a1")
    run(log, "ben", "book", H10, 2, 3, "ok", "b1")
    found = check(log[0].operations)
    assert len(found) == 1 and found[0].startswith("two winners at once")


def test_overlapping_services_on_one_stylist_count_and_neighbours_do_not(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "ok", "a1")
    run(log, "ben", "book", H1030, 0, 1, "ok", "b1")  # adjacent, not overlapping
    run(log, "clara", "book", D10, 0, 1, "ok", "c1")  # another stylist
    assert check(log[0].operations) == []
    run(log, "clara", "book", M1015, 2, 3, "ok", "c2")  # 10:15–10:35 overlaps both
    assert len(check(log[0].operations)) == 2


def test_a_release_that_may_come_first_linearizes(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "ok", "a1")
    # Ben's booking and Anna's cancel overlap in time: the cancel may have taken effect first.
    run(log, "anna", "cancel", H10, 2, 4, "ok", "a1", message="storniert")
    run(log, "ben", "book", H10, 3, 5, "ok", "b1")
    assert check(log[0].operations) == []


def test_a_release_invoked_after_the_rival_answered_does_not(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "ok", "a1")
    run(log, "ben", "book", H10, 2, 3, "ok", "b1")
    run(log, "anna", "cancel", H10, 4, 5, "ok", "a1", message="storniert")
    assert any("two winners" in line for line in check(log[0].operations))


def test_an_unknown_cancel_may_have_released(log: tuple[History, Clock]) -> None:
    first = run(log, "anna", "book", H10, 0, 1, "ok", "a1")
    run(log, "anna", "cancel", H10, 2, 3, "unknown")
    second = run(log, "ben", "book", H10, 4, 5, "ok", "b1")
    assert check(log[0].operations, [active(second)]) == []
    # ... or not: Anna's appointment still active is fine too; both active is the double booking.
    assert check(log[0].operations, [active(first)]) == [
        f"lost booking: {second.describe()} (appointment b1) was told \"gebucht\", never given up, but is not "
        "active at the end"]


def test_concurrent_overlapping_winners_are_caught(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 2, "ok", "a1")
    run(log, "ben", "book", M1015, 1, 3, "ok", "b1")
    assert any("two winners" in line for line in check(log[0].operations))


def test_a_refusal_that_says_gebucht_is_untruthful(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "fail", message="Ihr Termin ist gebucht.", error="db_unavailable")
    run(log, "ben", "book", H10, 0, 1, "fail", message=REFUSED)  # "nicht gebucht" is a refusal
    found = check(log[0].operations)
    assert len(found) == 1 and found[0].startswith("untruthful answer")


def test_a_success_that_never_says_gebucht_is_a_silent_booking(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "ok", "a1", message="Alles klar.")
    run(log, "ben", "book", H1030, 0, 1, "ok", None)
    found = check(log[0].operations)
    assert [line.split(":")[0] for line in found] == ["silent booking", "booking without appointment id"]


def test_end_state_must_agree_with_every_answer(log: tuple[History, Clock]) -> None:
    told = run(log, "anna", "book", H10, 0, 1, "ok", "a1")
    refused = run(log, "ben", "book", H1030, 0, 1, "fail")
    cancelled = run(log, "clara", "book", D10, 0, 1, "ok", "c1")
    run(log, "clara", "cancel", D10, 2, 3, "ok", "c1", message="storniert")
    found = check(log[0].operations, [ActiveBooking("b9", refused.call_id, H1030), active(cancelled),
                                      ActiveBooking("x1", "call-from-elsewhere", M1015)])
    kinds = sorted(line.split(":")[0] for line in found)
    assert kinds == ["booking from nowhere", "lost booking", "release ignored", "untold booking"], found
    assert told.appointment_id and any(told.appointment_id in line for line in found)


def test_a_retry_after_a_lost_answer_counts_once(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "unknown", call_id="c1")
    retried = run(log, "anna", "book", H10, 1, 2, "ok", "a1", call_id="c1")
    assert check(log[0].operations, [active(retried)]) == []
    # A lost answer alone may or may not have booked.
    run(log, "ben", "book", D10, 0, 1, "unknown", call_id="c2")
    assert check(log[0].operations, [active(retried), ActiveBooking("b1", "c2", D10)]) == []


def test_a_reschedule_moves_the_tenure(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "ok", "a1")
    moved = run(log, "anna", "reschedule", H1030, 2, 3, "ok", "a2", old=H10,
                message="Ich habe Ihren Termin verschoben, er ist jetzt am Dienstag gebucht.")
    took_old = run(log, "ben", "book", H10, 4, 5, "ok", "b1")
    assert check(log[0].operations, [active(moved), active(took_old)]) == []
    # The old appointment surviving the move is a release the core ignored.
    assert any(line.startswith("release ignored") for line in check(
        log[0].operations, [active(moved), active(took_old), ActiveBooking("a1", "call-0", H10)]))


def test_not_found_while_the_caller_surely_holds_it_is_denial(log: tuple[History, Clock]) -> None:
    run(log, "anna", "book", H10, 0, 1, "ok", "a1")
    run(log, "anna", "cancel", H10, 2, 3, "fail", error="not_found", message="Kein Termin gefunden.")
    found = check(log[0].operations)
    assert len(found) == 1 and found[0].startswith("denied appointment")


def test_a_retry_still_in_progress_is_undecided(log: tuple[History, Clock]) -> None:
    history, _ = log
    op = run(log, "anna", "book", H10, 0, 1, "fail", error="in_progress",
             message="Einen Moment bitte, ich bearbeite Ihre Anfrage noch.")
    assert op.outcome == "unknown"
    assert check(history.operations, [ActiveBooking("a1", op.call_id, H10)]) == []


def test_a_failing_schedule_prints_as_a_loadable_scenario_file(tmp_path: Path) -> None:
    slots = {label: SalonSlot(label, service, slot) for label, service, slot in (
        ("H10", "Herrenschnitt", H10), ("H1030", "Herrenschnitt", H1030), ("M1015", "Maschinenhaarschnitt", M1015))}
    anna, ben, _ = CALLERS
    steps = [
        Step("race_window", race_window_ms=50),
        Step("ops", faults=[FaultChoice("create_lost_response", once=True)], concurrent=True,
             ops=[Book(anna, slots["H10"], db_fault=True), Book(ben, slots["M1015"])], answers=["ok", "ok"]),
        Step("ops", ops=[Reschedule(anna, slots["H10"], slots["H1030"]), Cancel(ben, slots["M1015"])],
             lost_answer=True, answers=["ok"]),
    ]
    path = tmp_path / "repro.yaml"
    path.write_text(reproduction_yaml(steps, ["two winners at once: …"]), encoding="utf-8")
    scenarios = load_file(path)
    assert [s.name for s in scenarios] == ["repro-001-book", "repro-002-book", "repro-003-reschedule",
                                           "repro-004-cancel"]
    first, second, third, fourth = scenarios
    assert first.core_faults == ["db_confirm"] and first.mock and first.mock.race_window_ms == 50
    assert [(f.kind, f.count) for f in first.faults if not isinstance(f, str)] == [("commit_then_timeout", 1)]
    assert {"burst-1"} <= set(first.tags) & set(second.tags)
    assert first.calls[0].turns == ["Ich möchte einen Herrenschnitt am {date:+0} um 10 Uhr, mein Name ist Anna Schmidt."]
    assert third.calls[0].turns == ["Ich möchte meinen Termin am {date:+0} um 10 Uhr auf den {date:+0} um 10:30 Uhr "
                                    "verschieben."]
    assert not fourth.faults and "Retell retried" in fourth.description
    assert first.now.weekday == "tue" and first.now.time == "08:00"  # 4 March 2031 is a Tuesday
    assert {s.lane for s in scenarios} == {"reproduction"} and all(s.reconcile for s in scenarios)
    # Bookings their callers change later are judged for truthfulness where they change.
    assert [len(s.invariants) for s in scenarios] == [3, 3, 4, 4]
    assert path.read_text(encoding="utf-8").startswith("# Minimal failing schedule")
    assert first.caller.phone == anna.phone
