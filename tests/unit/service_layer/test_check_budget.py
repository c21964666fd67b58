"""What a caller hears when Cal.com is slow to answer a read.

A check that waited in the core's own queue (a burst of callers) still gives Cal.com a real chance to
answer: "Ich kann den Kalender gerade nicht erreichen" must mean Cal.com did not answer in time, not
that the core was busy before it asked. Seen at 200 callers back to back: checks whose request had
queued past the 1.3 s Cal.com budget gave Cal.com 50 ms and answered calcom_unavailable. And a taken
slot whose alternatives could not be read says so, instead of "no free appointment found"."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta

from booking_core.adapters.calcom import CalcomOutcomeUnknown
from booking_core.schemas import FunctionArgs
from booking_core.service_layer.context import CallContext
from booking_core.service_layer.handlers import run_function
from tests.unit.service_layer.fakes import FakeCore, FakeSlots
from tests.unit.service_layer.test_booking_saga import PHONE, START

CALCOM_TAKES_S = 0.15


class SlowSlots(FakeSlots):
    """Cal.com answering in 150 ms: a request given less than that times out, as the real client does."""

    async def slots(self, event_type_id: int, start: datetime, end: datetime, time_zone: str,
                    timeout_s: float | None = None) -> list[datetime]:
        if timeout_s is not None and timeout_s < CALCOM_TAKES_S:
            await asyncio.sleep(timeout_s)
            raise CalcomOutcomeUnknown(f"timeout after {timeout_s:.2f}s")
        await asyncio.sleep(CALCOM_TAKES_S)
        return await super().slots(event_type_id, start, end, time_zone, timeout_s)


def queued_call(waited_s: float) -> CallContext:
    return CallContext(call_id=f"call_{uuid.uuid4().hex[:8]}", caller_phone=PHONE, now=START - timedelta(days=1),
                       idempotency_key=uuid.uuid4().hex, started=time.monotonic() - waited_s)


async def test_a_check_that_waited_in_the_queue_still_asks_cal_com(core: FakeCore) -> None:
    core.slots = SlowSlots()
    waited = core.settings.calcom_budget_s + 0.5  # the whole Cal.com budget went by in the core's own queue
    answer = await run_function(core, "check_availability", queued_call(waited),
                                FunctionArgs(service="Damenschnitt", date_time=START.isoformat()))
    assert answer.success, answer
    assert answer.data["available"] is True


async def test_a_cal_com_that_does_not_answer_is_still_said(core: FakeCore) -> None:
    class HangingSlots(FakeSlots):
        async def slots(self, *args: object, timeout_s: float | None = None, **kwargs: object) -> list[datetime]:
            await asyncio.sleep(timeout_s or 0)
            raise CalcomOutcomeUnknown("timeout")

    core.slots = HangingSlots()
    started = time.monotonic()
    answer = await run_function(core, "check_availability", queued_call(0.0),
                                FunctionArgs(service="Damenschnitt", date_time=START.isoformat()))
    assert answer.error == "calcom_unavailable"
    assert time.monotonic() - started < core.settings.calcom_budget_s + 0.2  # within the voice budget


async def test_a_taken_slot_whose_alternatives_cannot_be_read_does_not_claim_nothing_is_free(core: FakeCore) -> None:
    class SilentSlots(FakeSlots):
        async def slots(self, *args: object, timeout_s: float | None = None, **kwargs: object) -> list[datetime]:
            raise CalcomOutcomeUnknown("timeout")

    core.calcom.create_outcome = "taken"
    core.slots = SilentSlots()
    answer = await run_function(core, "book_appointment", queued_call(0.0),
                                FunctionArgs(service="Damenschnitt", date_time=START.isoformat(), customer_name="Eva"))

    assert (answer.success, answer.error, answer.data["alternatives"]) == (False, "slot_taken", [])
    assert "kann ich gerade nicht nachsehen" in answer.message
    assert "keinen freien Termin" not in answer.message
