"""Transport failures on tape: the part of a bad call vcrpy cannot see.

vcrpy records answers, never failures, yet a timeout or a lost response is what a bad call is made
of. A failure is written as a marker interaction (status 599, the exception's name, how long it
took) and raised again on replay after the same wait, which keeps the core's time budgets on the
path they took.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from vcr.request import Request as VcrRequest

FAILURE_STATUS = 599
FAILURE_HEADER = "x-callsim-failure"
ELAPSED_HEADER = "x-callsim-elapsed-ms"
# Past the recorded wait, a replayed hang gives up by itself: a core with a longer timeout than the
# recording's still hears "timeout", as nothing more is known about that request.
HANG_GRACE_S = 0.25


def failure_interaction(error: BaseException, elapsed_s: float) -> dict[str, Any]:
    return {"status": {"code": FAILURE_STATUS, "message": "no response (callsim transport failure)"},
            "headers": {FAILURE_HEADER: [type(error).__name__], ELAPSED_HEADER: [f"{elapsed_s * 1000:.0f}"]},
            "body": {"string": b""}}


def as_vcr_request(request: httpx.Request) -> VcrRequest:
    try:
        body = request.content
    except httpx.RequestNotRead:
        body = b""
    return VcrRequest(request.method, str(request.url), body, dict(request.headers))


def is_recorded_failure(response: httpx.Response) -> bool:
    return response.status_code == FAILURE_STATUS and FAILURE_HEADER in response.headers


async def raise_recorded_failure(request: httpx.Request, response: httpx.Response) -> None:
    name = response.headers.get(FAILURE_HEADER, "ReadTimeout")
    waited = float(response.headers.get(ELAPSED_HEADER, "0")) / 1000
    error = getattr(httpx, name, None)
    if not (isinstance(error, type) and issubclass(error, httpx.TransportError)):
        # The recording's caller gave up (its own deadline): wait as long, let the same deadline
        # fire again, and only then call it a timeout.
        await asyncio.sleep(waited + HANG_GRACE_S)
        raise httpx.ReadTimeout(f"recorded: no answer within {waited:.2f} s", request=request)
    await asyncio.sleep(waited)
    raise error(f"recorded: {name}", request=request)
