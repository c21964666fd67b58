"""What callers heard: reading and judging each answer, and the record the gates check.

The record is the evidence for the truthfulness gate (every "gebucht" backed by a booking, no
booking a caller was not told about) and for the contention figures (how fast a caller who lost a
slot heard so). Under distributed Locust every worker keeps its own and hands new entries to the
master, which merges them: entries carry the call id and the turn number, so order does not matter.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from booking_core.schemas import FunctionAnswer
from load.calls import Answer

# Refusals a caller may hear under any load: someone else was faster, or the wish did not fit.
REFUSALS = frozenset({"slot_taken", "lock_busy", "outside_hours", "not_found", "appointment_ambiguous"})
# Refusals that are the right answer only while Cal.com is degraded.
DEGRADED_REFUSALS = frozenset({"calcom_unavailable", "booking_unconfirmed"})
CONTENTION = frozenset({"slot_taken", "lock_busy"})
# Enough of each answer's data for the truthfulness check (which booking, which start).
_KEPT_DATA = ("appointment_id", "start", "old_start")


def read_answer(status: int, body: bytes | str | None) -> tuple[Answer, str | None]:
    """The answer, and why it is a failure at the transport or contract level (None if it is not)."""
    if status != 200:
        reason = f"HTTP {status}" if status else "no response"
        return Answer(False, "transport", "", {}), reason
    try:
        parsed = FunctionAnswer.model_validate_json(body or b"")
    except ValidationError as error:
        return Answer(False, "transport", "", {}), f"answer breaks the contract: {error.errors()[0]['msg']}"
    return Answer(parsed.success, parsed.error, parsed.message, parsed.data), None


def retryable(status: int) -> bool:
    """What Retell sends again: no answer in time, or a 5xx/429."""
    return status == 0 or status >= 500 or status == 429


def failure_reason(answer: Answer, expected_refusals: frozenset[str]) -> str | None:
    """None for a success or an expected refusal; otherwise what went wrong, for Locust's failure table."""
    if answer.success:
        return None
    if answer.error in expected_refusals:
        return None
    return f"refused: {answer.error}"


@dataclass(frozen=True)
class Heard:
    call_id: str
    from_number: str
    caller_name: str
    turn: int
    name: str
    args: dict[str, Any]
    success: bool
    error: str | None
    message: str
    data: dict[str, Any]
    response_ms: float  # what the caller waited, retries included
    attempts: int = 1
    at: str = ""  # when the answer came (UTC), to line it up with the servers' logs

    @classmethod
    def of(cls, call_id: str, from_number: str, caller_name: str, turn: int, name: str, args: dict[str, Any],
           answer: Answer, response_ms: float, attempts: int = 1) -> Heard:
        return cls(call_id, from_number, caller_name, turn, name, args, answer.success, answer.error,
                   answer.message, {k: answer.data[k] for k in _KEPT_DATA if k in answer.data},
                   round(response_ms, 1), attempts, datetime.now(UTC).isoformat(timespec="milliseconds"))


class AnswerLog:
    def __init__(self) -> None:
        self.heard: list[Heard] = []
        self._unsent = 0

    def add(self, entry: Heard) -> None:
        self.heard.append(entry)

    def take_unsent(self) -> list[dict[str, Any]]:
        """New entries since the last call, as plain dicts for Locust's worker→master messages."""
        fresh = self.heard[self._unsent:]
        self._unsent = len(self.heard)
        return [asdict(h) for h in fresh]

    def merge(self, entries: list[dict[str, Any]]) -> None:
        self.heard.extend(Heard(**e) for e in entries)

    def outcomes(self) -> Counter[tuple[str, str]]:
        """(function, "ok" | error code) → count."""
        return Counter((h.name, "ok" if h.success else str(h.error)) for h in self.heard)

    def contention_ms(self, errors: frozenset[str] = CONTENTION) -> list[float]:
        return [h.response_ms for h in self.heard if h.name in ("book_appointment", "reschedule_appointment")
                and not h.success and h.error in errors]

    def calls(self) -> list[dict[str, Any]]:
        """Every call as the harness's CallRecord (the shape `callsim check --answers` reads)."""
        by_call: dict[str, list[Heard]] = {}
        for h in self.heard:
            by_call.setdefault(h.call_id, []).append(h)
        records = []
        for index, (call_id, turns) in enumerate(by_call.items()):
            turns.sort(key=lambda h: h.turn)
            first = turns[0]
            records.append({
                "scenario": "load", "call_index": index, "caller_index": index, "call_id": call_id,
                "from_number": first.from_number, "caller_name": first.caller_name, "now": "",
                "functions": [{"name": h.name, "args": h.args, "route": "function-call", "attempts": h.attempts,
                               "client_ms": h.response_ms, "success": h.success, "error": h.error,
                               "message": h.message, "data": h.data, "at": h.at} for h in turns],
            })
        return records

    def write_answers(self, path: str) -> None:
        """The `--answers` file of `callsim check`: one scenario holding every call."""
        with open(path, "w", encoding="utf-8") as out:
            json.dump({"scenarios": [{"name": "load", "calls": self.calls()}]}, out, ensure_ascii=False)
