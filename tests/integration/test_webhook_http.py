"""Every webhook function and every bad-input class, through real HTTP, against mock_calcom."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest

from harness.stack import StackOptions, Target
from tests.support.stack import RetellClient, at, future_workday, running_stack


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    with running_stack(StackOptions()) as running:
        yield running


def phone() -> str:
    return f"+49151{uuid.uuid4().int % 10**8:08d}"


async def test_services_are_listed_with_duration_and_price(retell: RetellClient) -> None:
    answer = await retell.call("get_available_services", {})
    assert answer["success"] is True
    services = {s["name"]: s for s in answer["data"]["services"]}
    assert len(services) >= 20
    assert services["Damenschnitt"] == {"name": "Damenschnitt", "duration_min": 60, "price_eur": 45.0}
    assert "Damenschnitt" in answer["message"]


async def test_a_whole_appointment_lifecycle(retell: RetellClient) -> None:
    caller, day = phone(), future_workday(4)
    free = await retell.call("check_availability", {"service": "Damenschnitt", "date_time": at(day, 10)})
    assert free["success"] and free["data"]["available"] is True

    booked = await retell.call("book_appointment", {"service": "Damenschnitt", "date_time": at(day, 10),
                                                    "customer_name": "Jana Schulz"}, phone=caller)
    assert booked["success"], booked
    assert "gebucht" in booked["message"]
    assert booked["data"]["start"] == at(day, 10) and booked["data"]["price_eur"] == 45.0

    listed = await retell.call("list_appointments", {}, phone=caller)
    assert [a["appointment_id"] for a in listed["data"]["appointments"]] == [booked["data"]["appointment_id"]]

    moved = await retell.call("reschedule_appointment", {"new_date_time": at(day, 14)}, phone=caller)
    assert moved["success"], moved
    assert moved["data"]["start"] == at(day, 14) and moved["data"]["old_start"] == at(day, 10)

    cancelled = await retell.call("cancel_appointment", {"date_time": at(day, 14)}, phone=caller)
    assert cancelled["success"] and "storniert" in cancelled["message"]
    assert (await retell.call("list_appointments", {}, phone=caller))["data"]["appointments"] == []

    ours = [b for b in await retell.ledger() if b["attendees"] and b["attendees"][0].get("phoneNumber") == caller]
    assert ours and all(b["status"] == "cancelled" for b in ours)


async def test_taken_slot_is_refused_with_alternatives(retell: RetellClient) -> None:
    day = future_workday(5)
    args = {"service": "Herrenschnitt", "date_time": at(day, 11), "customer_name": "Max Muster"}
    assert (await retell.call("book_appointment", args, phone=phone()))["success"]
    second = await retell.call("book_appointment", args | {"customer_name": "Tom Meier"}, phone=phone())
    assert second["success"] is False and second["error"] == "slot_taken"
    assert "gebucht" not in second["message"] and "vergeben" in second["message"]
    assert second["data"]["alternatives"] and at(day, 11) not in second["data"]["alternatives"]


async def test_a_retried_booking_returns_the_first_answer_and_books_once(retell: RetellClient) -> None:
    day, call_id, caller = future_workday(6), f"call_{uuid.uuid4().hex}", phone()
    args = {"service": "Färben", "date_time": at(day, 9), "customer_name": "Eva Braun"}
    first = await retell.call("book_appointment", args, call_id=call_id, phone=caller)
    retry = await retell.call("book_appointment", args, call_id=call_id, phone=caller)
    assert first["success"] and retry == first
    ours = [b for b in await retell.ledger() if b["metadata"].get("call_id") == call_id]
    assert len(ours) == 1


async def test_args_at_root_on_the_per_function_route(retell: RetellClient) -> None:
    response = await retell.post("/api/retell/check-availability",
                                 {"service": "Bartpflege", "date_time": at(future_workday(4), 15)})
    assert response.status_code == 200
    assert response.json()["success"] is True and response.json()["data"]["service"] == "Bartpflege"


async def test_spoken_german_is_understood(retell: RetellClient) -> None:
    answer = await retell.call("book_appointment", {"service": "damen schnidt", "date_time": "morgen um 10 Uhr",
                                                    "customer_name": "Jana Schulz"}, phone=phone(),
                               now=_monday_morning())
    assert answer["success"], answer
    assert answer["data"]["service"] == "Damenschnitt"
    assert answer["data"]["start"].endswith("T10:00:00+01:00") or answer["data"]["start"].endswith("T10:00:00+02:00")


async def test_ambiguous_service_is_asked_back(retell: RetellClient) -> None:
    answer = await retell.call("book_appointment", {"service": "einen Haarschnitt bitte",
                                                    "date_time": at(future_workday(4), 12),
                                                    "customer_name": "Jana Schulz"}, phone=phone())
    assert answer["success"] is False and answer["error"] == "service_ambiguous"
    assert len(answer["data"]["candidates"]) >= 2
    assert answer["message"].startswith("Meinen Sie") and answer["message"].endswith("?")


async def test_unparseable_time_gets_a_question_back(retell: RetellClient) -> None:
    answer = await retell.call("book_appointment", {"service": "Damenschnitt", "date_time": "irgendwann mal",
                                                    "customer_name": "Jana Schulz"})
    assert answer == {"success": False, "error": "unparseable_time", "message": answer["message"], "data": {}}
    assert answer["message"].endswith("?")


async def test_outside_opening_hours(retell: RetellClient) -> None:
    answer = await retell.call("book_appointment", {"service": "Damenschnitt", "date_time": at(future_workday(4), 20),
                                                    "customer_name": "Jana Schulz"})
    assert answer["error"] == "outside_hours" and "geschlossen" in answer["message"]


@pytest.mark.parametrize(("args", "missing"), [
    ({"date_time": "2030-01-07T10:00:00+01:00", "customer_name": "A"}, ["service"]),
    ({"service": "Damenschnitt", "customer_name": "A"}, ["date_time"]),
    ({"service": "Damenschnitt", "date_time": "2030-01-07T10:00:00+01:00"}, ["customer_name"]),
])
async def test_missing_args_are_named(retell: RetellClient, args: dict[str, str], missing: list[str]) -> None:
    answer = await retell.call("book_appointment", args)
    assert answer["success"] is False and answer["error"] == "invalid_args"
    assert answer["data"]["missing"] == missing and answer["message"]


async def test_wrong_typed_args_are_refused_in_german(retell: RetellClient) -> None:
    answer = await retell.call("book_appointment", {"service": 42, "date_time": ["morgen"], "customer_name": None})
    assert answer["success"] is False and answer["error"] == "invalid_args"
    assert set(answer["data"]["invalid"]) == {"service", "date_time"}


async def test_unknown_function(retell: RetellClient) -> None:
    answer = await retell.call("order_pizza", {})
    assert answer["error"] == "unknown_function" and "book_appointment" in answer["data"]["known_functions"]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe\x00", b""])
async def test_malformed_bodies_are_400_with_a_sentence(retell: RetellClient, body: bytes) -> None:
    response = await retell.http.post("/api/retell/function-call", content=body, headers=retell.headers(body))
    assert response.status_code == 400
    assert response.json()["success"] is False and response.json()["message"]


async def test_a_megabyte_body_is_refused_without_a_traceback(retell: RetellClient) -> None:
    body = json.dumps({"name": "book_appointment", "args": {"service": "x" * 1_000_000}}).encode()
    response = await retell.http.post("/api/retell/function-call", content=body, headers=retell.headers(body))
    assert response.status_code == 413 and response.json()["success"] is False
    assert "Traceback" not in response.text


@pytest.mark.parametrize("service", ["Dämenschnitt 💇‍♀️", "\u202eDamenschnitt", "Damen\x00schnitt", "ß" * 400,
                                     "'; DROP TABLE appointments; --", "{{7*7}}"])
async def test_odd_unicode_and_injection_never_500(retell: RetellClient, service: str) -> None:
    answer = await retell.call("check_availability", {"service": service, "date_time": at(future_workday(4), 10)})
    assert isinstance(answer["success"], bool) and answer["message"]
    assert (await retell.call("get_available_services", {}))["success"]


async def test_bad_or_missing_signature_is_401_and_nothing_is_booked(retell: RetellClient) -> None:
    day = future_workday(7)
    payload = {"name": "book_appointment", "args": {"service": "Tönung", "date_time": at(day, 16),
                                                    "customer_name": "Unsigned"}, "call": {"call_id": "x"}}
    body = json.dumps(payload).encode()
    missing = await retell.http.post("/api/retell/function-call", content=body)
    forged = await retell.http.post("/api/retell/function-call", content=body,
                                    headers={"x-retell-signature": "v=1,d=00"})
    other_body = retell.headers(b"{}")
    replayed = await retell.http.post("/api/retell/function-call", content=body, headers=other_body)
    assert [r.status_code for r in (missing, forged, replayed)] == [401, 401, 401]
    assert not [b for b in await retell.ledger() if b["attendees"] and b["attendees"][0]["name"] == "Unsigned"]


async def test_call_events_are_stored_once(retell: RetellClient) -> None:
    call = {"call_id": f"call_{uuid.uuid4().hex}", "from_number": "+4930111", "to_number": "+4930222",
            "agent_id": "agent_test"}
    first = await retell.post("/api/retell/webhook", {"event": "call_ended", "call": call})
    again = await retell.post("/api/retell/webhook", {"event": "call_ended", "call": call})
    assert first.json() == {"ok": True, "duplicate": False}
    assert again.json() == {"ok": True, "duplicate": True}


async def test_health_readiness_metrics_and_server_timing(retell: RetellClient) -> None:
    assert (await retell.http.get("/healthz")).json() == {"status": "ok"}
    ready = await retell.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] is True
    response = await retell.post("/api/retell/function-call", {"name": "get_available_services", "args": {}})
    assert response.headers["server-timing"].startswith("app;dur=")
    metrics = (await retell.http.get("/metrics")).text
    assert 'callsim_function_seconds_count{function="get_available_services",outcome="ok"}' in metrics


def _monday_morning():  # type: ignore[no-untyped-def]
    from datetime import datetime, time, timedelta

    from tests.support.stack import BERLIN
    day = future_workday(3, weekday=0) - timedelta(days=0)
    return datetime.combine(day, time(9, 0), BERLIN)


async def test_alternatives_stay_on_the_wished_day_and_spill_to_the_next_days_when_it_is_full(
        retell: RetellClient) -> None:
    day = future_workday(15, weekday=3)  # a Thursday no other test books on
    service = "Herrenschnitt"  # 30 minutes
    starts = [(hour, minute) for hour in range(9, 18) for minute in (0, 30)]
    for hour, minute in starts:
        if (hour, minute) != (15, 0):
            booked = await retell.call("book_appointment", {"service": service, "date_time": at(day, hour, minute),
                                                            "customer_name": "Voll Belegt"}, phone=phone())
            assert booked["success"], booked

    taken = await retell.call("check_availability", {"service": service, "date_time": at(day, 11)})
    assert taken["data"]["available"] is False
    alternatives = taken["data"]["alternatives"]
    # The day's one free start first, then the nearest starts of the following opening day.
    assert alternatives[0] == at(day, 15)
    assert len(alternatives) == 3 and all(a[:10] > day.isoformat() for a in alternatives[1:])

    free_day = future_workday(22, weekday=3)
    await retell.call("book_appointment", {"service": service, "date_time": at(free_day, 11),
                                           "customer_name": "Einer Da"}, phone=phone())
    around = await retell.call("check_availability", {"service": service, "date_time": at(free_day, 11)})
    assert around["data"]["available"] is False
    assert [a[:10] for a in around["data"]["alternatives"]] == [free_day.isoformat()] * 3
    assert at(free_day, 11) not in around["data"]["alternatives"]


async def test_answers_finished_together_are_all_kept_for_their_retries(retell: RetellClient) -> None:
    day = future_workday(29, weekday=3)
    calls = [(f"call_{uuid.uuid4().hex}", phone(), hour) for hour in range(9, 17)]

    async def book(call_id: str, caller: str, hour: int) -> dict:  # type: ignore[type-arg]
        return await retell.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(day, hour),
                                                      "customer_name": "Zur Gleichen Zeit"},
                                 call_id=call_id, phone=caller)

    firsts = await asyncio.gather(*(book(*call) for call in calls))  # answers stored in a batch
    assert all(first["success"] for first in firsts), firsts
    retries = await asyncio.gather(*(book(*call) for call in calls))
    assert retries == firsts
    ledger = await retell.ledger()
    for call_id, _, _ in calls:
        assert len([b for b in ledger if b["metadata"].get("call_id") == call_id]) == 1
