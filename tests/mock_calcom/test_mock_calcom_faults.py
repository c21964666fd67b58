"""Every fault kind as a client meets it over TCP, every scope, composition, the header and the control API."""

from __future__ import annotations

import contextlib
import json
import time

import httpx
import pytest

from mock_calcom.errors import MSG_INVALID_API_KEY, MSG_SLOT_TAKEN
from mock_calcom.faults.profiles import profile_names
from mock_calcom.faults.rules import FAULT_KINDS
from tests.mock_calcom.calcom_mock_support import BOOKINGS, MONDAY, SLOTS, MockClient

DAMENSCHNITT = 2
START = f"{MONDAY}T08:00:00Z"
SLOTS_PARAMS = {"eventTypeId": DAMENSCHNITT, "start": MONDAY, "end": MONDAY}


def get_slots(mock: MockClient, fault: str | None = None, timeout: float = 5) -> httpx.Response:
    headers = {**SLOTS, **({"X-Mock-Fault": fault} if fault else {})}
    return mock.http.get("/v2/slots", params=SLOTS_PARAMS, headers=headers, timeout=timeout)


def timed(call):
    started = time.perf_counter()
    try:
        return call(), time.perf_counter() - started
    except httpx.HTTPError as exc:
        return exc, time.perf_counter() - started


# --- latency kinds ----------------------------------------------------------------------------------


def test_fixed_latency_delays_then_answers(mock: MockClient) -> None:
    response, elapsed = timed(lambda: get_slots(mock, "latency;ms=300"))
    assert response.status_code == 200 and elapsed >= 0.3
    assert mock.journal()[-1]["delay_ms"] == 300


@pytest.mark.parametrize(
    ("fault", "low", "high"),
    [
        ("random_latency;min_ms=100;max_ms=200", 100, 200),
        ("random_latency;distribution=lognormal;median_ms=50;sigma=0.3", 5, 500),
    ],
)
def test_random_latency_stays_in_its_distribution(
    mock: MockClient, fault: str, low: float, high: float
) -> None:
    for _ in range(5):
        assert get_slots(mock, fault).status_code == 200
    delays = [entry["delay_ms"] for entry in mock.journal()]
    assert all(low <= d <= high for d in delays) and len(set(delays)) == 5


def test_just_under_and_just_over_the_client_timeout(mock: MockClient) -> None:
    # A 0.6 s client timeout and wide margins keep this quick and steady on a busy machine; the
    # defaults (1.4 s and 1.6 s around 1.5 s) are checked in the unit tests.
    under = get_slots(mock, "latency_just_under;client_timeout_ms=600;margin_ms=400", timeout=0.6)
    assert under.status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        get_slots(mock, "latency_just_over;client_timeout_ms=600;margin_ms=400", timeout=0.6)
    assert [e["delay_ms"] for e in mock.journal()] == [200, 1000]


# --- hangs and slow bodies --------------------------------------------------------------------------


def test_hang_outlasts_the_client_and_books_nothing(mock: MockClient) -> None:
    with pytest.raises(httpx.ReadTimeout):
        mock.book(DAMENSCHNITT, START, headers={"X-Mock-Fault": "hang"}, timeout=0.5)
    assert mock.ledger() == []
    deadline = time.monotonic() + 2
    while mock.journal()[-1]["outcome"] != "client_gone" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mock.journal()[-1]["outcome"] == "client_gone"  # the server stopped waiting as well


def test_hang_is_bounded_by_max_hang_s(mock: MockClient) -> None:
    mock.config(max_hang_s=0.5)
    outcome, elapsed = timed(lambda: get_slots(mock, "hang;seconds=60", timeout=5))
    assert isinstance(outcome, httpx.RemoteProtocolError) and 0.5 <= elapsed < 4


def test_slow_body_sends_headers_then_dribbles_past_the_read_timeout(mock: MockClient) -> None:
    timeout = httpx.Timeout(5, read=0.5)
    headers = {**SLOTS, "X-Mock-Fault": "slow_body;chunk_delay_ms=1500;chunks=3"}
    with mock.http.stream(
        "GET", "/v2/slots", params=SLOTS_PARAMS, headers=headers, timeout=timeout
    ) as response:
        assert response.status_code == 200  # the head arrives at once
        with pytest.raises(httpx.ReadTimeout):
            response.read()


