"""Minimal, deterministic reproductions of what the generated schedules found (see the soak runs)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.history import History, check, final_state
from harness.invariants import find_violations
from harness.stack import StackOptions
from tests.reliability.live_stack import LiveStack, live_stack
from tests.reliability.schedule import CALLERS, booking_day, salon_slots


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    with live_stack(StackOptions(extra_env={"RECONCILE_INTERVAL_S": "0"})) as running:
        yield running


def test_a_create_that_lands_after_the_core_gave_up_does_not_double_book(stack: LiveStack) -> None:
    """Found by `make soak` (SQLite, ~650 operations): Cal.com is slow to process Anna's create, the
    core times out, finds nothing, answers "nicht gebucht" and frees the slot; Ben books it; then
    Anna's create lands inside Cal.com's check-then-insert window. Cal.com holds two accepted bookings
    of one stylist at one time until the reconciler cancels Anna's. Both answers were true, but the
    salon's calendar was double-booked: the slot of an unknown outcome must stay taken until it is
    known."""
    d12 = {s.label: s for s in salon_slots(stack, booking_day())}["D12"]
    stack.configure_mock(race_window_ms=600)
    stack.set_faults([{"kind": "latency", "ms": 1500, "method": "POST", "path": "/v2/bookings", "count": 1}])
    history = History()
    try:
        for caller in CALLERS[:2]:
            op = history.invoke(caller.phone, "book", f"call_late_{caller.phone[-2:]}", d12.slot)
            answer = stack.call("book_appointment", {"service": d12.service, "date_time": d12.iso,
                                                     "customer_name": caller.name},
                                call_id=op.call_id, phone=caller.phone)
            history.complete(op, "ok" if answer.success else "fail", message=answer.message, error=answer.error,
                             appointment_id=answer.data.get("appointment_id"))
        time.sleep(1.0)  # Anna's create is still inside Cal.com
    finally:
        stack.set_faults([])
        stack.configure_mock(race_window_ms=0)
    stack.wait_quiet()
    assert stack.reconcile()["errors"] == []
    snapshot = stack.snapshot()
    assert check(history.operations, final_state(snapshot)) == []  # every answer was true
    assert [v.detail for v in find_violations(snapshot)] == []
