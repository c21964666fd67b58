"""What a handler knows about the phone call it serves."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class CallContext:
    call_id: str | None
    caller_phone: str | None
    now: datetime  # aware, salon time zone: the call's clock, relative dates are read against it
    idempotency_key: str
    fault: str | None = None  # test hook, only honoured with CALLSIM_TEST_HOOKS=1
    # True when this request made the call's idempotency claim: no earlier attempt of it ran, so
    # there is no half-done SAGA to resume. False (retries, no call id, no store) means "look".
    first_attempt: bool = False
    # When the request arrived (monotonic): the Cal.com budget counts from here, not from the SAGA.
    started: float = field(default_factory=time.monotonic)

    def left(self, budget_s: float, floor_s: float = 0.05) -> float:
        """Seconds of the budget still left for outside calls (never quite zero: try once)."""
        return max(floor_s, budget_s - (time.monotonic() - self.started))
