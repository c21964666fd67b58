"""Talking to Cal.com (mock or real) on the harness's own behalf: faults, config, seeds, catalog."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from harness.scenario import FaultRule

CAL_API_VERSION = "2024-08-13"  # bookings
EVENT_TYPES_API_VERSION = "2024-06-14"  # Cal.com versions each resource on its own


class MockControlError(Exception):
    pass


def calcom_headers(api_key: str, version: str = CAL_API_VERSION) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "cal-api-version": version}


class CalcomSide:
    """The Cal.com API (real or mock) plus the mock's /_control API when there is one."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, api_key: str) -> None:
        self._client = client
        self.base = base_url.rstrip("/")
        self._api_key = api_key
        self.is_mock = False

    async def detect(self) -> bool:
        try:
            response = await self._client.get(f"{self.base}/_control/health", timeout=5)
            self.is_mock = response.status_code == 200
        except httpx.HTTPError:
            self.is_mock = False
        return self.is_mock

    async def _control(self, method: str, path: str, json: Any = None) -> Any:
        if not self.is_mock:
            raise MockControlError(f"{self.base} has no mock control API: faults and config need mock_calcom")
        response = await self._client.request(method, f"{self.base}/_control/{path}", json=json, timeout=10)
        if response.status_code >= 400:
            raise MockControlError(f"{method} /_control/{path}: HTTP {response.status_code}: {response.text[:300]}")
        return response.json()

    async def apply_faults(self, faults: list[str | FaultRule]) -> None:
        """Named profiles (mock_calcom/profiles/<name>.yaml) and inline rules, added up."""
        await self.clear_faults()
        inline = [f.model_dump(exclude_none=True) for f in faults if isinstance(f, FaultRule)]
        for name in (f for f in faults if isinstance(f, str)):
            await self._control("POST", "faults", {"profile": name})
        if inline:
            await self._control("POST", "faults", {"faults": inline})

    async def clear_faults(self) -> None:
        await self._control("DELETE", "faults")

    async def config(self) -> dict[str, Any]:
        return dict(await self._control("GET", "config"))

    async def set_config(self, changes: dict[str, Any]) -> None:
        await self._control("PUT", "config", changes)

    async def ledger(self) -> list[dict[str, Any]]:
        return list((await self._control("GET", "ledger"))["bookings"])

    async def event_types(self) -> dict[str, int]:
        """Title → event type id, from Cal.com's own listing."""
        response = await self._client.get(f"{self.base}/v2/event-types",
                                          headers=calcom_headers(self._api_key, EVENT_TYPES_API_VERSION), timeout=10)
        response.raise_for_status()
        return {str(item["title"]): int(item["id"]) for item in response.json()["data"]}

    async def seed_booking(self, event_type_id: int, start: datetime, name: str, email: str) -> str:
        """An existing booking (someone else's), made straight at Cal.com."""
        body = {
            "start": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "eventTypeId": event_type_id,
            "attendee": {"name": name, "email": email, "timeZone": "Europe/Berlin", "language": "de"},
            "metadata": {"source": "callsim-seed"},
        }
        response = await self._client.post(f"{self.base}/v2/bookings", json=body,
                                           headers=calcom_headers(self._api_key), timeout=10)
        if response.status_code >= 300:
            raise MockControlError(f"seeding a booking at {body['start']} failed: HTTP {response.status_code}: "
                                   f"{response.text[:300]}")
        return str(response.json()["data"]["uid"])
