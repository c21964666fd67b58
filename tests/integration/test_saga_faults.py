"""Every Cal.com fault and the DB failing at confirm: after `callsim reconcile`, `callsim check`
finds 0 orphans and 0 double bookings, and every answer was the truth."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness.stack import StackOptions, Target
from tests.support.commands import check, reconcile
from tests.support.stack import RetellClient, at, future_workday, running_stack

BUDGET_S = 1.6

FAULTS: dict[str, dict[str, Any] | None] = {
    "none": None,
    "latency_below_timeout": {"kind": "latency", "ms": 900},
    "latency_above_timeout": {"kind": "latency", "ms": 2500},
    "hang": {"kind": "hang"},
    "http_500": {"kind": "http_500"},
    "http_503": {"kind": "http_503"},
    "http_429": {"kind": "http_429"},
    "reset": {"kind": "reset"},
    "malformed_json": {"kind": "malformed_json"},
    "truncated_json": {"kind": "truncated_json"},
    "commit_then_timeout": {"kind": "commit_then_timeout"},
    "commit_then_500": {"kind": "commit_then_500"},
    "commit_then_reset": {"kind": "commit_then_reset"},
    "reject_then_reset": {"kind": "reject_then_reset"},
}


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with running_stack(StackOptions(extra_env={"RECONCILE_INTERVAL_S": "0"})) as running:
        yield running


async def _book(retell: RetellClient, hour: int, days: int, fault_header: str | None = None,
                weekday: int = 2) -> tuple[str, dict[str, Any], float]:
    call_id = f"call_{uuid.uuid4().hex}"
    started = time.perf_counter()
    answer = await retell.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(future_workday(days, weekday), hour),
                                                    "customer_name": "Karl Fehler"}, call_id=call_id, fault=fault_header)
    return call_id, answer, time.perf_counter() - started


async def _assert_healed_and_truthful(target: Target, retell: RetellClient, outcomes: list[tuple[str, dict[str, Any]]]) -> None:
    await asyncio.sleep(1.0)  # let background compensation finish or give up
    await asyncio.to_thread(reconcile, target)
    code, report = await asyncio.to_thread(check, target)
    assert code == 0, report
    ledger = await retell.ledger()
    for call_id, answer in outcomes:
        active = [b for b in ledger if b["metadata"].get("call_id") == call_id and b["status"] == "accepted"]
        told_booked = answer["success"] and "gebucht" in answer["message"]
        assert len(active) == (1 if told_booked else 0), (answer, active)


BOOKED_ANYWAY = {"none", "latency_below_timeout", "commit_then_timeout", "commit_then_500", "commit_then_reset"}
NOT_BOOKED = {"http_500", "http_503", "http_429", "reset", "reject_then_reset", "latency_above_timeout", "hang"}


@pytest.fixture(scope="module")
def fault_outcomes(target: Target) -> dict[str, tuple[str, dict[str, Any], float, int, dict[str, Any]]]:
    """Book once under each fault, then reconcile and check once for all of them."""

    async def run() -> dict[str, tuple[str, dict[str, Any], float]]:
        retell = RetellClient(target)
        outcomes = {}
        try:
            for index, (fault, rule) in enumerate(FAULTS.items()):
                if rule is not None:
                    await retell.faults(rule | {"method": "POST", "path": "/v2/bookings"})
                # A Friday of its own for every fault: a late-landing booking of one fault must not take
                # the slot of the next.
                outcomes[fault] = await _book(retell, 10, 3 + 7 * index, weekday=4)
                await retell.faults()
        finally:
            await retell.aclose()
        await asyncio.sleep(1.0)  # let background compensation finish or give up
        return outcomes

    booked = asyncio.run(run())
    reconcile(target)
    code, report = check(target)
    return {fault: (*values, code, report) for fault, values in booked.items()}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
async def test_calcom_fault_on_create(fault_outcomes: dict[str, Any], retell: RetellClient, fault: str) -> None:
    call_id, answer, took, code, report = fault_outcomes[fault]
    # One call is not a latency figure (the P95 test below is); this only catches hangs.
    assert took <= 2 * BUDGET_S, f"{fault}: answered after {took:.2f}s"
    assert answer["message"] and "Traceback" not in answer["message"]
    if fault in BOOKED_ANYWAY:
        # the booking exists at Cal.com: found by its id in metadata and confirmed
        assert answer["success"], answer
    elif fault in NOT_BOOKED:
        assert answer["success"] is False and "nicht eingetragen" in answer["message"]
    # after `callsim reconcile`: no orphan, no double booking, and the answer was the truth
    assert code == 0, report
    active = [b for b in await retell.ledger() if b["metadata"].get("call_id") == call_id and b["status"] == "accepted"]
    assert len(active) == (1 if answer["success"] and "gebucht" in answer["message"] else 0), (answer, active)


async def test_db_failing_at_confirm_is_compensated(target: Target, retell: RetellClient) -> None:
    call_id, answer, took = await _book(retell, 15, 8, fault_header="db_confirm")
    assert answer["success"] is False and "nicht eingetragen" in answer["message"]
    assert took <= 2 * BUDGET_S
    await _assert_healed_and_truthful(target, retell, [(call_id, answer)])
    cancelled = [b for b in await retell.ledger() if b["metadata"].get("call_id") == call_id]
    assert cancelled and all(b["status"] == "cancelled" for b in cancelled)


async def test_compensation_that_fails_is_healed_by_reconcile(target: Target, retell: RetellClient) -> None:
    await retell.faults({"kind": "http_503", "method": "POST", "path": "/v2/bookings/*/cancel"})
    call_id, answer, _ = await _book(retell, 16, 9, fault_header="db_confirm")
    assert answer["success"] is False
    await asyncio.sleep(2.0)  # all compensation retries fail
    orphan = [b for b in await retell.ledger() if b["metadata"].get("call_id") == call_id and b["status"] == "accepted"]
    assert len(orphan) == 1  # Cal.com booked, DB not: the production bug, now visible …
    code, report = await asyncio.to_thread(check, target)
    assert code == 1 and report  # … and the checker sees it
    await retell.faults()
    await _assert_healed_and_truthful(target, retell, [(call_id, answer)])  # … and reconcile heals it


async def test_p95_stays_in_budget_while_calcom_hangs(target: Target, retell: RetellClient) -> None:
    await retell.faults({"kind": "hang", "method": "*", "path": "/v2/*"}, {"kind": "hang", "method": "*", "path": "/v2/bookings/*"})
    results = await asyncio.gather(*(_book(retell, 9 + i % 9, 10 + i // 9) for i in range(20)))
    durations = sorted(took for _, _, took in results)
    p95 = durations[int(0.95 * len(durations)) - 1]
    # The 1.6 s P95 target is gated by `make load PROFILE=cal-degraded` on a quiet machine; here a
    # loose bound proves the mechanism: hangs are cut at the budget, never at Cal.com's mercy.
    assert p95 <= 1.5 * BUDGET_S, durations
    assert all(not answer["success"] for _, answer, _ in results)
    await retell.faults()
    await _assert_healed_and_truthful(target, retell, [(c, a) for c, a, _ in results])
