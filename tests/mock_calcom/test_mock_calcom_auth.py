"""Bearer API-key auth with Cal.com's 401 texts, and Cal.com's throttler (120 requests / 60 s per key)."""

from __future__ import annotations

import httpx
import pytest

from mock_calcom.app import create_app
from mock_calcom.errors import MSG_INVALID_ACCESS_TOKEN, MSG_INVALID_API_KEY, MSG_NO_AUTH
from mock_calcom.settings import MockSettings
from tests.mock_calcom.calcom_mock_support import EVENT_TYPES, MockClient


def in_process(settings: MockSettings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://mock"
    )


def assert_401(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "UnauthorizedException" and error["message"] == message
    assert error["details"] == {"message": message, "error": "Unauthorized", "statusCode": 401}


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, MSG_NO_AUTH),
        ("Bearer ", MSG_NO_AUTH),
        ("Bearer not-a-cal-key", MSG_INVALID_ACCESS_TOKEN),
        ("Bearer cal_", MSG_INVALID_API_KEY),
    ],
)
async def test_any_cal_key_is_accepted_when_none_is_configured(
    authorization: str | None, message: str
) -> None:
    async with in_process(MockSettings(seed=1)) as client:
        headers = {**EVENT_TYPES, **({"Authorization": authorization} if authorization else {})}
        assert_401(await client.get("/v2/event-types", headers=headers), message)
        accepted = await client.get(
            "/v2/event-types", headers={**EVENT_TYPES, "Authorization": "Bearer cal_live_123"}
        )
        assert accepted.status_code == 200


async def test_only_the_configured_key_is_accepted() -> None:
    async with in_process(MockSettings(seed=1, api_key="cal_secret")) as client:
        other = await client.get("/v2/bookings", headers={"Authorization": "Bearer cal_other"})
        assert_401(other, MSG_INVALID_API_KEY)
        assert (
            await client.get("/v2/bookings", headers={"Authorization": "Bearer cal_secret"})
        ).status_code == 200
        assert (
            await client.get("/_control/config")
        ).status_code == 200  # the control API needs no key


def test_rate_limiter_counts_per_key_and_answers_429(mock: MockClient) -> None:
    mock.config(rate_limit=True, rate_limit_requests=3)
    responses = [mock.http.get("/v2/event-types", headers=EVENT_TYPES) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining-Default"] for r in responses] == ["2", "1", "0", "0"]
    assert all(r.headers["X-RateLimit-Limit-Default"] == "3" for r in responses)
    assert 0 < int(responses[-1].headers["X-RateLimit-Reset-Default"]) <= 60
    assert responses[-1].json()["error"]["code"] == "ThrottlerException"
    assert "retry-after" not in responses[-1].headers
    other_key = mock.http.get(
        "/v2/event-types", headers={**EVENT_TYPES, "Authorization": "Bearer cal_other"}
    )
    assert other_key.status_code == 200


def test_rate_limit_headers_only_when_the_limiter_is_on(mock: MockClient) -> None:
    assert (
        "X-RateLimit-Limit-Default"
        not in mock.http.get("/v2/event-types", headers=EVENT_TYPES).headers
    )
