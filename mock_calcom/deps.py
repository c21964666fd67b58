"""Dependencies shared by the /v2 routes: the mock's state, Cal.com's auth guard and throttler, API versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from mock_calcom.errors import (
    MSG_INVALID_ACCESS_TOKEN,
    MSG_INVALID_API_KEY,
    MSG_NO_AUTH,
    MSG_THROTTLED,
    CalcomError,
)
from mock_calcom.state import MockState

SLOTS_VERSIONS = ("2024-09-04",)
BOOKINGS_VERSIONS = ("2024-08-13", "2026-02-25")
EVENT_TYPES_VERSIONS = ("2024-06-14",)
API_KEY_PREFIX = "cal_"


def get_state(request: Request) -> MockState:
    return request.app.state.mock


StateDep = Annotated[MockState, Depends(get_state)]


def authenticate(request: Request, state: StateDep) -> str:
    """Cal.com's throttler (keyed by the bearer token) then its API-key strategy; returns the key."""
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    if state.config.rate_limit:
        verdict = state.limiter.hit(token or (request.client.host if request.client else "unknown"))
        request.state.mock_headers = verdict.headers()
        if not verdict.allowed:
            raise CalcomError(429, MSG_THROTTLED)
    if not token:
        raise CalcomError(401, MSG_NO_AUTH)
    configured = state.settings.api_key
    valid = (
        token == configured
        if configured
        else token.startswith(API_KEY_PREFIX) and len(token) > len(API_KEY_PREFIX)
    )
    if not valid:
        # Cal.com treats a bearer token without the key prefix as an OAuth access token.
        raise CalcomError(
            401,
            MSG_INVALID_API_KEY if token.startswith(API_KEY_PREFIX) else MSG_INVALID_ACCESS_TOKEN,
        )
    return token


def api_version(*supported: str) -> Callable[[Request], str]:
    """Reject a `cal-api-version` this endpoint family does not have; a missing header means the first.

    Real Cal.com silently routes other values to older controllers with other response shapes; the mock
    refuses them instead, so a client sending the wrong version fails loudly in tests.
    """

    def check(request: Request) -> str:
        version = request.headers.get("cal-api-version")
        if version is None:
            return supported[0]
        if version not in supported:
            raise CalcomError(
                400, f"cal-api-version {version!r} is not served here; use {' or '.join(supported)}"
            )
        return version

    return check


AuthDep = Annotated[str, Depends(authenticate)]
