"""The Cal.com v2 surface: event types, slots, create/list/get/cancel/reschedule, envelopes, ledger, journal."""

from __future__ import annotations

import re

from mock_calcom.catalog import load_catalog
from mock_calcom.errors import MSG_ALREADY_CANCELLED, MSG_PAST, MSG_SINGLE_LENGTH, MSG_SLOT_TAKEN
from tests.mock_calcom.calcom_mock_support import (
    BOOKINGS,
    EVENT_TYPES,
    MONDAY,
    SLOTS,
    SUNDAY,
    TUESDAY,
    MockClient,
)

CATALOG = load_catalog()
DAMENSCHNITT, FAERBEN, HERRENSCHNITT, BALAYAGE = 2, 10, 1, 14  # Anna: 2, 10, 14; Mehmet: 1
SLOT_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000\+0[12]:00$")


def assert_error(response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert body["error"]["message"] == message
    assert body["error"]["details"] == {
        "message": message,
        "error": body["error"]["details"]["error"],
        "statusCode": status,
    }
    assert set(body) == {"status", "timestamp", "path", "error"}


def test_event_types_list_the_salon_catalog(mock: MockClient) -> None:
    response = mock.http.get("/v2/event-types", headers=EVENT_TYPES)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    by_id = {e["id"]: e for e in body["data"]}
    assert len(by_id) == len(CATALOG.event_types) >= 20
    for event_type in CATALOG.event_types:
        out = by_id[event_type.id]
        assert (out["title"], out["slug"], out["lengthInMinutes"]) == (
            event_type.title,
            event_type.slug,
            event_type.length_in_minutes,
        )
        assert out["price"] == round(event_type.price_eur * 100) and out["currency"] == "eur"
        assert (
            out["ownerId"] == event_type.host == out["hosts"][0]["userId"] == out["users"][0]["id"]
        )


def test_event_type_by_id_filter_and_not_found(mock: MockClient) -> None:
    assert (
        mock.http.get("/v2/event-types/2", headers=EVENT_TYPES).json()["data"]["title"]
        == "Damenschnitt"
    )
    missing = mock.http.get("/v2/event-types/999", headers=EVENT_TYPES)
    assert_error(missing, 404, "NotFoundException", "Event type with id=999 not found")
    mehmet = mock.http.get(
        "/v2/event-types", params={"username": "mehmet-yilmaz"}, headers=EVENT_TYPES
    ).json()
    assert {e["ownerId"] for e in mehmet["data"]} == {102}
    assert len(mehmet["data"]) == sum(e.host == 102 for e in CATALOG.event_types)


def test_slots_follow_opening_hours_duration_and_interval(mock: MockClient) -> None:
    response = mock.slots(DAMENSCHNITT, MONDAY)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success"
    starts = [slot["start"] for slot in body["data"][MONDAY]]
    assert all(SLOT_FORMAT.match(start) for start in starts)
    times = [start[11:16] for start in starts]
    # 09:00 to 17:00 (a 60-minute service must end by 18:00) every 15 minutes.
    assert times[0] == "09:00" and times[-1] == "17:00" and len(times) == 33
    assert mock.slot_times(BALAYAGE, MONDAY)[-1] == "15:30"
    assert mock.slot_times(DAMENSCHNITT, SUNDAY) == []


def test_slots_range_format_and_utc_default(mock: MockClient) -> None:
    ranged = mock.slots(DAMENSCHNITT, MONDAY, format="range").json()["data"][MONDAY][0]
    assert ranged == {
        "start": f"{MONDAY}T09:00:00.000+02:00",
        "end": f"{MONDAY}T10:00:00.000+02:00",
    }
    utc = mock.http.get(
        "/v2/slots",
        params={"eventTypeId": DAMENSCHNITT, "start": MONDAY, "end": MONDAY},
        headers=SLOTS,
    ).json()["data"][MONDAY][0]
    assert utc == {"start": f"{MONDAY}T07:00:00.000Z"}


def test_slots_exclude_the_hosts_booked_time_only(mock: MockClient) -> None:
    assert (
        mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z").status_code == 201
    )  # 10:00-11:00 in Berlin
    faerben = mock.slot_times(FAERBEN, MONDAY)  # 90 minutes, same host
    assert "09:00" not in faerben and "10:45" not in faerben and "11:00" in faerben
    assert "08:30" not in faerben  # before opening anyway
    assert "10:00" in mock.slot_times(HERRENSCHNITT, MONDAY)  # another host is free


def test_slots_in_the_past_are_not_offered(mock: MockClient) -> None:
    mock.config(now=f"{MONDAY}T10:05:00Z")  # 12:05 in Berlin
    assert mock.slot_times(DAMENSCHNITT, MONDAY)[0] == "12:15"


def test_create_booking_answers_201_with_calcom_booking(mock: MockClient) -> None:
    response = mock.book(
        DAMENSCHNITT,
        f"{TUESDAY}T08:00:00.000Z",
        metadata={"appointment_id": "a-1", "call_id": "c-1"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    booking = body["data"]
    assert booking["status"] == "accepted"
    assert (booking["start"], booking["end"], booking["duration"]) == (
        f"{TUESDAY}T08:00:00.000Z",
        f"{TUESDAY}T09:00:00.000Z",
        60,
    )
    assert booking["eventTypeId"] == DAMENSCHNITT and booking["eventType"] == {
        "id": 2,
        "slug": "damenschnitt",
    }
    assert booking["hosts"][0]["id"] == 101 and booking["hosts"][0]["name"] == "Anna Becker"
    assert (
        booking["attendees"][0]["email"] == "eva.schmidt@example.de"
        and booking["attendees"][0]["language"] == "de"
    )
    assert booking["metadata"] == {"appointment_id": "a-1", "call_id": "c-1"}
    assert len(booking["uid"]) == 22 and isinstance(booking["id"], int)


def test_taken_slot_is_refused_as_calcom_does(mock: MockClient) -> None:
    first = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z")
    assert first.status_code == 201
    same = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z")
    assert_error(same, 400, "BadRequestException", MSG_SLOT_TAKEN)
    overlapping_other_service = mock.book(FAERBEN, f"{MONDAY}T07:30:00Z")
    assert_error(overlapping_other_service, 400, "BadRequestException", MSG_SLOT_TAKEN)
    assert mock.book(HERRENSCHNITT, f"{MONDAY}T08:00:00Z").status_code == 201
    assert len(mock.ledger()) == 2


def test_conflict_status_409_is_switchable(mock: MockClient) -> None:
    mock.config(conflict_status=409)
    mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z")
    assert_error(
        mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z"), 409, "ConflictException", MSG_SLOT_TAKEN
    )


def test_blind_retry_meets_its_own_booking_which_listing_finds_by_metadata(
    mock: MockClient,
) -> None:
    metadata = {"appointment_id": "5c1a7e0e-0000-4000-8000-000000000001", "call_id": "call-1"}
    first = mock.book(DAMENSCHNITT, f"{MONDAY}T12:00:00Z", metadata=metadata)
    retry = mock.book(DAMENSCHNITT, f"{MONDAY}T12:00:00Z", metadata=metadata)
    assert retry.status_code == 400 and first.json()["data"]["uid"] not in retry.text
    listed = mock.http.get(
        "/v2/bookings",
        params={
            "attendeeEmail": "eva.schmidt@example.de",
            "afterStart": f"{MONDAY}T00:00:00Z",
            "status": "upcoming",
        },
        headers=BOOKINGS,
    ).json()["data"]
    assert [b["uid"] for b in listed if b["metadata"] == metadata] == [first.json()["data"]["uid"]]


def test_outside_hours_and_past_are_refused(mock: MockClient) -> None:
    assert_error(
        mock.book(DAMENSCHNITT, f"{SUNDAY}T08:00:00Z"), 400, "BadRequestException", MSG_SLOT_TAKEN
    )
    assert_error(
        mock.book(DAMENSCHNITT, f"{MONDAY}T15:30:00Z"), 400, "BadRequestException", MSG_SLOT_TAKEN
    )
    assert_error(
        mock.book(DAMENSCHNITT, "2030-05-31T08:00:00Z"), 400, "BadRequestException", MSG_PAST
    )
    assert mock.ledger() == []


def test_create_validates_like_calcom(mock: MockClient) -> None:
    unknown = mock.book(999, f"{MONDAY}T08:00:00Z")
    assert_error(unknown, 404, "NotFoundException", "Event type with id 999 not found.")
    body = {"start": f"{MONDAY}T08:00:00Z", "eventTypeId": DAMENSCHNITT, "lengthInMinutes": 45}
    body["attendee"] = {"name": "Eva", "email": "eva@example.de", "timeZone": "Europe/Berlin"}
    wrong_length = mock.http.post("/v2/bookings", json=body, headers=BOOKINGS)
    assert_error(wrong_length, 400, "BadRequestException", MSG_SINGLE_LENGTH)
    no_attendee = mock.http.post(
        "/v2/bookings", json={"start": body["start"], "eventTypeId": 2}, headers=BOOKINGS
    )
    assert no_attendee.status_code == 400 and "attendee" in no_attendee.json()["error"]["message"]
    phone_only = {
        key: value for key, value in body.items() if key != "lengthInMinutes"
    } | {"attendee": {"name": "Eva", "phoneNumber": "+491701234567", "timeZone": "Europe/Berlin"}}
    created = mock.http.post("/v2/bookings", json=phone_only, headers=BOOKINGS).json()["data"]
    assert created["attendees"][0]["phoneNumber"] == "+491701234567"
    assert created["attendees"][0]["email"] == "491701234567@sms.cal.com"


def test_cancel_frees_the_slot_and_is_not_repeatable(mock: MockClient) -> None:
    uid = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z").json()["data"]["uid"]
    cancel = mock.http.post(
        f"/v2/bookings/{uid}/cancel", json={"cancellationReason": "Kunde sagt ab"}, headers=BOOKINGS
    )
    assert cancel.status_code == 200
    assert cancel.json()["data"]["status"] == "cancelled"
    assert cancel.json()["data"]["cancellationReason"] == "Kunde sagt ab"
    assert "10:00" in mock.slot_times(DAMENSCHNITT, MONDAY)
    again = mock.http.post(f"/v2/bookings/{uid}/cancel", headers=BOOKINGS)
    assert_error(again, 400, "BadRequestException", MSG_ALREADY_CANCELLED)
    missing = mock.http.post("/v2/bookings/nope/cancel", headers=BOOKINGS)
    assert_error(missing, 404, "NotFoundException", "Booking with uid=nope not found")
    got = mock.http.get("/v2/bookings/nope", headers=BOOKINGS)
    assert_error(
        got, 404, "NotFoundException", "Booking with uid=nope was not found in the database"
    )


def test_reschedule_makes_a_new_booking_and_cancels_the_old(mock: MockClient) -> None:
    old = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z", metadata={"appointment_id": "a-9"}).json()[
        "data"
    ]
    response = mock.http.post(
        f"/v2/bookings/{old['uid']}/reschedule",
        json={
            "start": f"{MONDAY}T08:15:00Z",
            "reschedulingReason": "später",
        },  # overlaps its own old time
        headers=BOOKINGS,
    )
    assert response.status_code == 201
    new = response.json()["data"]
    assert new["uid"] != old["uid"] and new["rescheduledFromUid"] == old["uid"]
    assert new["start"] == f"{MONDAY}T08:15:00.000Z" and new["metadata"] == {
        "appointment_id": "a-9"
    }
    previous = mock.http.get(f"/v2/bookings/{old['uid']}", headers=BOOKINGS).json()["data"]
    assert previous["status"] == "cancelled" and previous["rescheduledToUid"] == new["uid"]
    assert "10:00" not in mock.slot_times(DAMENSCHNITT, MONDAY) and "09:00" in mock.slot_times(
        DAMENSCHNITT, MONDAY
    )
    cancelled_again = mock.http.post(
        f"/v2/bookings/{old['uid']}/reschedule",
        json={"start": f"{MONDAY}T12:00:00Z"},
        headers=BOOKINGS,
    )
    assert cancelled_again.status_code == 400


def test_reschedule_into_a_taken_slot_keeps_the_original(mock: MockClient) -> None:
    mine = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z").json()["data"]
    mock.book(DAMENSCHNITT, f"{MONDAY}T12:00:00Z", email="other@example.de")
    refused = mock.http.post(
        f"/v2/bookings/{mine['uid']}/reschedule",
        json={"start": f"{MONDAY}T12:30:00Z"},
        headers=BOOKINGS,
    )
    assert_error(refused, 400, "BadRequestException", MSG_SLOT_TAKEN)
    assert (
        mock.http.get(f"/v2/bookings/{mine['uid']}", headers=BOOKINGS).json()["data"]["status"]
        == "accepted"
    )


def test_list_bookings_filters_and_paginates(mock: MockClient) -> None:
    uids = [
        mock.book(DAMENSCHNITT, f"{TUESDAY}T{hour:02d}:00:00Z").json()["data"]["uid"]
        for hour in (7, 9, 11, 13, 15)
    ]
    mock.book(HERRENSCHNITT, f"{TUESDAY}T07:00:00Z", email="max@example.de")
    mock.http.post(f"/v2/bookings/{uids[4]}/cancel", headers=BOOKINGS)
    page = mock.http.get(
        "/v2/bookings", params={"eventTypeId": 2, "take": 2, "skip": 2}, headers=BOOKINGS
    ).json()
    assert [b["uid"] for b in page["data"]] == uids[2:4]
    assert page["pagination"] == {
        "itemsReturned": 2,
        "totalItems": 5,
        "itemsPerPage": 2,
        "remainingItems": 1,
        "currentPage": 2,
        "totalPages": 3,
        "hasNextPage": True,
        "hasPreviousPage": True,
    }

    def listed(**params: object) -> list[str]:
        return [
            b["uid"]
            for b in mock.http.get("/v2/bookings", params=params, headers=BOOKINGS).json()["data"]
        ]

    assert listed(status="cancelled") == [uids[4]]
    assert len(listed(status="upcoming")) == 5
    assert (
        listed(eventTypeId=2, afterStart=f"{TUESDAY}T09:00:00Z", beforeEnd=f"{TUESDAY}T12:00:00Z")
        == uids[1:3]
    )
    assert len(listed(attendeeEmail="max@example.de")) == 1
    assert (
        mock.http.get("/v2/bookings", params={"status": "soon"}, headers=BOOKINGS).status_code
        == 400
    )


def test_api_versions_per_endpoint_family(mock: MockClient) -> None:
    wrong = mock.http.get("/v2/event-types", headers={"cal-api-version": "2024-08-13"})
    assert wrong.status_code == 400 and "2024-06-14" in wrong.json()["error"]["message"]
    newer = mock.book(
        DAMENSCHNITT, f"{MONDAY}T08:00:00Z", headers={"cal-api-version": "2026-02-25"}
    )
    assert newer.status_code == 201
    assert mock.http.get("/v2/event-types").status_code == 200  # no header: the family's version


def test_unknown_route_answers_in_calcom_format(mock: MockClient) -> None:
    assert_error(
        mock.http.get("/v2/me/nothing"), 404, "NotFoundException", "Cannot GET /v2/me/nothing"
    )


def test_ledger_keeps_every_booking_with_its_history(mock: MockClient) -> None:
    uid = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z").json()["data"]["uid"]
    mock.http.post(f"/v2/bookings/{uid}/cancel", headers=BOOKINGS)
    (entry,) = mock.ledger()
    assert entry["uid"] == uid and entry["status"] == "cancelled"
    assert [h["status"] for h in entry["history"]] == ["accepted", "cancelled"]
    mock.http.post("/_control/reset")
    assert mock.ledger() == []


def test_journal_shows_what_the_client_sent(mock: MockClient) -> None:
    mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z", metadata={"call_id": "c-7"})
    (entry,) = mock.journal(method="POST", path="/v2/bookings")
    assert entry["body"]["metadata"] == {"call_id": "c-7"}
    assert entry["headers"]["cal-api-version"] == "2024-08-13"
    assert entry["status"] == 201 and entry["outcome"] == "response" and entry["fault"] is None
    assert entry["latency_ms"] > 0
