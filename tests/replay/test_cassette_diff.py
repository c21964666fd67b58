"""What counts as the same answer: ids and timestamps normalised, everything else compared."""

from __future__ import annotations

import json

from rich.console import Console

from replay.diff import answer_view, compare, render

BOOKED = "Ihr Termin für Herrenschnitt am Dienstag, 1. Dezember um 10 Uhr ist gebucht."
CANCELLED = "Ihr Termin für Herrenschnitt am Dienstag, 1. Dezember um 10 Uhr ist storniert."


def answer(message: str, **data: object) -> dict[str, object]:
    body = json.dumps({"success": True, "error": None, "message": message, "data": data}).encode()
    return answer_view(200, body, None)


def test_fresh_ids_and_timestamps_are_not_differences() -> None:
    recorded = [answer(BOOKED, appointment_id="6f1c2d3e-0000-4000-8000-000000000001", calcom_uid="bk_aaa",
                       created_at="2026-11-25T10:00:00Z"),
                answer(CANCELLED, appointment_id="6f1c2d3e-0000-4000-8000-000000000001")]
    replayed = [answer(BOOKED, appointment_id="0a9b8c7d-1111-4111-8111-111111111111", calcom_uid="bk_zzz",
                       created_at="2026-12-24T18:00:00Z"),
                answer(CANCELLED, appointment_id="0a9b8c7d-1111-4111-8111-111111111111")]
    steps = compare(["book_appointment", "cancel_appointment"], recorded, replayed)
    assert all(step.identical for step in steps)


def test_ids_keep_their_relationships() -> None:
    """The cancel must name the appointment the booking made, whatever the ids are."""
    recorded = [answer(BOOKED, appointment_id="a-1"), answer(CANCELLED, appointment_id="a-1")]
    replayed = [answer(BOOKED, appointment_id="b-1"), answer(CANCELLED, appointment_id="b-2")]
    steps = compare(["book_appointment", "cancel_appointment"], recorded, replayed)
    assert steps[0].identical
    assert [path for path, _, _ in steps[1].differences] == ["data.appointment_id"]


def test_sentence_slots_and_outcome_are_compared() -> None:
    recorded = [answer("Dieser Termin ist leider schon vergeben.", alternatives=["2026-12-01T12:30:00+01:00"])]
    replayed = [answer("Dieser Termin ist bereits belegt.", alternatives=["2026-12-01T13:00:00+01:00"])]
    step = compare(["check_availability"], recorded, replayed)[0]
    assert {path for path, _, _ in step.differences} == {"message", "data.alternatives[0]"}


def test_a_missing_answer_differs_from_an_answer() -> None:
    step = compare(["book_appointment"], [answer(BOOKED)], [answer_view(None, b"", "ReadTimeout")])[0]
    assert not step.identical
    assert answer_view(None, b"", "ReadTimeout") == {"no answer": "ReadTimeout"}


def test_the_diff_shows_field_recorded_and_replayed() -> None:
    steps = compare(["check_availability"], [answer("Dieser Termin ist leider schon vergeben.")],
                    [answer("Der Wunschtermin ist weg.")])
    console = Console(record=True, width=120)
    render(console, steps)
    text = console.export_text()
    assert "✗ 1. check_availability" in text
    assert "message" in text and "schon vergeben" in text and "Wunschtermin ist weg" in text
