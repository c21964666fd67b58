"""Cal.com's own record of bookings, for the checker: the mock's ledger, or the real listing.

The checker never trusts the core's counters; it reads what Cal.com holds. The mock's ledger also
keeps each booking's status history, which lets the checker see double bookings that existed for
a moment and were cancelled afterwards (the compensation that hides a race).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from harness.mock_control import calcom_headers

PAGE_SIZE = 100
MAX_PAGES = 1000


@dataclass(frozen=True)
class CalBooking:
    uid: str
    host: str  # "host:<id>", the resource, as the core's appointments.resource
    start: datetime
    end: datetime
    status: str
    appointment_id: str | None
    call_id: str | None
    history: tuple[tuple[str, datetime], ...] = field(default_factory=tuple)
    rescheduled_from: str | None = None
    rescheduled_to: str | None = None

    @property
    def active(self) -> bool:
        return self.status == "accepted"

    def accepted_spans(self) -> list[tuple[datetime, datetime | None]]:
        """When this booking was accepted: [from, until) spans, until=None = still."""
        spans: list[tuple[datetime, datetime | None]] = []
        opened: datetime | None = None
        for status, at in self.history:
            if status == "accepted" and opened is None:
                opened = at
            elif status != "accepted" and opened is not None:
                spans.append((opened, at))
                opened = None
        if opened is not None:
            spans.append((opened, None))
        return spans


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_booking(raw: dict[str, Any]) -> CalBooking:
    hosts = raw.get("hosts") or []
    host = f"host:{hosts[0]['id']}" if hosts else f"event-type:{raw.get('eventTypeId')}"
    metadata = raw.get("metadata") or {}
    history = tuple((str(h["status"]), _when(str(h["at"]))) for h in raw.get("history") or [])
    return CalBooking(
        uid=str(raw["uid"]),
        host=host,
        start=_when(str(raw["start"])),
        end=_when(str(raw["end"])),
        status=str(raw.get("status", "")),
        appointment_id=str(metadata["appointment_id"]) if metadata.get("appointment_id") else None,
        call_id=str(metadata["call_id"]) if metadata.get("call_id") else None,
        history=history,
        rescheduled_from=raw.get("rescheduledFromUid"),
        rescheduled_to=raw.get("rescheduledToUid"),
    )


async def fetch_bookings(client: httpx.AsyncClient, calcom_url: str, api_key: str) -> tuple[list[CalBooking], str]:
    """All bookings, cancelled ones included; source is 'mock-ledger' or 'calcom-api'."""
    base = calcom_url.rstrip("/")
    try:
        response = await client.get(f"{base}/_control/ledger", timeout=15)
        if response.status_code == 200 and "bookings" in response.json():
            return [parse_booking(b) for b in response.json()["bookings"]], "mock-ledger"
    except (httpx.HTTPError, ValueError):
        pass
    bookings: list[CalBooking] = []
    for page in range(MAX_PAGES):
        response = await client.get(f"{base}/v2/bookings", params={"take": PAGE_SIZE, "skip": page * PAGE_SIZE},
                                    headers=calcom_headers(api_key), timeout=15)
        response.raise_for_status()
        body = response.json()
        items = body.get("data") or []
        bookings += [parse_booking(b) for b in items]
        if not items or not (body.get("pagination") or {}).get("hasNextPage"):
            break
    return bookings, "calcom-api"
