"""A Retell retry that overlaps a slow first attempt (review F8): the lease of the running attempt
is renewed, so the retry waits for it instead of taking over and answering "nicht eingetragen"
while the first attempt's booking confirms."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from harness.stack import StackOptions, Target
from tests.support.stack import RetellClient, at, future_workday, running_stack

LEASE_S = 0.5


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    # A lease shorter than Cal.com's answer: without renewal the retry would find it expired.
    with running_stack(StackOptions(extra_env={"RECONCILE_INTERVAL_S": "0", "LOCK_TTL_S": str(LEASE_S)})) as running:
        yield running


async def test_a_retry_overlapping_a_slow_first_attempt_tells_the_truth(retell: RetellClient) -> None:
    day, cid, caller = future_workday(10, weekday=2), f"call_{uuid.uuid4().hex}", f"+49153{uuid.uuid4().int % 10**8:08d}"
    args = {"service": "Herrenschnitt", "date_time": at(day, 13), "customer_name": "Lea Langsam"}
    await retell.faults({"kind": "latency", "ms": 800, "method": "POST", "path": "/v2/bookings", "count": 1})
    first = asyncio.create_task(retell.call("book_appointment", args, call_id=cid, phone=caller))
    await asyncio.sleep(LEASE_S + 0.2)  # past the lease the first attempt took
    retry = await retell.call("book_appointment", args, call_id=cid, phone=caller)
    first_answer = await first
    held = (await retell.call("list_appointments", {}, phone=caller))["data"]["appointments"]
    active = [b for b in await retell.ledger() if b["status"] == "accepted" and b["metadata"].get("call_id") == cid]
    assert len(active) == len(held) <= 1, (held, active)
    for answer in (first_answer, retry):
        if answer["error"] != "in_progress":
            assert answer["success"] == bool(held), (first_answer, retry, held)
    assert retry["success"], retry  # the retry waited for the running attempt's answer
