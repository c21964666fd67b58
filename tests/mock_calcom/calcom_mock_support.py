"""Constants and a small client shared by the mock_calcom tests."""

from __future__ import annotations

from typing import Any

import httpx

# Monday 3 June 2030, 07:00 in Berlin (CEST): the frozen clock of every test.
FROZEN_NOW = "2030-06-03T05:00:00Z"
MONDAY = "2030-06-03"
TUESDAY = "2030-06-04"
SUNDAY = "2030-06-09"
SLOTS = {"cal-api-version": "2024-09-04"}
BOOKINGS = {"cal-api-version": "2024-08-13"}
EVENT_TYPES = {"cal-api-version": "2024-06-14"}
DEFAULT_CONFIG = {
    "now": FROZEN_NOW,
    "seed": 7,
    "race_window_ms": 0,
    "conflict_status": 400,
    "rate_limit": False,
    "rate_limit_requests": 120,
    "rate_limit_window_s": 60,
    "max_hang_s": 3,
}


class MockClient:
    """Cal.com calls and control calls against one running mock."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": "Bearer cal_test_key"}, timeout=5
        )

    def close(self) -> None:
        self.http.close()

    # control API
    def reset(self, **config: Any) -> None:
        self.config(**{**DEFAULT_CONFIG, **config})
        self.http.post("/_control/reset").raise_for_status()

    def config(self, **changes: Any) -> dict[str, Any]:
        response = self.http.put("/_control/config", json=changes)
        response.raise_for_status()
        return response.json()

    def set_faults(self, *rules: dict[str, Any]) -> dict[str, Any]:
        response = self.http.put("/_control/faults", json={"faults": list(rules)})
        response.raise_for_status()
        return response.json()

    def faults(self) -> list[dict[str, Any]]:
        return self.http.get("/_control/faults").json()["faults"]

    def ledger(self) -> list[dict[str, Any]]:
        return self.http.get("/_control/ledger").json()["bookings"]

    def journal(self, **filters: str) -> list[dict[str, Any]]:
        return self.http.get("/_control/requests", params=filters).json()["requests"]

    # Cal.com API
    def slots(self, event_type_id: int, day: str, **params: Any) -> httpx.Response:
        query = {
            "eventTypeId": event_type_id,
            "start": day,
            "end": day,
            "timeZone": "Europe/Berlin",
            **params,
        }
        return self.http.get("/v2/slots", params=query, headers=SLOTS)

    def slot_times(self, event_type_id: int, day: str) -> list[str]:
        """Local HH:MM of the free slots on `day`."""
        response = self.slots(event_type_id, day)
        response.raise_for_status()
        return [slot["start"][11:16] for slot in response.json()["data"].get(day, [])]

    def book(
        self,
        event_type_id: int,
        start: str,
        *,
        email: str = "eva.schmidt@example.de",
        metadata: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        body = {
            "start": start,
            "eventTypeId": event_type_id,
            "attendee": {
                "name": "Eva Schmidt",
                "email": email,
                "timeZone": "Europe/Berlin",
                "language": "de",
            },
            "metadata": metadata or {},
        }
        extra = {"timeout": timeout} if timeout is not None else {}
        return self.http.post(
            "/v2/bookings", json=body, headers={**BOOKINGS, **(headers or {})}, **extra
        )