def test_slow_body_within_the_read_timeout_arrives_whole(mock: MockClient) -> None:
    response, elapsed = timed(
        lambda: get_slots(mock, "slow_body;chunk_delay_ms=150;chunks=3", timeout=1)
    )
    assert response.status_code == 200 and elapsed >= 0.3
    assert MONDAY in response.json()["data"]


# --- error statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("http_500", 500, "INTERNAL_SERVER_ERROR"),
        ("http_503", 503, "ServiceUnavailableException"),
        ("http_401", 401, "UnauthorizedException"),
        ("http_error;status=409", 409, "ConflictException"),
    ],
)
def test_json_errors_in_calcom_envelope(
    mock: MockClient, fault: str, status: int, code: str
) -> None:
    response = get_slots(mock, fault)
    body = response.json()
    assert (
        response.status_code == status
        and body["status"] == "error"
        and body["error"]["code"] == code
    )
    assert body["path"] == "/v2/slots"
    if status == 401:
        assert body["error"]["message"] == MSG_INVALID_API_KEY
    if status == 409:
        assert body["error"]["message"] == MSG_SLOT_TAKEN


@pytest.mark.parametrize(
    ("fault", "status"), [("http_502", 502), ("http_504", 504), ("http_error;status=502", 502)]
)
def test_gateway_errors_are_html_proxy_pages(mock: MockClient, fault: str, status: int) -> None:
    response = get_slots(mock, fault)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f"<title>{status} " in response.text
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_429_carries_calcom_rate_limit_headers_and_no_retry_after(mock: MockClient) -> None:
    response = get_slots(mock, "http_429;reset_s=42")
    assert response.status_code == 429 and response.json()["error"]["code"] == "ThrottlerException"
    assert response.headers["X-RateLimit-Limit-Default"] == "120"
    assert response.headers["X-RateLimit-Remaining-Default"] == "0"
    assert response.headers["X-RateLimit-Reset-Default"] == "42"
    assert "retry-after" not in response.headers


# --- broken connections and bodies ------------------------------------------------------------------


def test_reset_and_empty_reply_drop_the_connection(mock: MockClient) -> None:
    with pytest.raises(httpx.ReadError):
        get_slots(mock, "reset")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        get_slots(mock, "empty_reply")
    assert get_slots(mock).status_code == 200  # the client recovers on a new connection
    assert [e["outcome"] for e in mock.journal()] == ["reset", "empty_reply", "response"]


def test_malformed_and_truncated_json(mock: MockClient) -> None:
    malformed = get_slots(mock, "malformed_json")
    assert malformed.status_code == 200 and malformed.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        malformed.json()
    whole = get_slots(mock).content
    truncated = get_slots(mock, "truncated_json")
    assert (
        truncated.status_code == 200
        and whole.startswith(truncated.content)
        and len(truncated.content) < len(whole)
    )
    with pytest.raises(json.JSONDecodeError):
        truncated.json()


def test_truncated_create_is_stored_malformed_create_is_not_by_default(mock: MockClient) -> None:
    assert (
        mock.book(DAMENSCHNITT, START, headers={"X-Mock-Fault": "truncated_json"}).status_code
        == 201
    )
    assert len(mock.ledger()) == 1
    assert (
        mock.book(
            DAMENSCHNITT, f"{MONDAY}T12:00:00Z", headers={"X-Mock-Fault": "malformed_json"}
        ).status_code
        == 200
    )
    assert len(mock.ledger()) == 1
    mock.book(
        DAMENSCHNITT, f"{MONDAY}T12:00:00Z", headers={"X-Mock-Fault": "malformed_json;commit=true"}
    )
    assert len(mock.ledger()) == 2


def test_stale_slots_still_lists_a_booked_slot(mock: MockClient) -> None:
    mock.book(DAMENSCHNITT, START)  # 10:00 in Berlin
    assert "10:00" not in mock.slot_times(DAMENSCHNITT, MONDAY)
    stale = get_slots(mock, "stale_slots").json()["data"][MONDAY]
    assert f"{MONDAY}T08:00:00.000Z" in [s["start"] for s in stale]


