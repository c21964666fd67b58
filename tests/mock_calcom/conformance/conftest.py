"""The conformance suite's two targets: mock_calcom (always) and a real Cal.com account (when configured).

Real Cal.com: set CALCOM_CONFORMANCE_URL (e.g. https://api.cal.com), CALCOM_CONFORMANCE_API_KEY (a
`cal_…` key of the user who owns the event types) and CALCOM_CONFORMANCE_EVENT_TYPE_ID (one of that
user's event types with a single length, bookable in the next 14 days). Optional, for the rules that
need an event type set up for them: CALCOM_CONFORMANCE_MULTI_DURATION_EVENT_TYPE_ID (several lengths),
CALCOM_CONFORMANCE_MIN_NOTICE_EVENT_TYPE_ID (minimum notice of at least 60 minutes),
CALCOM_CONFORMANCE_NO_CANCEL_EVENT_TYPE_ID (cancelling disabled). Every booking a test makes on the
real account is cancelled afterwards. Then: `make conformance`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_calcom.launcher import running_mock

CATALOG = Path(__file__).with_name("salon_conformance.yaml")
FROZEN_NOW = datetime(2030, 6, 3, 5, tzinfo=UTC)  # Monday 07:00 in Berlin
BOOKINGS = {"cal-api-version": "2024-08-13"}
SLOTS = {"cal-api-version": "2024-09-04"}
ENV = "CALCOM_CONFORMANCE_"


@dataclass
class Target:
    """One Cal.com (real or mock) and the event types its rules are tried on."""

    name: str
    base_url: str
    api_key: str
    event_types: dict[str, int | None]
    other_user_key: str | None = None
    control: httpx.Client | None = None  # mock only: its /_control API
    created: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=15,
                                 headers={"Authorization": f"Bearer {self.api_key}"})

    @property
    def is_mock(self) -> bool:
        return self.control is not None

    def event_type(self, rule: str) -> int:
        """The event type set up for `rule`, or skip with the variable a real account lacks."""
        event_type_id = self.event_types.get(rule)
        if event_type_id is None:
            pytest.skip(f"{self.name}: set {ENV}{rule.upper()}_EVENT_TYPE_ID to check this rule")
        return event_type_id

    def now(self) -> datetime:
        return FROZEN_NOW if self.is_mock else datetime.now(UTC)

    def free_starts(self, event_type_id: int) -> list[str]:
        """Bookable starts (UTC, Cal.com's own list) in the next 14 days."""
        now = self.now()
        response = self.http.get("/v2/slots", headers=SLOTS, params={
            "eventTypeId": event_type_id, "start": now.isoformat().replace("+00:00", "Z"),
            "end": (now + timedelta(days=14)).isoformat().replace("+00:00", "Z"), "timeZone": "UTC"})
        assert response.status_code == 200, response.text
        starts = [slot["start"] for day in response.json()["data"].values() for slot in day]
        if not starts:
            pytest.skip(f"{self.name}: event type {event_type_id} has no free slot in 14 days")
        return starts

    def booking_body(self, event_type_id: int, start: str, **extra: Any) -> dict[str, Any]:
        return {"start": start, "eventTypeId": event_type_id,
                "attendee": {"name": "Konformität Test", "email": "conformance@example.com",
                             "timeZone": "Europe/Berlin", "language": "de"},
                "metadata": {"suite": "callsim-conformance"}, **extra}

    def book(self, event_type_id: int, start: str, **extra: Any) -> httpx.Response:
        response = self.http.post("/v2/bookings", headers=BOOKINGS,
                                  json=self.booking_body(event_type_id, start, **extra))
        if response.status_code in (200, 201):
            data = response.json()["data"]
            self.created.append(data["uid"])
        return response

    def cleanup(self) -> None:
        for uid in self.created:
            self.http.post(f"/v2/bookings/{uid}/cancel", headers=BOOKINGS,
                           json={"cancellationReason": "callsim conformance suite"})
        self.created.clear()


def error_message(response: httpx.Response) -> str:
    """Cal.com's error text, in its envelope or as the bare {statusCode, message} of core errors."""
    body = response.json()
    if isinstance(body.get("error"), dict):
        return str(body["error"]["message"])
    return str(body.get("message"))


@pytest.fixture(scope="session")
def mock_target_url() -> Iterator[str]:
    # With --api-key the mock, like Cal.com, knows its keys: that one (the salon account) and the
    # stylists' own keys from the catalog; any other key is invalid.
    with running_mock("--seed", "7", "--catalog", str(CATALOG), "--max-hang-s", "3",
                      "--api-key", "cal_conformance_salon") as url:
        yield url


def _real_target() -> Target | None:
    url, key = os.environ.get(f"{ENV}URL"), os.environ.get(f"{ENV}API_KEY")
    event_type = os.environ.get(f"{ENV}EVENT_TYPE_ID")
    if not (url and key and event_type):
        return None

    def optional(name: str) -> int | None:
        value = os.environ.get(f"{ENV}{name}_EVENT_TYPE_ID")
        return int(value) if value else None

    return Target("calcom", url, key, {
        "single": int(event_type), "multi_duration": optional("MULTI_DURATION"),
        "min_notice": optional("MIN_NOTICE"), "no_cancel": optional("NO_CANCEL"),
        "booking_window": None, "buffer": None})


@pytest.fixture(params=["mock", "calcom"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "calcom":
        real = _real_target()
        if real is None:
            pytest.skip(f"no real Cal.com configured: set {ENV}URL, {ENV}API_KEY and {ENV}EVENT_TYPE_ID "
                        "(see tests/mock_calcom/conformance/conftest.py) and run `make conformance`")
        chosen = real
    else:
        url = request.getfixturevalue("mock_target_url")
        control = httpx.Client(base_url=url, timeout=10)
        control.put("/_control/config", json={"now": FROZEN_NOW.isoformat(), "seed": 7, "rate_limit": False,
                                              "core_error_shape": "envelope"}).raise_for_status()
        control.post("/_control/reset").raise_for_status()
        chosen = Target("mock", url, "cal_conformance_ida", {
            "single": 1, "multi_duration": 2, "min_notice": 3, "no_cancel": 4, "booking_window": 5,
            "buffer": 6}, other_user_key="cal_conformance_otto", control=control)
    try:
        yield chosen
    finally:
        chosen.cleanup()
        chosen.http.close()
