"""`callsim explain`: how the simulated agent reads each caller turn, without any server.

Per turn: intent, service phrase, date phrases, name, phone and the words it could not place, and
the function calls it would make. The core is not asked: every call is assumed to succeed (a check
finds the slot free, a booking is made), so authors see a misreading before they run a scenario.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from harness.agent import SimulatedAgent
from harness.callers import make_caller, stable_seed
from harness.clock import BERLIN, date_placeholders
from harness.results import CallRecord, EventDelivery, FunctionCallRecord
from harness.retell import LiveCall
from harness.scenario import Scenario
from harness.speech import Understanding


class _AssumingCore:
    """Stands in for platform + core: answers every function call with a plain yes."""

    sends_call_object = True

    async def function_call(self, call: LiveCall, name: str, args: dict[str, Any]) -> FunctionCallRecord:
        data: dict[str, Any] = {}
        if name == "check_availability":
            data = {"available": True, "requested": args.get("date_time"), "service": args.get("service")}
        return FunctionCallRecord(name=name, args=args, route="(explain)", success=True,
                                  message="(angenommen: erfolgreich)", data=data)

    async def event(self, call: LiveCall, event: str) -> list[EventDelivery]:
        return []


@dataclass
class TurnReading:
    turn: str
    reading: Understanding
    calls: list[FunctionCallRecord] = field(default_factory=list)
    answer: str = ""


async def _explain_call(scenario: Scenario, turns: list[str], now: datetime) -> list[TurnReading]:
    caller = make_caller(scenario.caller, stable_seed(scenario.name), 0)
    record = CallRecord(scenario=scenario.name, call_index=0, caller_index=0, call_id="call_explain",
                        from_number=caller.phone, caller_name=caller.name, now=now.isoformat())
    call = LiveCall(call_id=record.call_id, from_number=caller.phone, start_timestamp=int(now.timestamp() * 1000))
    agent = SimulatedAgent(_AssumingCore(), call, record, caller, scenario.policy)  # type: ignore[arg-type]
    readings = []
    for turn in turns:
        before = len(record.functions)
        answer = await agent.respond(turn)
        assert agent.last_heard is not None
        readings.append(TurnReading(turn, agent.last_heard, record.functions[before:], answer))
        if agent.ended:
            break
    return readings


def explain_scenario(scenario: Scenario) -> list[list[TurnReading]]:
    now = datetime.now(BERLIN)
    caller = make_caller(scenario.caller, stable_seed(scenario.name), 0)
    values = {**date_placeholders(now), **caller.placeholders()}
    return [asyncio.run(_explain_call(scenario, [(t or "").format_map(values) for t in script.turns], now))
            for script in scenario.calls]


def describe(reading: Understanding) -> dict[str, Any]:
    return {
        "intent": reading.intent, "service": reading.service,
        "dates": [m.phrase() + (" (ersetzt)" if m.replaced else "") for m in reading.dates],
        "name": reading.name, "phone": reading.phone, "unplaced": reading.unplaced,
    }