# --- the orphan makers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [("commit_then_timeout", httpx.ReadTimeout), ("commit_then_reset", httpx.ReadError)],
)
def test_commit_then_lost_response_leaves_a_booking_the_client_never_saw(
    mock: MockClient, fault: str, error: type
) -> None:
    with pytest.raises(error):
        mock.book(
            DAMENSCHNITT,
            START,
            headers={"X-Mock-Fault": fault},
            metadata={"appointment_id": "x"},
            timeout=0.5,
        )
    (booking,) = mock.ledger()
    assert booking["status"] == "accepted" and booking["metadata"] == {"appointment_id": "x"}
    retry = mock.book(DAMENSCHNITT, START, metadata={"appointment_id": "x"})
    assert retry.status_code == 400 and retry.json()["error"]["message"] == MSG_SLOT_TAKEN


def test_commit_then_500_stores_the_booking_yet_answers_500(mock: MockClient) -> None:
    response = mock.book(DAMENSCHNITT, START, headers={"X-Mock-Fault": "commit_then_500"})
    assert (
        response.status_code == 500 and response.json()["error"]["code"] == "INTERNAL_SERVER_ERROR"
    )
    assert len(mock.ledger()) == 1


def test_reject_then_reset_stores_nothing(mock: MockClient) -> None:
    with pytest.raises(httpx.ReadError):
        mock.book(DAMENSCHNITT, START, headers={"X-Mock-Fault": "reject_then_reset"})
    assert mock.ledger() == []


def test_cancel_faults_exercise_compensation_retries(mock: MockClient) -> None:
    uid = mock.book(DAMENSCHNITT, START).json()["data"]["uid"]
    mock.set_faults(
        {"kind": "http_503", "method": "POST", "path": "/v2/bookings/*/cancel", "count": 1},
        {
            "kind": "commit_then_timeout",
            "method": "POST",
            "path": "/v2/bookings/*/cancel",
            "after": 1,
            "count": 1,
        },
    )
    cancel = f"/v2/bookings/{uid}/cancel"
    assert mock.http.post(cancel, headers=BOOKINGS).status_code == 503
    assert mock.ledger()[0]["status"] == "accepted"
    with pytest.raises(httpx.ReadTimeout):
        mock.http.post(cancel, headers=BOOKINGS, timeout=0.5)
    assert mock.ledger()[0]["status"] == "cancelled"
    assert mock.http.post(cancel, headers=BOOKINGS).status_code == 400  # already cancelled


# --- scope ------------------------------------------------------------------------------------------


def test_scope_by_method_and_path_with_wildcard(mock: MockClient) -> None:
    mock.set_faults({"kind": "http_503", "method": "POST", "path": "/v2/bookings/*/cancel"})
    uid = mock.book(DAMENSCHNITT, START).json()["data"]["uid"]
    assert get_slots(mock).status_code == 200
    reschedule = mock.http.post(
        f"/v2/bookings/{uid}/reschedule", json={"start": f"{MONDAY}T12:00:00Z"}, headers=BOOKINGS
    )
    assert reschedule.status_code == 201
    new_uid = reschedule.json()["data"]["uid"]
    assert mock.http.post(f"/v2/bookings/{new_uid}/cancel", headers=BOOKINGS).status_code == 503
    assert mock.http.get(f"/v2/bookings/{new_uid}", headers=BOOKINGS).status_code == 200


def test_count_after_and_their_window(mock: MockClient) -> None:
    mock.set_faults({"kind": "http_500", "path": "/v2/slots", "after": 1, "count": 2})
    assert [get_slots(mock).status_code for _ in range(5)] == [200, 500, 500, 200, 200]
    (rule,) = mock.faults()
    assert (rule["seen"], rule["hits"]) == (5, 2)


def test_seeded_probability(mock: MockClient) -> None:
    mock.set_faults({"kind": "http_503", "path": "/v2/slots", "probability": 0.5})
    statuses = [get_slots(mock).status_code for _ in range(40)]
    assert 8 <= statuses.count(503) <= 32 and set(statuses) == {200, 503}
    assert mock.faults()[0]["hits"] == statuses.count(503)


