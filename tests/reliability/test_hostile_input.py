"""Hostile input at the webhook: schema-driven fuzzing (schemathesis) and fuzzed Retell payloads.

Whatever arrives — wrong types, no call object, huge or deeply nested JSON, invalid UTF-8, control
characters, SQL or template injection in names — the answer is never a 5xx, never a traceback,
always the contract's shape, and a refused request leaves the appointments table as it was.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from time import monotonic, sleep
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking_core.schemas import FUNCTION_NAMES
from harness.stack import StackOptions
from tests.conftest import _database
from tests.reliability.live_stack import BERLIN, Answer, LiveStack, live_stack
from tests.reliability.schedule import booking_day
from tests.support.services import POSTGRES_ADMIN_URL

# The contract's error codes (docs/contracts.md) plus the transport-level refusals of the webhook.
ERRORS = {
    "unknown_function", "invalid_args", "invalid_json", "unparseable_time", "too_far_ahead", "time_needed", "service_unknown",
    "service_ambiguous", "outside_hours", "in_past", "slot_taken", "lock_busy", "calcom_unavailable",
    "booking_unconfirmed", "db_unavailable", "lock_unavailable", "not_found", "appointment_ambiguous", "disabled",
}
REFUSAL_STATUSES = {400, 413, 422}
BODY_READ_TIMEOUT_S = 1.5
TRACEBACK_MARKS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "Error:")
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

HOSTILE_TEXT = [
    "Robert'); DROP TABLE appointments;--", "' OR '1'='1", "1; DELETE FROM customers", "\" OR \"\"=\"",
    "{{7*7}}", "${7*7}", "{name}", "%s%s%n", "<script>alert(1)</script>", "{{config.__class__}}",
    "\x00", "Anna\x00Schmidt", "\x1b[31mrot\x1b[0m", "\r\nX-Injected: 1", "\u202eevil", "\ud7ff\ue000",
    "ß" * 600, "A" * 5000, "Ünïcødé 🎉 Zoë", "", " ", "null", "None", "true", "0", "-1", "NaN",
    "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00", "2026-02-30T10:00:00+01:00", "morgen um 25 Uhr",
]
hostile_strings = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=60),
                            st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "So"]), max_size=30))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_strings,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
ARG_NAMES = ["service", "date_time", "customer_name", "customer_phone", "old_date_time", "new_date_time"]


@pytest.fixture(scope="module")
def hostile_stack() -> Iterator[LiveStack]:
    # Unsigned, so the fuzzed bodies reach the parser rather than stop at the signature check.
    with live_stack(StackOptions(extra_env={"RETELL_API_KEY": "", "RECONCILE_INTERVAL_S": "0",
                                            "BODY_READ_TIMEOUT_S": str(BODY_READ_TIMEOUT_S)})) as stack:
        yield stack


def assert_contract(answer: Answer, what: object) -> None:
    assert answer.status < 500, f"HTTP {answer.status} for {what!r}: {answer.text[:300]}"
    assert not any(mark in answer.text for mark in TRACEBACK_MARKS), f"traceback-like body for {what!r}"
    assert answer.status == 200 or answer.status in REFUSAL_STATUSES, (answer.status, what)
    if answer.status == 200 and "success" in answer.body:
        assert isinstance(answer.body["success"], bool)
        assert isinstance(answer.message, str) and answer.message.strip(), (what, answer.body)
        assert answer.success or answer.error in ERRORS, f"error {answer.error!r} for {what!r}: {answer.message}"


def _future_slot(hour_index: int) -> str:
    day = booking_day() + timedelta(days=7 + hour_index // 16)
    if day.isoweekday() == 7:
        day += timedelta(days=1)
    start = datetime.combine(day, time(9), BERLIN) + timedelta(minutes=30 * (hour_index % 16))
    return start.isoformat()


wrong_shapes = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(FUNCTION_NAMES), json_values)},
    optional={"args": st.one_of(json_values, st.dictionaries(st.sampled_from(ARG_NAMES), json_values, max_size=6)),
              "call": st.one_of(json_values, st.fixed_dictionaries({}, optional={
                  "call_id": json_values, "from_number": json_values, "start_timestamp": json_values}))})
hostile_bookings = st.builds(
    lambda name, slot, phone, service: {
        "name": "book_appointment",
        "args": {"service": service, "date_time": _future_slot(slot), "customer_name": name},
        "call": {"call_id": f"call_fuzz_{slot}", "from_number": phone}},
    hostile_strings, st.integers(0, 63), st.one_of(st.just("+4915100009999"), hostile_strings),
    st.sampled_from(["Herrenschnitt", "Damenschnitt", "Herrenschnitt'; --", "{{service}}"]))
deep = st.integers(200, 50_000).map(lambda depth: ('{"name": "book_appointment", "args": ' + "[" * depth
                                                   + "]" * depth + "}").encode())
raw_bodies = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([b'{"name": "book_appointment", "args": {"service": "\xff\xfe\xc3("}}', b"\xef\xbb\xbf{}",
                     b'{"name": "book_', b"[]", b"null", b'"book_appointment"', b"{}", b"\x00" * 64]),
    deep,
    st.integers(1, 600_000).map(lambda n: json.dumps({"name": "book_appointment",
                                                      "args": {"customer_name": "x" * n}}).encode()),
)


@given(payload=st.one_of(wrong_shapes, hostile_bookings))
@FUZZ
def test_fuzzed_retell_payloads_are_answered_within_contract(hostile_stack: LiveStack,
                                                             payload: dict[str, Any]) -> None:
    before = hostile_stack.count_appointments()
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8", errors="surrogatepass")
    answer = hostile_stack.post_raw("/api/retell/function-call", body)
    assert_contract(answer, payload)
    if not answer.success:
        assert hostile_stack.count_appointments() == before, f"refused ({answer.error}) yet rows changed: {payload!r}"
    if not answer.success or "appointment_id" not in answer.data:
        return
    # A hostile name is still just a name: stored verbatim, with its appointment, and the tables intact.
    stored = hostile_stack.sql("SELECT c.name FROM appointments a JOIN customers c ON c.id = a.customer_id "
                               "WHERE a.id = :id AND a.status = 'confirmed'", id=answer.data["appointment_id"])
    assert [row[0] for row in stored] == [payload["args"]["customer_name"].strip()]
    assert "49" not in answer.message  # {{7*7}} and friends are never evaluated


@given(body=raw_bodies, route=st.sampled_from(["/api/retell/function-call", "/api/retell/book-appointment",
                                               "/api/retell/webhook"]))
@FUZZ
def test_raw_garbage_is_refused_and_changes_nothing(hostile_stack: LiveStack, body: bytes, route: str) -> None:
    before = hostile_stack.count_appointments()
    answer = hostile_stack.post_raw(route, body)
    assert_contract(answer, body[:80])
    assert not answer.success
    assert hostile_stack.count_appointments() == before


# Minimal reproductions of what the fuzzers found (reported to the core's owner).
MALFORMED = {
    "call-is-a-list": b'{"name": "get_available_services", "call": []}',
    "call-is-a-string": b'{"name": "book_appointment", "args": {}, "call": "call_1"}',
    "json-nested-100000-deep": b'{"name": "book_appointment", "args": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_bodies_get_a_clean_refusal_and_keep_the_connection(hostile_stack: LiveStack, body: bytes) -> None:
    answer = hostile_stack.post_raw("/api/retell/function-call", body)
    assert (answer.status, answer.error) in {(200, "invalid_args"), (400, "invalid_json")}, (
        f"HTTP {answer.status} {answer.error}: {answer.message} (an exception escaped the request handler)")
    # An escaped exception also makes uvicorn drop the keep-alive connection: Retell's next call on it fails.
    assert hostile_stack.call("get_available_services", {}).success


@pytest.mark.parametrize("when", ["2026-02-30T10:00:00+01:00", "9999-12-31T23:59:59+14:00",
                                  "am 31. Dezember 9999 um 10 Uhr", "in 3000000 Tagen"])
def test_impossible_and_far_off_dates_are_refused_not_reinterpreted(hostile_stack: LiveStack, when: str) -> None:
    before = hostile_stack.count_appointments()
    for name in ("check_availability", "book_appointment"):
        answer = hostile_stack.call(name, {"service": "Herrenschnitt", "date_time": when, "customer_name": "Anna"})
        assert_contract(answer, (name, when))
        assert name == "check_availability" or not answer.success, f"{when!r} booked as: {answer.message}"
    assert hostile_stack.count_appointments() == before


@pytest.fixture(scope="module")
def webhook_requests(hostile_stack: LiveStack) -> st.SearchStrategy[schemathesis.Case]:
    """Requests schemathesis derives from the running core's own OpenAPI schema, valid and not.

    (`schemathesis.pytest.from_fixture` would be the idiom, but 4.32.5 reads a node attribute pytest 9
    no longer has; drawing from the schema's strategy does the same inside one hypothesis test.)"""
    schema = schemathesis.openapi.from_url(f"{hostile_stack.target.webhook_url}/openapi.json")
    retell = schema.include(path_regex="^/api/retell/")
    return st.one_of([retell.as_strategy(mode) for mode in (schemathesis.GenerationMode.POSITIVE,
                                                             schemathesis.GenerationMode.NEGATIVE)])


@given(data=st.data())
@settings(FUZZ, max_examples=50)
def test_schema_driven_requests_never_break_the_webhook(hostile_stack: LiveStack,
                                                        webhook_requests: st.SearchStrategy[schemathesis.Case],
                                                        data: st.DataObject) -> None:
    case = data.draw(webhook_requests, label="request")
    before = hostile_stack.count_appointments()
    response = case.call(timeout=10)
    answer = Answer(response.status_code, _json_or_empty(response), response.text, 0.0)
    assert_contract(answer, (case.method, case.path, case.body))
    if not answer.success:
        assert hostile_stack.count_appointments() == before


def _json_or_empty(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# -- the outside probe's findings (issue 18, item 8), on PostgreSQL where column limits bite ---------

@pytest.fixture(scope="module")
def postgres_stack() -> Iterator[LiveStack]:
    yield from _database_stack("PostgreSQL", POSTGRES_ADMIN_URL)


def _database_stack(kind: str, admin_url: str) -> Iterator[LiveStack]:
    for url in _database(kind, admin_url):  # one throwaway database for the module's stack
        with live_stack(StackOptions(database_url=url, extra_env={"RECONCILE_INTERVAL_S": "0"})) as stack:
            yield stack


def _booking(name: str = "Anna Schmidt", call: dict[str, Any] | None = None, slot: int = 0) -> dict[str, Any]:
    return {"name": "book_appointment",
            "args": {"service": "Herrenschnitt", "date_time": _future_slot(100 + slot), "customer_name": name},
            "call": {"call_id": f"call_probe_{slot}", "from_number": "+4915100008888", **(call or {})}}


PAST_THE_COLUMNS = {
    "name-201": _booking(name="N" * 201, slot=1),
    "name-500": _booking(name="Anna " + "ß" * 495, slot=2),
    "from-number-41": _booking(call={"from_number": "+49" + "1" * 38}, slot=3),
    "call-id-129": _booking(call={"call_id": "c" * 129}, slot=4),
    "nul-in-name": _booking(name="Anna\x00Schmidt", slot=5),
    "nul-in-service": {**_booking(slot=6), "args": {**_booking(slot=6)["args"], "service": "Herren\x00schnitt"}},
    "nul-in-call-id": _booking(call={"call_id": "call_\x00_probe"}, slot=7),
    "nul-in-from-number": _booking(call={"from_number": "+49151\x000008888"}, slot=8),
}


@pytest.mark.parametrize("payload", list(PAST_THE_COLUMNS.values()), ids=list(PAST_THE_COLUMNS))
def test_input_the_columns_cannot_hold_is_asked_back_not_a_database_failure(postgres_stack: LiveStack,
                                                                           payload: dict[str, Any]) -> None:
    before = postgres_stack.count_appointments()
    answer = postgres_stack.post_raw("/api/retell/function-call", json.dumps(payload).encode())
    assert_contract(answer, payload)
    assert answer.error != "db_unavailable", f"a database failure for bad input: {answer.message}"
    assert (answer.status, answer.error) in {(200, "invalid_args"), (422, "invalid_args"), (400, "invalid_json")}, (
        answer.status, answer.body)
    assert postgres_stack.count_appointments() == before


def test_the_longest_accepted_values_are_stored(postgres_stack: LiveStack) -> None:
    """The other side of the limit: exactly at it, the booking goes through and is stored verbatim."""
    name = "M" * 200
    payload = _booking(name=name, call={"call_id": "c" * 128, "from_number": "+" + "4" * 39}, slot=9)
    answer = postgres_stack.post_raw("/api/retell/function-call", json.dumps(payload).encode())
    assert answer.success, answer.body
    stored = postgres_stack.sql("SELECT c.name, a.call_id FROM appointments a JOIN customers c "
                                "ON c.id = a.customer_id WHERE a.id = :id", id=answer.data["appointment_id"])
    assert [tuple(row) for row in stored] == [(name, "c" * 128)]


@pytest.mark.parametrize("route", ["/api/retell/function-call", "/api/retell/book-appointment",
                                   "/api/retell/webhook"])
def test_a_lone_surrogate_in_the_call_id_is_refused_cleanly(postgres_stack: LiveStack, route: str) -> None:
    # JSON may spell a lone surrogate (\ud800); it is no character UTF-8 or a database can store.
    body = (b'{"name": "book_appointment", "event": "call_started", "args": {"service": "Herrenschnitt"}, '
            b'"call": {"call_id": "call_\\ud800_x", "from_number": "+4915100008888"}}')
    before = postgres_stack.count_appointments()
    answer = postgres_stack.post_raw(route, body)
    assert_contract(answer, body)
    assert answer.error not in ("internal", "db_unavailable"), answer.body
    assert postgres_stack.count_appointments() == before
    assert postgres_stack.call("get_available_services", {}).success


EVENTS_THAT_CAN_NEVER_SUCCEED = {
    "call-id-129": {"call_id": "c" * 129},
    "from-number-41": {"call_id": "call_ev_1", "from_number": "+49" + "1" * 38},
    "agent-id-129": {"call_id": "call_ev_2", "agent_id": "a" * 129},
    "nul-in-call-id": {"call_id": "call_\x00_ev"},
    "nul-in-transcript": {"call_id": "call_ev_3", "transcript": "Hallo\x00Welt"},
}


@pytest.mark.parametrize("call", list(EVENTS_THAT_CAN_NEVER_SUCCEED.values()), ids=list(EVENTS_THAT_CAN_NEVER_SUCCEED))
def test_a_call_event_that_can_never_be_stored_is_a_4xx_so_retell_stops_retrying(postgres_stack: LiveStack,
                                                                               call: dict[str, Any]) -> None:
    answer = postgres_stack.post_raw("/api/retell/webhook",
                                     json.dumps({"event": "call_started", "call": call}).encode())
    assert 400 <= answer.status < 500, (answer.status, answer.text[:300])
    assert not any(mark in answer.text for mark in TRACEBACK_MARKS)


def test_an_overlong_event_name_is_a_4xx(postgres_stack: LiveStack) -> None:
    answer = postgres_stack.post_raw("/api/retell/webhook", json.dumps(
        {"event": "call_" + "x" * 60, "call": {"call_id": "call_ev_long_event"}}).encode())
    assert 400 <= answer.status < 500, (answer.status, answer.text[:300])


def _half_a_body(stack: LiveStack, path: str = "/api/retell/function-call") -> socket.socket:
    """A request whose headers promise 400 bytes of body, of which only the first 20 are sent."""
    url = httpx.URL(stack.target.webhook_url)
    sock = socket.create_connection((url.host, url.port), timeout=10)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {url.host}\r\nContent-Type: application/json\r\n"
                 "Content-Length: 400\r\n\r\n".encode() + b'{"name": "book_appoi')
    return sock


def _log(stack: LiveStack) -> str:
    assert stack.target.log_dir is not None
    return (stack.target.log_dir / "booking_core.log").read_text(errors="replace")


def test_a_client_gone_mid_body_is_no_traceback(hostile_stack: LiveStack) -> None:
    logged_before = len(_log(hostile_stack))
    for _ in range(3):
        sock = _half_a_body(hostile_stack)
        sleep(0.2)  # the handler is waiting for the rest of the body
        sock.close()
    sleep(0.5)
    logged = _log(hostile_stack)[logged_before:]
    assert "Traceback" not in logged and "ClientDisconnect" not in logged, logged[-2000:]
    assert hostile_stack.call("get_available_services", {}).success


def test_a_body_that_never_completes_is_answered_408_after_the_read_timeout(hostile_stack: LiveStack) -> None:
    before = hostile_stack.count_appointments()
    sock = _half_a_body(hostile_stack)
    started = monotonic()
    try:
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    finally:
        sock.close()
    took = monotonic() - started
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert BODY_READ_TIMEOUT_S - 0.2 <= took <= BODY_READ_TIMEOUT_S + 3, took
    assert "Traceback" not in _log(hostile_stack)
    assert hostile_stack.count_appointments() == before
