"""What a handler knows about the phone call it serves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CallContext:
    call_id: str | None
    caller_phone: str | None
    now: datetime  # aware, salon time zone: the call's clock, relative dates are read against it
    idempotency_key: str
    fault: str | None = None  # test hook, only honoured with CALLSIM_TEST_HOOKS=1
