"""Retell retry vs a deliberate repeat in one call (review F1, F8), through real HTTP.

A retry (same call, same function, same args, nothing mutating in between) gets the first answer;
the same words after the state changed are a new request; a refusal that asks the caller to try
again is never replayed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness.stack import StackOptions, Target
from tests.support.stack import RetellClient, at, future_workday, running_stack


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with running_stack(StackOptions(extra_env={"RECONCILE_INTERVAL_S": "0"})) as running:
        yield running


def phone() -> str:
    return f"+49152{uuid.uuid4().int % 10**8:08d}"


def call_id() -> str:
    return f"call_{uuid.uuid4().hex}"


async def _held(retell: RetellClient, caller: str) -> list[dict[str, Any]]:
    return (await retell.call("list_appointments", {}, phone=caller))["data"]["appointments"]  # type: ignore[no-any-return]


async def _active_at_calcom(retell: RetellClient, caller: str) -> list[dict[str, Any]]:
    return [b for b in await retell.ledger() if b["status"] == "accepted" and b["attendees"]
            and b["attendees"][0].get("phoneNumber") == caller]


async def test_rebooking_after_cancel_in_the_same_call_books_again(retell: RetellClient) -> None:
    day, cid, caller = future_workday(7, weekday=1), call_id(), phone()
    args = {"service": "Herrenschnitt", "date_time": at(day, 15), "customer_name": "Uwe Kraft"}
    assert (await retell.call("book_appointment", args, call_id=cid, phone=caller))["success"]
    assert (await retell.call("cancel_appointment", {"date_time": at(day, 15)}, call_id=cid, phone=caller))["success"]
    again = await retell.call("book_appointment", args, call_id=cid, phone=caller)
    held = await _held(retell, caller)
    assert again["success"] == bool(held), (again["message"], held)
    assert again["success"], again
    assert len(await _active_at_calcom(retell, caller)) == 1


async def test_cancel_after_rebooking_in_the_same_call_cancels_again(retell: RetellClient) -> None:
    day, cid, caller = future_workday(7, weekday=2), call_id(), phone()
    book = {"service": "Herrenschnitt", "date_time": at(day, 11), "customer_name": "Ute Lang"}
    cancel = {"date_time": at(day, 11)}
    assert (await retell.call("book_appointment", book, call_id=cid, phone=caller))["success"]
    assert (await retell.call("cancel_appointment", cancel, call_id=cid, phone=caller))["success"]
    assert (await retell.call("book_appointment", book, call_id=cid, phone=caller))["success"]
    last = await retell.call("cancel_appointment", cancel, call_id=cid, phone=caller)
    assert last["success"], last
    assert await _held(retell, caller) == []
    assert await _active_at_calcom(retell, caller) == []


async def test_a_retry_without_a_change_in_between_gets_the_first_answer(retell: RetellClient) -> None:
    day, cid, caller = future_workday(7, weekday=3), call_id(), phone()
    args = {"service": "Herrenschnitt", "date_time": at(day, 12), "customer_name": "Rita Roth"}
    first = await retell.call("book_appointment", args, call_id=cid, phone=caller)
    await retell.call("list_appointments", {}, call_id=cid, phone=caller)  # reading changes nothing
    retry = await retell.call("book_appointment", args, call_id=cid, phone=caller)
    assert first["success"] and retry == first
    assert len(await _active_at_calcom(retell, caller)) == 1


@pytest.mark.parametrize(("fault", "error"), [
    ({"kind": "http_error", "status": 422}, "calcom_unavailable"),
    ({"kind": "http_503"}, "booking_unconfirmed"),  # a 5xx may have committed: looked up, absent
])
async def test_a_transient_refusal_is_not_replayed_to_a_deliberate_retry(
        retell: RetellClient, fault: dict[str, Any], error: str) -> None:
    day, cid, caller = future_workday(8, weekday=1), call_id(), phone()
    hour = 16 if fault["kind"] == "http_error" else 17
    args = {"service": "Herrenschnitt", "date_time": at(day, hour), "customer_name": "Ina Roth"}
    await retell.faults(fault | {"method": "POST", "path": "/v2/bookings"})
    first = await retell.call("book_appointment", args, call_id=cid, phone=caller)
    assert first["success"] is False and first["error"] == error, first
    await retell.faults()
    again = await retell.call("book_appointment", args, call_id=cid, phone=caller)
    assert again["success"], again
    assert len(await _active_at_calcom(retell, caller)) == 1


async def test_an_unconfirmed_booking_is_looked_up_again_on_retry(retell: RetellClient) -> None:
    """The create's answer is lost twice over (create and lookup fail): the caller hears "bitte
    versuchen Sie es gleich noch einmal"; the retry finds the booking that did land and says so."""
    day, cid, caller = future_workday(8, weekday=2), call_id(), phone()
    args = {"service": "Herrenschnitt", "date_time": at(day, 10), "customer_name": "Kai Lose"}
    await retell.faults({"kind": "commit_then_500", "method": "POST", "path": "/v2/bookings", "count": 1},
                        {"kind": "http_503", "method": "GET", "path": "/v2/bookings", "count": 1})
    first = await retell.call("book_appointment", args, call_id=cid, phone=caller)
    await retell.faults()
    again = await retell.call("book_appointment", args, call_id=cid, phone=caller)
    held, active = await _held(retell, caller), await _active_at_calcom(retell, caller)
    for answer in (first, again):
        assert answer["success"] or answer["error"] == "booking_unconfirmed", answer
    assert again["success"] == bool(held) == (len(active) == 1), (first, again, held, active)
    assert len(active) <= 1


