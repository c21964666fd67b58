"""SIGKILL the webhook at each step of the booking SAGA (test hooks), restart it, and check that
Retell's retry is answered truthfully and that a reconcile pass leaves no orphan and no double.

Per crash point, two calls die there: the first is retried by "Retell" after the restart (the core
must resume it or say it is not booked, and the end state must agree), the second never comes back
(only the reconciler can clean up after it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.history import History, Slot, check, final_state
from harness.invariants import find_violations
from harness.stack import StackOptions
from tests.reliability.live_stack import LiveStack, live_stack
from tests.reliability.schedule import CALLERS, booking_day, salon_slots

LEASE_S = 2.0  # LOCK_TTL_S, also the lease after which a retry may take over a dead worker's call
ENV = {"RECONCILE_INTERVAL_S": "0", "LOCK_TTL_S": str(LEASE_S)}


@dataclass
class KilledCall:
    """What Retell would resend: the same call id and arguments."""

    call_id: str
    phone: str
    args: dict[str, Any]
    slot: Slot
    died_at: float


def crash(stack: LiveStack, history: History, caller_index: int, label: str, point: str) -> KilledCall:
    """One booking whose worker SIGKILLs itself at `point`."""
    caller = CALLERS[caller_index]
    target = {s.label: s for s in salon_slots(stack, booking_day())}[label]
    call_id = f"call_crash_{point}_{caller_index}"
    args = {"service": target.service, "date_time": target.iso, "customer_name": caller.name}
    op = history.invoke(caller.phone, "book", call_id, target.slot, faults=[f"crash_{point}"])
    with pytest.raises(httpx.TransportError):
        stack.call("book_appointment", args, call_id=call_id, phone=caller.phone, fault=f"crash_{point}")
    history.complete(op, "unknown", error="worker_killed")
    died_at = time.monotonic()
    with pytest.raises(httpx.TransportError):
        stack.webhook.get("/healthz", timeout=2)  # really dead, not just one failed request
    return KilledCall(call_id, caller.phone, args, target.slot, died_at)


def retry(stack: LiveStack, history: History, killed: KilledCall) -> None:
    time.sleep(max(0.0, killed.died_at + LEASE_S + 0.2 - time.monotonic()))
    op = history.invoke(killed.phone, "book", killed.call_id, killed.slot)
    answer = stack.call("book_appointment", killed.args, call_id=killed.call_id, phone=killed.phone)
    assert answer.status == 200 and answer.error != "in_progress", answer.body
    history.complete(op, "ok" if answer.success else "fail", appointment_id=answer.data.get("appointment_id"),
                     message=answer.message, error=answer.error)


# Either way the retry ends with the caller's booking: after_calcom resumes the booking Cal.com
# holds; after_intent finds Cal.com holds none, settles that attempt and books afresh.
@pytest.mark.parametrize(("point", "resumes"), [("after_intent", True), ("after_calcom", True)])
def test_a_killed_saga_is_healed_and_its_retry_is_truthful(point: str, resumes: bool, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'callsim.db'}"
    history = History()
    with live_stack(StackOptions(database_url=database_url, extra_env=ENV)) as first:
        retried = crash(first, history, 0, "H10", point)
        restarted = StackOptions(calcom_url=first.target.calcom_url, database_url=database_url, extra_env=ENV)
        with live_stack(restarted, control_url=first.target.calcom_url) as second:
            retry(second, history, retried)
            # Someone else wants the same slot meanwhile: never a second winner.
            rival = history.invoke(CALLERS[1].phone, "book", "call_rival", retried.slot)
            answer = second.call("book_appointment", {**retried.args, "customer_name": CALLERS[1].name},
                                 call_id="call_rival", phone=CALLERS[1].phone)
            history.complete(rival, "ok" if answer.success else "fail", message=answer.message, error=answer.error,
                             appointment_id=answer.data.get("appointment_id"))
            crash(second, history, 2, "D12", point)  # this one is never retried

        first.wait_quiet()
        report = first.reconcile()  # in-process: no webhook needed
        assert report["errors"] == []
        snapshot = first.snapshot()
        assert [v.detail for v in find_violations(snapshot)] == []
        final = final_state(snapshot)
        assert check(history.operations, final) == []
        retried_op = history.operations[1]
        assert (retried_op.outcome == "ok") is resumes, retried_op.describe()
        assert [b.call_id for b in final] == ([retried.call_id] if resumes else ["call_rival"])
        if point == "after_calcom":
            assert report["cancelled_orphans"], "the unretried call's Cal.com booking was left to the reconciler"
