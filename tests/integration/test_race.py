"""Many callers, one slot, several webhook worker processes sharing one Redis and one database.

Cal.com (the mock) runs with a race window, so it would take two concurrent creates of one slot:
only the core's lock and the database constraint stand between the callers and a double booking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from harness.stack import StackOptions, Target
from tests.support.commands import check, reconcile
from tests.support.stack import RetellClient, at, future_workday, running_stack

CALLERS = 50


async def _storm(target: Target, slot: str, race_window_ms: int = 150) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=target.calcom_url) as mock:
        (await mock.put("/_control/config", json={"race_window_ms": race_window_ms})).raise_for_status()
    client = RetellClient(target)
    client.http = httpx.AsyncClient(base_url=target.webhook_url, timeout=30,
                                    limits=httpx.Limits(max_connections=CALLERS))
    try:
        return list(await asyncio.gather(*(
            client.call("book_appointment", {"service": "Damenschnitt", "date_time": slot,
                                             "customer_name": f"Kunde {i}"}, phone=f"+4917{i:08d}")
            for i in range(CALLERS))))
    finally:
        await client.aclose()


def _stack(database_url: str, redis_url: str | None, lock: bool = True) -> Iterator[Target]:
    env = {"RECONCILE_INTERVAL_S": "0", "LOCK_ENABLED": "true" if lock else "false"}
    with running_stack(StackOptions(database_url=database_url, redis_url=redis_url, workers=2,
                                    extra_env=env)) as target:
        yield target


@pytest.fixture(params=["postgres", "mariadb"])
def shared_stack(request: pytest.FixtureRequest, redis_url: str) -> Iterator[Target]:
    database_url = request.getfixturevalue(f"{request.param}_url")
    yield from _stack(database_url, redis_url)


async def test_fifty_callers_one_slot_exactly_one_booking(shared_stack: Target) -> None:
    slot = at(future_workday(5, weekday=3), 10)
    answers = await _storm(shared_stack, slot)
    winners = [a for a in answers if a["success"]]
    losers = [a for a in answers if not a["success"]]
    log = (shared_stack.log_dir / "booking_core.log").read_text() if shared_stack.log_dir else ""
    assert len(winners) == 1, ([a["error"] for a in answers], log[-4000:])
    assert all(a["error"] in ("slot_taken", "lock_busy") for a in losers)
    assert all("vergeben" in a["message"] and "gebucht" not in a["message"] for a in losers)
    assert all(a["data"]["alternatives"] for a in losers), "every loser hears alternatives"
    await asyncio.sleep(0.5)
    await asyncio.to_thread(reconcile, shared_stack)
    code, report = await asyncio.to_thread(check, shared_stack)
    assert code == 0, report
    ledger = await RetellClient(shared_stack).ledger()
    accepted = [b for b in ledger if b["status"] == "accepted"]
    assert [b["metadata"]["appointment_id"] for b in accepted] == [winners[0]["data"]["appointment_id"]]


@pytest.fixture
def unguarded_stack(sqlite_url: str) -> Iterator[Target]:
    yield from _stack(sqlite_url, None, lock=False)


async def test_without_the_lock_cal_com_double_books_and_the_checker_says_so(unguarded_stack: Target) -> None:
    """Proof that the race test can fail: the same storm with the lock switched off."""
    answers = await _storm(unguarded_stack, at(future_workday(5, weekday=3), 10), race_window_ms=400)
    await asyncio.sleep(1.0)
    code, report = await asyncio.to_thread(check, unguarded_stack)
    assert code == 1, report
    assert "double" in str(report).lower()
    # Even without the lock the database lets only one caller hear "gebucht".
    assert sum(1 for a in answers if a["success"]) <= 1



async def test_a_new_caller_booking_several_slots_at_once_gets_them_all(shared_stack: Target) -> None:
    """The first booking of a phone number creates its customer row: concurrent bookings of one new
    number (different slots) raced on that insert, and the loser heard "gerade belegt" (lock_busy)
    for a free slot."""
    day = future_workday(6, weekday=2)
    caller = "+4917699887766"
    client = RetellClient(shared_stack)
    try:
        answers = await asyncio.gather(*(
            client.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(day, hour),
                                             "customer_name": "Jo Neu"}, phone=caller)
            for hour in (9, 11, 13, 15)))
    finally:
        await client.aclose()
    assert [a["error"] for a in answers] == [None] * 4, answers
