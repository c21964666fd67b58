"""What must never reach a cassette, and how Cal.com requests are matched on replay."""

from __future__ import annotations

import json

import pytest
from vcr.request import Request

from replay.filters import Scrubber, json_body

CALLER = "+4915112345678"


def request(body: dict[str, object], uri: str = "http://127.0.0.1:1/v2/bookings") -> Request:
    return Request("POST", uri, json.dumps(body).encode(), {"Content-Type": "application/json",
                                                             "X-Trace": "cal_live_SECRET42"})


def test_secrets_are_redacted_everywhere() -> None:
    scrubber = Scrubber(["cal_live_SECRET42"])
    cleaned = scrubber.request(request({"note": "key cal_live_SECRET42"}, uri="http://x/v2?k=cal_live_SECRET42"))
    assert "SECRET42" not in cleaned.uri + cleaned.body.decode() + json.dumps(dict(cleaned.headers))


def test_phone_numbers_become_stable_pseudonyms_on_both_sides() -> None:
    # The harness (caller side) and the core (Cal.com side) each build their own Scrubber.
    caller_side, calcom_side = Scrubber(pii_key="k"), Scrubber(pii_key="k")
    spoken = caller_side.text(f'{{"from_number": "{CALLER}"}}')
    booked = calcom_side.text(f'{{"phoneNumber": "{CALLER}", "email": "tel-{CALLER[1:]}@telefon.invalid"}}')
    pseudonym = json.loads(spoken)["from_number"]
    assert pseudonym != CALLER and pseudonym.startswith("+4900") and len(pseudonym) == len(CALLER)
    assert json.loads(booked) == {"phoneNumber": pseudonym, "email": f"tel-{pseudonym[1:]}@telefon.invalid"}
    assert caller_side.text(pseudonym) == pseudonym  # replayed bodies are already clean
    assert Scrubber(pii_key="other").text(CALLER) != pseudonym


def test_numbers_that_are_no_phone_numbers_stay() -> None:
    text = '{"start_timestamp": 1796029200000, "start": "2026-12-01T10:00:00+01:00", "eventTypeId": 17}'
    assert Scrubber().text(text) == text


def test_keep_pii_keeps_the_number() -> None:
    assert Scrubber(keep_pii=True).text(CALLER) == CALLER


def test_json_bodies_match_when_only_our_fresh_ids_differ() -> None:
    recorded = request({"start": "2026-12-01T09:00:00Z", "metadata": {
        "appointment_id": "6f1c2d3e-0000-4000-8000-000000000001", "call_id": "call_1"}})
    replayed = request({"metadata": {"call_id": "call_1",
                                     "appointment_id": "0a9b8c7d-1111-4111-8111-111111111111"},
                        "start": "2026-12-01T09:00:00Z"})
    json_body(recorded, replayed)


def test_json_bodies_differ_when_the_booking_differs() -> None:
    with pytest.raises(AssertionError, match="JSON body differs"):
        json_body(request({"start": "2026-12-01T09:00:00Z"}), request({"start": "2026-12-01T10:00:00Z"}))
