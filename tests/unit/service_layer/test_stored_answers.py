"""A kept answer is replayed to a retry only while what it says still stands (stored_answers)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking_core.schemas import FunctionAnswer
from booking_core.service_layer.stored_answers import still_true
from tests.unit.service_layer.fakes import FakeCore
from tests.unit.service_layer.test_booking_saga import CONFIRMED, START, existing


def said(appointment_id: str, success: bool = True) -> FunctionAnswer:
    return FunctionAnswer(success=success, message="…", data={"appointment_id": appointment_id})


@pytest.mark.parametrize("name", ["book_appointment", "reschedule_appointment"])
@pytest.mark.parametrize(("status", "stands"), [(CONFIRMED, True), ("cancelled", False), ("rescheduled", False)])
async def test_a_booking_answer_stands_while_its_appointment_is_confirmed(core: FakeCore, name: str, status: str,
                                                                          stands: bool) -> None:
    row = existing(core, status)
    assert await still_true(core, name, said(row.id)) is stands


async def test_an_answer_about_an_appointment_that_is_gone_does_not_stand(core: FakeCore) -> None:
    assert await still_true(core, "book_appointment", said("no-such-id")) is False


async def test_a_cancel_answer_stands_until_the_caller_holds_that_time_again(core: FakeCore) -> None:
    cancelled = existing(core, "cancelled")
    existing(core, CONFIRMED, start=START + timedelta(hours=2))  # another time: irrelevant
    assert await still_true(core, "cancel_appointment", said(cancelled.id)) is True
    existing(core, CONFIRMED)  # booked again, same time, in another call
    assert await still_true(core, "cancel_appointment", said(cancelled.id)) is False


async def test_someone_else_at_that_time_does_not_undo_a_cancel(core: FakeCore) -> None:
    cancelled = existing(core, "cancelled")
    existing(core, CONFIRMED, phone="+4915100000999")
    assert await still_true(core, "cancel_appointment", said(cancelled.id)) is True


async def test_answers_without_an_appointment_stand(core: FakeCore) -> None:
    assert await still_true(core, "book_appointment", FunctionAnswer(success=True, message="…")) is True
    assert await still_true(core, "cancel_appointment", said("x", success=False)) is True
