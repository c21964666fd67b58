"""What every /v2 route does first: find the mock's state, check the API version, authenticate, throttle.

Called directly at the top of each endpoint rather than through FastAPI's `Depends`: dependency
solving costs more than the whole slot computation, and the mock must stay far below its latency budget.
"""

from __future__ import annotations

from fastapi import Request

from mock_calcom.catalog import Host
from mock_calcom.errors import (
    MSG_INVALID_ACCESS_TOKEN,
    MSG_INVALID_API_KEY,
    MSG_LIST_NO_AUTH,
    MSG_NO_AUTH,
    MSG_THROTTLED,
    CalcomError,
)
from mock_calcom.state import MockState

SLOTS_VERSIONS = ("2024-09-04",)
BOOKINGS_VERSIONS = ("2024-08-13", "2026-02-25")
EVENT_TYPES_VERSIONS = ("2024-06-14",)
API_KEY_PREFIX = "cal_"


def mock_state(request: Request) -> MockState:
    return request.app.state.mock


def calcom_guard(
    request: Request, versions: tuple[str, ...], *, permissions_guard: bool = False
) -> MockState:
    """Cal.com's order: throttler, then API version routing, then the API-key strategy.

    The key's owner lands in `request.state.calcom_user`: a stylist's own key, or None for the salon
    account's key (the team owner, who sees every team booking). Routes behind Cal.com's
    PermissionsGuard (the bookings list) answer a missing token with its 403 first.
    """
    state = mock_state(request)
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if state.config.rate_limit:
        verdict = state.limiter.hit(token or (request.client.host if request.client else "unknown"))
        request.state.mock_headers = verdict.headers()
        if not verdict.allowed:
            raise CalcomError(429, MSG_THROTTLED)
    _check_version(request, versions)
    if permissions_guard and not token:
        # apps/api/v2/src/modules/auth/guards/permissions/permissions.guard.ts
        raise CalcomError(403, MSG_LIST_NO_AUTH)
    request.state.calcom_user = _authenticate(state, token)
    return state


def calcom_user(request: Request) -> Host | None:
    return getattr(request.state, "calcom_user", None)


def _check_version(request: Request, supported: tuple[str, ...]) -> None:
    """Refuse a `cal-api-version` this endpoint family does not have; a missing header means the first.

    Real Cal.com silently routes other values to older controllers with other response shapes; the mock
    refuses them instead, so a client sending the wrong version fails loudly in tests.
    """
    version = request.headers.get("cal-api-version")
    if version is not None and version not in supported:
        raise CalcomError(
            400, f"cal-api-version {version!r} is not served here; use {' or '.join(supported)}"
        )


def _authenticate(state: MockState, token: str) -> Host | None:
    if not token:
        raise CalcomError(401, MSG_NO_AUTH)
    host = state.catalog.host_by_key(token)
    if host is not None:
        return host
    configured = state.settings.api_key
    if configured:
        valid = token == configured
    else:
        valid = token.startswith(API_KEY_PREFIX) and len(token) > len(API_KEY_PREFIX)
    if not valid:
        # Cal.com treats a bearer token without the key prefix as an OAuth access token.
        raise CalcomError(
            401,
            MSG_INVALID_API_KEY if token.startswith(API_KEY_PREFIX) else MSG_INVALID_ACCESS_TOKEN,
        )
    return None
