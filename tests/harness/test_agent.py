"""The simulated agent's policy against a fake core: what it calls, what it asks, what it says."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from harness.agent import outcome_of, simulate_call
from harness.callers import CallerIdentity
from harness.clock import BERLIN
from harness.results import CallRecord, FunctionCallRecord
from harness.retell import RetellPlatform
from harness.scenario import Policy, Transport
from tests.harness.fake_salon import FakeSalon, create_schema

NOW = datetime(2030, 3, 4, 10, 0, tzinfo=BERLIN)
CALLER = CallerIdentity(name="Jana Schulz", first_name="Jana", last_name="Schulz", phone="+4915112345678")


@pytest.fixture
def salon(tmp_path: Path) -> FakeSalon:
    create_schema(tmp_path / "db.sqlite")
    return FakeSalon(tmp_path / "db.sqlite")


async def call(salon: FakeSalon, turns: list[str | None], transport: Transport | None = None,
               key: str | None = "secret", policy: Policy | None = None) -> CallRecord:
    async with httpx.AsyncClient(transport=salon.transport()) as client:
        platform = RetellPlatform(client, "http://core.test", transport or Transport(), key)
        record = CallRecord(scenario="t", call_index=0, caller_index=0, call_id="call_1",
                            from_number=CALLER.phone, caller_name=CALLER.name, now=NOW.isoformat())
        return await simulate_call(platform, [t or "" for t in turns], CALLER, NOW, policy or Policy(), record)


async def test_books_step_by_step_with_the_matchers_service_name(salon: FakeSalon) -> None:
    record = await call(salon, ["Ich möchte einen Herren buchen", "Morgen um 11 Uhr", "Mein Name ist Jana Schulz"])
    assert [f.name for f in record.functions] == ["check_availability", "book_appointment"]
    check, book = record.functions
    assert check.args == {"service": "Herren", "date_time": "Morgen um 11 Uhr"}  # as spoken
    assert book.args == {"service": "Herrenschnitt", "date_time": "Morgen um 11 Uhr",  # canonical from the core
                         "customer_name": "Jana Schulz"}
    assert record.outcome == "booked" and "gebucht" in record.agent_text
    assert record.utterances[2].text.startswith("Wann möchten Sie")  # asked for the time first


async def test_asks_back_on_ambiguity_and_takes_the_choice(salon: FakeSalon) -> None:
    record = await call(salon, ["Ich möchte färben lassen, morgen um 10 Uhr", "Ansatzfärben bitte", "Jana Schulz"])
    assert record.functions[0].error == "service_ambiguous"
    assert "Meinen Sie" in record.utterances[2].text
    assert record.functions[-1].args["service"] == "Ansatzfärben" and record.outcome == "booked"


async def test_offers_alternative_when_taken_and_books_it(salon: FakeSalon) -> None:
    first = await call(salon, ["Herrenschnitt morgen um 10 Uhr, mein Name ist Jana Schulz"])
    assert first.outcome == "booked"
    second = await call(salon, ["Herrenschnitt morgen um 10 Uhr, mein Name ist Jana Schulz", "Ja, gerne"])
    assert second.functions[0].data["available"] is False
    assert "vergeben" in second.utterances[2].text
    book = second.functions[-1]
    assert book.name == "book_appointment" and book.args["date_time"] == "2030-03-05T12:00:00+01:00"
    assert second.outcome == "booked"


async def test_unknown_service_is_refused_and_never_booked(salon: FakeSalon) -> None:
    record = await call(salon, ["Ein Tattoo morgen um 10 Uhr bitte, ich bin Jana Schulz"])
    assert [f.error for f in record.functions] == ["service_unknown"]
    assert record.outcome == "refused"


async def test_silence_and_nonsense_call_nothing(salon: FakeSalon) -> None:
    silent = await call(salon, ["", None, "Hallo?"])
    assert silent.functions == [] and silent.outcome == "asked_back"
    assert "Auf Wiederhören" in silent.agent_text and silent.turns() == 2  # hung up after two silences
    nonsense = await call(salon, ["Blablabla Kartoffelsalat"])
    assert nonsense.functions == [] and "nicht verstanden" in nonsense.agent_text


async def test_requests_are_retell_shaped_signed_and_evented(salon: FakeSalon) -> None:
    await call(salon, ["Herrenschnitt morgen um 10 Uhr, mein Name ist Jana Schulz"])
    paths = [r["path"] for r in salon.requests]
    assert paths[0] == paths[-1] == "/api/retell/webhook"
    assert [r["body"]["event"] for r in salon.requests if r["path"].endswith("webhook")] == \
        ["call_started", "call_ended", "call_analyzed"]
    function = next(r for r in salon.requests if r["path"] == "/api/retell/function-call")
    body = function["body"]
    assert body["call"]["from_number"] == CALLER.phone and body["call"]["direction"] == "inbound"
    assert body["call"]["start_timestamp"] == int(NOW.timestamp() * 1000)
    assert body["call"]["transcript_object"][-1] == {"role": "user", "content":
                                                     "Herrenschnitt morgen um 10 Uhr, mein Name ist Jana Schulz"}
    stamp, digest = function["headers"]["x-retell-signature"].removeprefix("v=").split(",d=")
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert digest == hmac.new(b"secret", raw + stamp.encode(), hashlib.sha256).hexdigest()


async def test_args_at_root_and_duplicate_events(salon: FakeSalon) -> None:
    transport = Transport(route="per-function", args_at_root=True, duplicate_events=True)
    record = await call(salon, ["Herrenschnitt am 2030-03-05T15:00:00+01:00, mein Name ist Jana Schulz"],
                        transport=transport)
    root = [r for r in salon.requests if r["path"] == "/api/retell/book-appointment"][0]
    # No call object: the number and call id come only from the tool headers, filled by the platform
    assert "call" not in root["body"] and "customer_phone" not in root["body"]
    assert root["headers"]["x-retell-user-number"] == CALLER.phone
    assert root["headers"]["x-retell-call-id"] == "call_1"
    assert root["headers"]["x-retell-call-id"] == "call_1"
    assert sum(r["path"].endswith("webhook") for r in salon.requests) == 6
    assert record.outcome == "booked"


async def test_retries_a_timed_out_function_twice_then_gives_up() -> None:
    attempts = []

    def hang(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("webhook"):
            return httpx.Response(200, json={"ok": True})
        attempts.append(request.url.path)
        raise httpx.ReadTimeout("too slow", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as client:
        platform = RetellPlatform(client, "http://core.test", Transport(timeout_s=0.5))
        record = CallRecord(scenario="t", call_index=0, caller_index=0, call_id="c", from_number=CALLER.phone,
                            caller_name=CALLER.name, now=NOW.isoformat())
        await simulate_call(platform, ["Herrenschnitt morgen um 10 Uhr"], CALLER, NOW, Policy(), record)
    assert len(attempts) == 3  # 1 + 2 retries, as Retell does
    assert record.functions[0].attempts == 3 and "timeout" in (record.functions[0].transport_error or "")
    assert record.outcome == "refused" and "Buchungssystem" in record.agent_text


def test_outcome_from_answers() -> None:
    def f(name: str, success: bool | None, error: str | None = None, **data: object) -> FunctionCallRecord:
        return FunctionCallRecord(name=name, args={}, route="x", success=success, error=error, data=dict(data))

    assert outcome_of([]) == "asked_back"
    assert outcome_of([f("check_availability", True, available=True)]) == "asked_back"
    assert outcome_of([f("check_availability", True, available=False)]) == "refused"
    assert outcome_of([f("check_availability", False, "service_ambiguous")]) == "asked_back"
    assert outcome_of([f("book_appointment", True), f("list_appointments", True)]) == "booked"
    assert outcome_of([f("book_appointment", False, "slot_taken")]) == "refused"
    assert outcome_of([f("get_available_services", True)]) == "listed"


async def test_full_turn_style_passes_the_callers_whole_sentence(salon: FakeSalon) -> None:
    turn = "Ähm hallo, ich hätte gern einen Herrenschnitt, morgen um 11 Uhr, Jana Schulz."
    spoken = await call(salon, [turn])
    assert spoken.functions[0].args == {"service": "Herrenschnitt", "date_time": "morgen um 11 Uhr"}
    whole = await call(salon, [turn], policy=Policy(args="full_turn"))
    assert whole.functions[0].args == {"service": turn, "date_time": turn}


async def test_time_corrected_in_a_later_turn_sends_both_sentences_in_full_turn_style(salon: FakeSalon) -> None:
    record = await call(salon, ["Herrenschnitt", "morgen um 9 Uhr", "Ach nee, lieber um 11 Uhr."],
                        policy=Policy(args="full_turn"))
    assert record.functions[-1].args["date_time"] == "morgen um 9 Uhr Ach nee, lieber um 11 Uhr."
    spoken = await call(salon, ["Einen Herrenschnitt morgen um 9 Uhr.", "Ach nee, lieber um 11 Uhr."])
    assert spoken.functions[-1].args["date_time"] == "morgen um 11 Uhr"  # the day kept, the time replaced


async def test_unplaced_words_are_asked_back_and_marked(salon: FakeSalon) -> None:
    record = await call(salon, ["Einen Herrenschnitt, wenn die Kühe fliegen.", "Morgen um 11 Uhr, Jana Schulz."])
    assert record.utterances[2].text == "Entschuldigung, das habe ich nicht verstanden. Wie meinten Sie das?"
    assert record.utterances[1].unplaced == ["Kühe", "fliegen"] and record.unplaced_turns == 1
    assert "[unplaced: Kühe, fliegen]" in record.transcript
    assert all(f.name != "book_appointment" for f in record.functions)  # nothing guessed from that turn


async def test_caller_number_only_when_the_caller_says_it(salon: FakeSalon) -> None:
    silent = await call(salon, ["Herrenschnitt morgen um 11 Uhr, mein Name ist Jana Schulz"])
    assert "customer_phone" not in silent.functions[-1].args  # the platform's call object carries it
    said = await call(salon, ["Herrenschnitt morgen um 12 Uhr, mein Name ist Jana Schulz, "
                              "meine Nummer ist null eins sieben null eins zwei drei vier fünf sechs sieben"])
    assert said.functions[-1].args["customer_phone"] == "+491701234567"


async def test_next_week_qualifier_reaches_the_core(salon: FakeSalon) -> None:
    record = await call(salon, ["Ich bräuchte nächste Woche Freitag um zehn einen Herrenschnitt"])
    assert record.functions[0].args["date_time"] == "nächste Woche Freitag um zehn"


async def test_several_wishes_in_one_turn_are_served_in_order(salon: FakeSalon) -> None:
    record = await call(salon, ["Was bieten Sie denn an? Und ich hätte gern einen Herrenschnitt morgen um 11 Uhr, "
                                "mein Name ist Jana Schulz."])
    assert [f.name for f in record.functions] == ["get_available_services", "check_availability", "book_appointment"]
    assert record.outcome == "booked"