async def test_concurrent_retries_of_one_booking_book_once(retell: RetellClient) -> None:
    day, cid, caller = future_workday(9, weekday=1), call_id(), phone()
    args = {"service": "Herrenschnitt", "date_time": at(day, 14), "customer_name": "Pia Zwei"}
    answers = await asyncio.gather(*(retell.call("book_appointment", args, call_id=cid, phone=caller)
                                     for _ in range(3)))
    done = [a for a in answers if a["error"] != "in_progress"]
    assert done and all(a == done[0] for a in done), answers
    assert len(await _active_at_calcom(retell, caller)) == (1 if done[0]["success"] else 0)


async def test_moving_back_and_forth_in_one_call_ends_where_the_caller_said(retell: RetellClient) -> None:
    day, cid, caller = future_workday(9, weekday=3), call_id(), phone()
    assert (await retell.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(day, 10),
                                                   "customer_name": "Max Hin"}, call_id=cid, phone=caller))["success"]
    there = {"old_date_time": at(day, 10), "new_date_time": at(day, 14)}
    back = {"old_date_time": at(day, 14), "new_date_time": at(day, 10)}
    for move in (there, back, there):
        answer = await retell.call("reschedule_appointment", move, call_id=cid, phone=caller)
        assert answer["success"], (move, answer)
    held = await _held(retell, caller)
    assert [a["start"] for a in held] == [at(day, 14)], held
    assert len(await _active_at_calcom(retell, caller)) == 1


async def test_a_refusal_is_not_replayed_after_the_caller_booked_meanwhile(retell: RetellClient) -> None:
    """Found by `make soak` ("repeat" rule): a cancel answered "kein Termin" in one call, the caller
    books that time in another call, then the first call's cancel comes again word for word. A
    refusal changed nothing, so it is run again and answers what is true now; only an answer that
    changed something is kept for Retell's retries."""
    day, caller = future_workday(10, weekday=2), phone()
    cancel = {"date_time": at(day, 15)}
    first_call = call_id()
    refused = await retell.call("cancel_appointment", cancel, call_id=first_call, phone=caller)
    assert refused["success"] is False and refused["error"] == "not_found", refused
    booked = await retell.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(day, 15),
                                                    "customer_name": "Eva Zwo"}, call_id=call_id(), phone=caller)
    assert booked["success"], booked
    again = await retell.call("cancel_appointment", cancel, call_id=first_call, phone=caller)
    assert again["success"], again
    assert await _held(retell, caller) == []
    assert await _active_at_calcom(retell, caller) == []


async def test_a_booking_answer_is_not_replayed_once_the_appointment_was_moved_and_cancelled(
        retell: RetellClient) -> None:
    """Found by `make soak` ("repeat" rule): call A books 11:00; other calls of the same caller move
    it to 10:30 and cancel it; then call A's booking request comes again word for word. Replaying
    "… ist gebucht" with the cancelled appointment's id would be false: it is booked anew."""
    day, caller, first_call = future_workday(10, weekday=3), phone(), call_id()
    book = {"service": "Herrenschnitt", "date_time": at(day, 11), "customer_name": "Olga Alt"}
    first = await retell.call("book_appointment", book, call_id=first_call, phone=caller)
    assert first["success"], first
    moved = await retell.call("reschedule_appointment", {"old_date_time": at(day, 11),
                                                         "new_date_time": at(day, 10, 30)},
                              call_id=call_id(), phone=caller)
    assert moved["success"], moved
    assert (await retell.call("cancel_appointment", {"date_time": at(day, 10, 30)},
                              call_id=call_id(), phone=caller))["success"]
    again = await retell.call("book_appointment", book, call_id=first_call, phone=caller)
    assert again["success"], again
    assert again["data"]["appointment_id"] != first["data"]["appointment_id"]
    assert [a["start"] for a in await _held(retell, caller)] == [at(day, 11)]
    assert len(await _active_at_calcom(retell, caller)) == 1


async def test_a_cancel_answer_is_not_replayed_once_the_caller_booked_that_time_again(
        retell: RetellClient) -> None:
    day, caller, first_call = future_workday(10, weekday=4), phone(), call_id()
    book = {"service": "Herrenschnitt", "date_time": at(day, 14), "customer_name": "Nina Neu"}
    cancel = {"date_time": at(day, 14)}
    assert (await retell.call("book_appointment", book, call_id=call_id(), phone=caller))["success"]
    assert (await retell.call("cancel_appointment", cancel, call_id=first_call, phone=caller))["success"]
    assert (await retell.call("book_appointment", book, call_id=call_id(), phone=caller))["success"]
    again = await retell.call("cancel_appointment", cancel, call_id=first_call, phone=caller)
    assert again["success"], again
    assert await _held(retell, caller) == []
    assert await _active_at_calcom(retell, caller) == []


async def test_booking_a_time_the_caller_already_holds_says_so(retell: RetellClient) -> None:
    """A caller who asks again (in a new call, or after Retell's retry window) for the appointment
    they hold is told it is booked, with that appointment; "leider schon vergeben" would be false
    to them, and a second booking would double them up."""
    day, caller = future_workday(15, weekday=1), phone()
    book = {"service": "Herrenschnitt", "date_time": at(day, 16), "customer_name": "Tim Doppelt"}
    first = await retell.call("book_appointment", book, call_id=call_id(), phone=caller)
    assert first["success"], first
    again = await retell.call("book_appointment", book, call_id=call_id(), phone=caller)
    assert again["success"] and "bereits gebucht" in again["message"], again
    assert again["data"]["appointment_id"] == first["data"]["appointment_id"]
    other = await retell.call("book_appointment", book | {"customer_name": "Ute Andere"}, call_id=call_id(),
                              phone=phone())
    assert other["success"] is False and other["error"] == "slot_taken", other
    assert len(await _active_at_calcom(retell, caller)) == 1
