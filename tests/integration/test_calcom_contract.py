"""Contract: the core's Cal.com client behaves the same against mock_calcom and against Cal.com's
reference responses (tests/mock_calcom/fixtures, assembled from Cal.com's source)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from booking_core.adapters.calcom import CalcomClient, CalcomRejected, CalcomSlotTaken
from mock_calcom.launcher import running_mock
from tests.support.stack import future_workday

FIXTURES = Path(__file__).parent.parent / "mock_calcom" / "fixtures"
KEY = "cal_contract_key"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def reference_transport() -> httpx.MockTransport:
    """Cal.com as its reference responses describe it."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return httpx.Response(401, json=fixture("error_unauthorized.json"))
        path, method = request.url.path, request.method
        if path == "/v2/event-types":
            return httpx.Response(200, json=fixture("event_types.json"))
        if path == "/v2/slots":
            return httpx.Response(200, json=fixture("slots_time.json"))
        if path == "/v2/bookings" and method == "POST":
            body = json.loads(request.content)
            created = fixture("booking_created.json")
            created["data"]["metadata"] = body["metadata"]
            # Cal.com books the requested start; the client checks that it did.
            created["data"]["start"] = body["start"]
            return httpx.Response(201, json=created)
        if path == "/v2/bookings" and method == "GET":
            return httpx.Response(200, json=fixture("bookings_list.json"))
        if path.endswith("/cancel"):
            return httpx.Response(200, json=fixture("booking_cancelled.json"))
        return httpx.Response(404, json=fixture("error_internal.json"))

    return httpx.MockTransport(handler)


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running_mock("--api-key", KEY) as url:
        yield url


@pytest.fixture(params=["mock_calcom", "reference"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[CalcomClient]:
    if request.param == "mock_calcom":
        calcom = CalcomClient(request.getfixturevalue("mock_url"), KEY, timeout_s=5)
    else:
        calcom = CalcomClient("https://api.cal.com", KEY, timeout_s=5, transport=reference_transport())
    yield calcom
    await calcom.aclose()


async def test_event_types_map_to_services(client: CalcomClient) -> None:
    event_types = await client.event_types()
    assert event_types
    for event_type in event_types:
        assert isinstance(event_type["id"], int) and event_type["title"]
        assert isinstance(event_type["lengthInMinutes"], int)


async def test_slots_are_aware_datetimes(client: CalcomClient) -> None:
    day = future_workday(4)
    event_type = (await client.event_types())[0]["id"]
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    slots = await client.slots(event_type, start, start + timedelta(days=1), "Europe/Berlin")
    assert slots and all(s.tzinfo is not None for s in slots)
    assert slots == sorted(slots)


async def test_create_find_and_cancel(client: CalcomClient) -> None:
    event_type = (await client.event_types())[0]
    day = future_workday(5)
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    booking = await client.create_booking(
        event_type_id=event_type["id"], start=start, length_min=event_type["lengthInMinutes"],
        attendee={"name": "Vertrag Test", "email": "t@telefon.invalid", "timeZone": "Europe/Berlin",
                  "phoneNumber": "+4915100000000", "language": "de"},
        metadata={"appointment_id": "contract-1", "call_id": "c"})
    assert booking.uid and booking.active and booking.metadata["appointment_id"] == "contract-1"
    listed = await client.list_bookings()
    assert all(b.uid for b in listed)
    await client.cancel_booking(booking.uid, "Vertragstest")


async def test_wrong_key_is_a_rejection_not_an_unknown_outcome(client: CalcomClient) -> None:
    client._http.headers["Authorization"] = "Bearer cal_wrong"
    with pytest.raises(CalcomRejected) as refused:
        await client.event_types()
    assert refused.value.status == 401


def test_reference_slot_taken_error_is_classified_as_slot_taken() -> None:
    body = fixture("error_slot_taken.json")
    with pytest.raises(CalcomSlotTaken):
        CalcomClient._payload(httpx.Response(400, json=body))
