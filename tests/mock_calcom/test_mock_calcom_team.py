"""The salon as a Cal.com team: which key sees what, team event types, the host's own cancel."""

from __future__ import annotations

import asyncio

import httpx

from booking_core.adapters.calcom import CalcomClient
from mock_calcom.catalog import load_catalog
from tests.mock_calcom.calcom_mock_support import BOOKINGS, EVENT_TYPES, MONDAY, MockClient

CATALOG = load_catalog()
DAMENSCHNITT, HERRENSCHNITT = 2, 1  # Anna (101), Mehmet (102)


def _as(mock: MockClient, key: str) -> httpx.Client:
    return httpx.Client(base_url=mock.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=5)


def test_a_stylists_key_lists_only_that_stylists_bookings_the_salon_key_all(mock: MockClient) -> None:
    anna = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z").json()["data"]["uid"]
    mehmet = mock.book(HERRENSCHNITT, f"{MONDAY}T08:00:00Z").json()["data"]["uid"]
    with _as(mock, "cal_anna_becker") as as_anna:
        seen = {b["uid"] for b in as_anna.get("/v2/bookings", headers=BOOKINGS).json()["data"]}
    assert seen == {anna}
    everything = {b["uid"] for b in mock.http.get("/v2/bookings", headers=BOOKINGS).json()["data"]}
    assert everything == {anna, mehmet}


def test_the_organizer_cancelling_with_own_key_must_give_a_reason(mock: MockClient) -> None:
    uid = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z").json()["data"]["uid"]
    with _as(mock, "cal_anna_becker") as as_anna:
        refused = as_anna.post(f"/v2/bookings/{uid}/cancel", headers=BOOKINGS, json={})
        assert refused.status_code == 400
        assert refused.json()["error"]["message"] == "Cancellation reason is required when you are the host"
        done = as_anna.post(f"/v2/bookings/{uid}/cancel", headers=BOOKINGS, json={"cancellationReason": "krank"})
        assert done.status_code == 200


def test_team_event_types_list_every_stylists_services(mock: MockClient) -> None:
    assert CATALOG.team is not None
    response = mock.http.get(f"/v2/teams/{CATALOG.team.id}/event-types", headers=EVENT_TYPES)
    assert response.status_code == 200
    data = response.json()["data"]
    assert len(data) == len(CATALOG.event_types)
    assert {e["hosts"][0]["userId"] for e in data} == {h.id for h in CATALOG.hosts}
    assert all(e["teamId"] == CATALOG.team.id for e in data)
    assert mock.http.get("/v2/teams/999/event-types", headers=EVENT_TYPES).status_code == 404


def test_the_client_reads_team_event_types_when_given_the_team(mock: MockClient) -> None:
    async def both() -> tuple[int, int]:
        team = CalcomClient(mock.base_url, "cal_anna_becker", team_id=1)
        own = CalcomClient(mock.base_url, "cal_anna_becker")
        try:
            return len(await team.event_types()), len(await own.event_types())
        finally:
            await team.aclose()
            await own.aclose()

    via_team, via_user = asyncio.run(both())
    assert via_team == len(CATALOG.event_types)
    anna = CATALOG.host_by_key("cal_anna_becker")
    assert anna is not None
    assert via_user == sum(1 for e in CATALOG.event_types if e.host == anna.id) < via_team


def test_multi_length_event_type_accepts_one_of_its_lengths(mock: MockClient) -> None:
    kopfmassage = next(e for e in CATALOG.event_types if e.length_options)
    body = {"start": f"{MONDAY}T08:00:00Z", "eventTypeId": kopfmassage.id, "lengthInMinutes": 30,
            "attendee": {"name": "Eva", "email": "eva@example.de", "timeZone": "Europe/Berlin"}}
    created = mock.http.post("/v2/bookings", json=body, headers=BOOKINGS)
    assert created.status_code == 201 and created.json()["data"]["duration"] == 30
    listed = mock.http.get(f"/v2/event-types/{kopfmassage.id}", headers=EVENT_TYPES).json()["data"]
    assert listed["lengthInMinutesOptions"] == list(kopfmassage.length_options)
