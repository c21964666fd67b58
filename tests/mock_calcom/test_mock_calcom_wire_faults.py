"""The wire-level faults as the core's Cal.com client meets them: each must end as the outcome it is
(unknown after a commit, unreachable when refused), and the mock must keep what it committed."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx
import pytest

from booking_core.adapters.calcom import CalcomClient, CalcomOutcomeUnknown, CalcomUnreachable
from tests.mock_calcom.calcom_mock_support import MONDAY, MockClient

DAMENSCHNITT = 2
START = datetime.fromisoformat(f"{MONDAY}T08:00:00+00:00").astimezone(UTC)
ATTENDEE = {"name": "Eva Schmidt", "email": "eva@example.de", "timeZone": "Europe/Berlin", "language": "de"}


async def _create(base_url: str, timeout_s: float = 1.0):  # type: ignore[no-untyped-def]
    client = CalcomClient(base_url, "cal_test_key", timeout_s=timeout_s)
    try:
        return await client.create_booking(event_type_id=DAMENSCHNITT, start=START, length_min=60,
                                           attendee=ATTENDEE, metadata={"appointment_id": "wire"})
    finally:
        await client.aclose()


@pytest.mark.parametrize("kind", ["partial_body", "reset_mid_body", "headers_then_hang;seconds=3",
                                  "bandwidth;bytes_per_s=50"])
def test_answer_lost_on_the_wire_after_commit_is_unknown_and_kept(mock: MockClient, kind: str) -> None:
    mock.set_faults({"kind": kind.split(";")[0], "method": "POST", "path": "/v2/bookings",
                     **{k: float(v) for k, v in (p.split("=") for p in kind.split(";")[1:])}})
    started = time.perf_counter()
    with pytest.raises(CalcomOutcomeUnknown):
        asyncio.run(_create(mock.base_url))
    assert time.perf_counter() - started < 2.0  # the client's deadline, not the fault, ends it
    assert [b["status"] for b in mock.ledger()] == ["accepted"]


def test_partial_body_sends_a_201_with_a_longer_content_length(mock: MockClient) -> None:
    mock.set_faults({"kind": "partial_body", "method": "POST", "path": "/v2/bookings"})
    with pytest.raises(httpx.RemoteProtocolError):
        mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z")
    assert len(mock.ledger()) == 1


def test_garbage_then_close_is_unknown_and_commits_nothing_by_default(mock: MockClient) -> None:
    mock.set_faults({"kind": "garbage_then_close", "method": "POST", "path": "/v2/bookings"})
    with pytest.raises(CalcomOutcomeUnknown):
        asyncio.run(_create(mock.base_url))
    assert mock.ledger() == []


@pytest.mark.parametrize("status", [502, 520, 521, 522, 523, 524])
def test_proxy_error_pages_are_html_and_an_unknown_outcome(mock: MockClient, status: int) -> None:
    mock.set_faults({"kind": "http_error", "status": status, "path": "/v2/bookings"})
    raw = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z")
    assert raw.status_code == status and raw.headers["content-type"].startswith("text/html")
    assert "cloudflare" in raw.text
    with pytest.raises(CalcomOutcomeUnknown):
        asyncio.run(_create(mock.base_url))


def test_unexpected_booking_shape_is_stored_and_answered_pending_without_metadata(mock: MockClient) -> None:
    mock.set_faults({"kind": "unexpected_booking", "method": "POST", "path": "/v2/bookings"})
    raw = mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z")
    assert raw.status_code == 200
    data = raw.json()["data"]
    assert data["status"] == "pending" and "metadata" not in data
    assert [b["status"] for b in mock.ledger()] == ["accepted"]


def test_outage_refuses_connections_for_its_duration_and_keeps_the_bookings(mock: MockClient) -> None:
    assert mock.book(DAMENSCHNITT, f"{MONDAY}T08:00:00Z").status_code == 201
    response = mock.http.post("/_control/outage", params={"seconds": 1.0})
    assert response.status_code == 200
    with pytest.raises(CalcomUnreachable):
        asyncio.run(_create(mock.base_url))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{mock.base_url}/_control/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    assert len(mock.ledger()) == 1


def test_outage_fault_loses_the_request_then_refuses(mock: MockClient) -> None:
    mock.set_faults({"kind": "outage", "seconds": 1.0, "method": "POST", "path": "/v2/bookings", "count": 1})
    with pytest.raises(CalcomOutcomeUnknown):
        asyncio.run(_create(mock.base_url))
    with pytest.raises(CalcomUnreachable):
        asyncio.run(_create(mock.base_url))
    time.sleep(1.3)
    assert mock.ledger() == []