def test_faults_compose_latency_plus_error(mock: MockClient) -> None:
    mock.set_faults({"kind": "latency", "ms": 250}, {"kind": "http_503"}, {"kind": "http_500"})
    response, elapsed = timed(lambda: get_slots(mock))
    assert (
        response.status_code == 503 and elapsed >= 0.25
    )  # the first outcome wins, the delay still applies
    entry = mock.journal()[-1]
    assert entry["faults"] == ["latency", "http_503"] and entry["fault"] == "latency+http_503"
    assert [(r["seen"], r["hits"]) for r in mock.faults()] == [(1, 1), (1, 1), (1, 0)]


def test_header_fault_hits_only_its_request(mock: MockClient) -> None:
    response, elapsed = timed(lambda: get_slots(mock, "latency;ms=200, http_503"))
    assert response.status_code == 503 and elapsed >= 0.2
    assert get_slots(mock).status_code == 200
    assert mock.journal()[0]["headers"]["x-mock-fault"] == "latency;ms=200, http_503"
    bad = get_slots(mock, "no_such_fault")
    assert bad.status_code == 400 and "X-Mock-Fault" in bad.json()["error"]["message"]


# --- control API ------------------------------------------------------------------------------------


def test_control_api_put_get_delete_and_profiles(mock: MockClient) -> None:
    view = mock.set_faults({"kind": "http_500", "method": "GET", "path": "/v2/slots", "count": 3})
    assert view["faults"] == [
        {"kind": "http_500", "method": "GET", "path": "/v2/slots", "count": 3, "seen": 0, "hits": 0}
    ]
    assert set(view["kinds"]) == set(FAULT_KINDS) and "lost_response" in view["profiles"]
    assert mock.http.delete("/_control/faults").json()["faults"] == []
    loaded = mock.http.put("/_control/faults", json={"profile": "lost_response"}).json()["faults"]
    assert loaded[0]["kind"] == "commit_then_timeout" and loaded[0]["path"] == "/v2/bookings"
    mock.http.put("/_control/faults", json={"profile": "race_window"})
    assert mock.http.get("/_control/config").json()["race_window_ms"] == 50
    assert mock.http.put("/_control/faults", json={"profile": "nope"}).status_code == 404
    assert (
        mock.http.put("/_control/faults", json={"faults": [{"kind": "bogus"}]}).status_code == 422
    )
    mock.http.post("/_control/faults", json={"faults": [{"kind": "http_503"}]})
    assert [r["kind"] for r in mock.faults()] == ["http_503"]
    assert mock.http.post("/_control/reset", params={"keep_faults": True}).status_code == 200
    assert [r["kind"] for r in mock.faults()] == ["http_503"]
    mock.http.post("/_control/reset")
    assert mock.faults() == []


def test_every_shipped_profile_loads(mock: MockClient) -> None:
    for name in profile_names():
        assert mock.http.put("/_control/faults", json={"profile": name}).status_code == 200, name
    assert {"calcom_hang", "calcom_slow", "lost_response", "flaky_5xx"} <= set(profile_names())


QUICK_PARAMS = {
    "hang": ";seconds=0.2",
    "commit_then_timeout": ";seconds=0.2",
    "slow_body": ";chunk_delay_ms=10",
    "latency_just_under": ";client_timeout_ms=100",
    "latency_just_over": ";client_timeout_ms=100",
    "random_latency": ";max_ms=50",
    "latency": ";ms=10",
    "headers_then_hang": ";seconds=0.2",
    "bandwidth": ";bytes_per_s=100000",
    "outage": ";seconds=0.3",
}


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_kind_is_applied_and_journaled(mock: MockClient, kind: str) -> None:
    # Resets, empty replies and closed hangs are the point of some kinds.
    with contextlib.suppress(httpx.TransportError):
        get_slots(mock, kind + QUICK_PARAMS.get(kind, ""), timeout=3)
    if kind == "outage":
        time.sleep(0.6)  # the port is closed for 0.3 s
    (entry,) = mock.journal()
    assert entry["faults"] == [kind] and entry["fault"] == kind
