"""Every booking the mock ever made, with its status history; indexed per host and day for slots."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mock_calcom.catalog import EventType, Host

_BASE58 = "123456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass
class Booking:
    id: int
    uid: str
    event_type: EventType
    host: Host
    start: datetime
    end: datetime
    attendee: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    guests: list[str] = field(default_factory=list)
    status: str = "accepted"
    updated_at: datetime | None = None
    cancellation_reason: str | None = None
    cancelled_by_email: str | None = None
    rescheduling_reason: str | None = None
    rescheduled_from_uid: str | None = None
    rescheduled_to_uid: str | None = None
    history: list[tuple[str, datetime]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status == "accepted"

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


class BookingLedger:
    """In-memory Cal.com booking table.

    Accepted bookings are also indexed by (host, local start date) with a version counter per key,
    so availability can cache a day's free slots until that day's bookings change.
    """

    def __init__(self, zone: ZoneInfo, uid_seed: int | None) -> None:
        self._zone = zone
        self._uid_random = random.Random(f"uid-{uid_seed}")
        self._bookings: dict[str, Booking] = {}
        self._by_host_day: dict[tuple[int, date], list[Booking]] = defaultdict(list)
        self._versions: dict[tuple[int, date], int] = defaultdict(int)
        self._next_id = 1

    def __iter__(self) -> Iterator[Booking]:
        return iter(list(self._bookings.values()))

    def __len__(self) -> int:
        return len(self._bookings)

    def get(self, uid: str) -> Booking | None:
        return self._bookings.get(uid)

    def new_uid(self) -> str:
        number = self._uid_random.getrandbits(128)
        digits = []
        while number:
            number, rest = divmod(number, 58)
            digits.append(_BASE58[rest])
        return "".join(reversed(digits)).rjust(22, _BASE58[0])

    def add(self, booking_fields: dict[str, Any], now: datetime) -> Booking:
        booking = Booking(id=self._next_id, uid=self.new_uid(), created_at=now, **booking_fields)
        booking.history.append((booking.status, now))
        self._next_id += 1
        self._bookings[booking.uid] = booking
        self._index(booking)
        return booking

    def set_status(self, booking: Booking, status: str, now: datetime, **changes: Any) -> None:
        was_active = booking.active
        booking.status = status
        booking.updated_at = now
        for name, value in changes.items():
            setattr(booking, name, value)
        booking.history.append((status, now))
        if was_active and not booking.active:
            key = self._key(booking)
            self._by_host_day[key].remove(booking)
            self._versions[key] += 1

    def active_on(self, host_id: int, day: date) -> list[Booking]:
        """Accepted bookings of a host that may overlap the local `day` (those starting the day before too)."""
        return self._by_host_day.get(
            (host_id, day - timedelta(days=1)), []
        ) + self._by_host_day.get((host_id, day), [])

    def version(self, host_id: int, day: date) -> tuple[int, int]:
        return self._versions[(host_id, day - timedelta(days=1))], self._versions[(host_id, day)]

    def _key(self, booking: Booking) -> tuple[int, date]:
        return booking.host.id, booking.start.astimezone(self._zone).date()

    def _index(self, booking: Booking) -> None:
        if booking.active:
            key = self._key(booking)
            self._by_host_day[key].append(booking)
            self._versions[key] += 1
