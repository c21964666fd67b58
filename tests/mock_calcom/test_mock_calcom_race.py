"""The race window: with it, nothing stops two concurrent creates of one slot; without it, one loses."""

from __future__ import annotations

import asyncio

import httpx

from mock_calcom.errors import MSG_SLOT_TAKEN
from tests.mock_calcom.calcom_mock_support import BOOKINGS, MONDAY, MockClient

BODY = {
    "start": f"{MONDAY}T08:00:00Z",
    "eventTypeId": 2,
    "attendee": {"name": "Eva Schmidt", "email": "eva@example.de", "timeZone": "Europe/Berlin"},
}


async def two_concurrent_creates(base_url: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": "Bearer cal_race", **BOOKINGS}
    ) as client:
        first = {**BODY, "attendee": {**BODY["attendee"], "name": "Caller One"}}
        second = {**BODY, "attendee": {**BODY["attendee"], "name": "Caller Two"}}
        return list(
            await asyncio.gather(
                client.post("/v2/bookings", json=first), client.post("/v2/bookings", json=second)
            )
        )


def test_race_window_lets_two_creates_of_one_slot_both_succeed(mock: MockClient) -> None:
    mock.config(
        race_window_ms=1000
    )  # wide, so both requests arrive inside it even on a busy machine
    responses = asyncio.run(two_concurrent_creates(mock.base_url))
    assert [r.status_code for r in responses] == [201, 201]
    bookings = mock.ledger()
    assert len(bookings) == 2 and {b["status"] for b in bookings} == {"accepted"}
    assert bookings[0]["start"] == bookings[1]["start"] and bookings[0]["uid"] != bookings[1]["uid"]


def test_without_race_window_one_concurrent_create_loses(mock: MockClient) -> None:
    responses = asyncio.run(two_concurrent_creates(mock.base_url))
    assert sorted(r.status_code for r in responses) == [201, 400]
    loser = next(r for r in responses if r.status_code == 400)
    assert loser.json()["error"]["message"] == MSG_SLOT_TAKEN
    assert len(mock.ledger()) == 1


def test_race_window_does_not_admit_a_create_after_the_first_is_stored(mock: MockClient) -> None:
    mock.config(race_window_ms=100)
    assert mock.http.post("/v2/bookings", json=BODY, headers=BOOKINGS).status_code == 201
    assert mock.http.post("/v2/bookings", json=BODY, headers=BOOKINGS).status_code == 400
