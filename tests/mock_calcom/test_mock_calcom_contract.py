"""The mock's responses have the keys and JSON types of Cal.com's own (fixtures/ and their sources)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.mock_calcom.calcom_mock_support import BOOKINGS, EVENT_TYPES, MONDAY, MockClient
from tests.mock_calcom.calcom_shape import shape_mismatches

FIXTURES = Path(__file__).with_name("fixtures")
DATE_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def reference(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def assert_same_shape(name: str, actual: Any) -> None:
    assert shape_mismatches(reference(name), actual) == []


def test_created_cancelled_and_rescheduled_bookings(mock: MockClient) -> None:
    created = mock.book(2, f"{MONDAY}T08:00:00Z", metadata={"appointment_id": "a"})
    assert created.status_code == 201
    assert_same_shape("booking_created", created.json())
    uid = created.json()["data"]["uid"]
    moved = mock.http.post(
        f"/v2/bookings/{uid}/reschedule", json={"start": f"{MONDAY}T12:00:00Z"}, headers=BOOKINGS
    )
    assert_same_shape("booking_rescheduled", moved.json())
    cancelled = mock.http.post(
        f"/v2/bookings/{moved.json()['data']['uid']}/cancel",
        json={"cancellationReason": "x"},
        headers=BOOKINGS,
    )
    assert_same_shape("booking_cancelled", cancelled.json())
    assert_same_shape(
        "booking_cancelled", mock.http.get(f"/v2/bookings/{uid}", headers=BOOKINGS).json()
    )


def test_bookings_list_with_pagination(mock: MockClient) -> None:
    mock.book(2, f"{MONDAY}T08:00:00Z")
    assert_same_shape("bookings_list", mock.http.get("/v2/bookings", headers=BOOKINGS).json())


@pytest.mark.parametrize(
    ("fixture", "params"), [("slots_time", {}), ("slots_range", {"format": "range"})]
)
def test_slots(mock: MockClient, fixture: str, params: dict[str, str]) -> None:
    actual = mock.slots(2, MONDAY, **params).json()
    expected = reference(fixture)
    assert set(actual) == set(expected) and actual["status"] == "success"
    assert actual["data"] and all(DATE_KEY.match(day) for day in actual["data"])
    sample = next(iter(expected["data"].values()))
    for slots in actual["data"].values():
        assert shape_mismatches(sample, slots) == []
        assert all(set(slot) == set(sample[0]) for slot in slots)


def test_event_types(mock: MockClient) -> None:
    assert_same_shape("event_types", mock.http.get("/v2/event-types", headers=EVENT_TYPES).json())


def test_errors(mock: MockClient) -> None:
    mock.book(2, f"{MONDAY}T08:00:00Z")
    assert_same_shape("error_slot_taken", mock.book(2, f"{MONDAY}T08:00:00Z").json())
    unauthorized = mock.http.get(
        "/v2/bookings", headers={**BOOKINGS, "Authorization": "Bearer cal_"}
    )
    assert_same_shape("error_unauthorized", unauthorized.json())
    internal = mock.book(2, f"{MONDAY}T10:00:00Z", headers={"X-Mock-Fault": "http_500"})
    assert internal.json()["error"] == reference("error_internal")["error"]


def test_comparison_catches_drift() -> None:
    booking = reference("booking_created")
    renamed = json.loads(json.dumps(booking))
    renamed["data"]["startTime"] = renamed["data"].pop("start")
    retyped = json.loads(json.dumps(booking))
    retyped["data"]["id"] = "123"
    assert shape_mismatches(booking, renamed) == [
        "$.data.start: missing",
        "$.data.startTime: not in Cal.com's shape",
    ]
    assert shape_mismatches(booking, retyped) == ["$.data.id: Cal.com has number, got string"]
