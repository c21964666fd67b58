"""Hostile input at the webhook: schema-driven fuzzing (schemathesis) and fuzzed Retell payloads.

Whatever arrives — wrong types, no call object, huge or deeply nested JSON, invalid UTF-8, control
characters, SQL or template injection in names — the answer is never a 5xx, never a traceback,
always the contract's shape, and a refused request leaves the appointments table as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking_core.schemas import FUNCTION_NAMES
from harness.stack import StackOptions
from tests.reliability.live_stack import BERLIN, Answer, LiveStack, live_stack
from tests.reliability.schedule import booking_day

# The contract's error codes (docs/contracts.md) plus the transport-level refusals of the webhook.
ERRORS = {
    "unknown_function", "invalid_args", "invalid_json", "unparseable_time", "too_far_ahead", "time_needed", "service_unknown",
    "service_ambiguous", "outside_hours", "in_past", "slot_taken", "lock_busy", "calcom_unavailable",
    "booking_unconfirmed", "db_unavailable", "lock_unavailable", "not_found", "appointment_ambiguous", "disabled",
}
REFUSAL_STATUSES = {400, 413, 422}
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
    with live_stack(StackOptions(extra_env={"RETELL_API_KEY": "", "RECONCILE_INTERVAL_S": "0"})) as stack:
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
