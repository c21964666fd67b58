"""Free slots from opening hours, service duration, slot interval and the host's accepted bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays

from mock_calcom.catalog import Catalog
from mock_calcom.ledger import Booking, BookingLedger


class HolidayOverrides:
    """A German state's public holidays as date overrides without hours: Cal.com models a closed
    day as a schedule date override with no availability (API v2 schedules, `overrides`), and
    offers and accepts no slot on it."""

    def __init__(self, state: str | None) -> None:
        self._calendar = holidays.country_holidays("DE", subdiv=state) if state else None

    def closed(self, day: date) -> bool:
        return self._calendar is not None and day in self._calendar


class Availability:
    """Computes a host's free slot starts per local day, cached until that day's bookings change.

    The cache keeps `/v2/slots` cheap under load: a day is recomputed only when a booking on it (or on
    the day before, for bookings crossing midnight) is added or cancelled.
    """

    def __init__(self, catalog: Catalog, ledger: BookingLedger,
                 overrides: HolidayOverrides | None = None) -> None:
        self._catalog = catalog
        self._ledger = ledger
        self._overrides = overrides or HolidayOverrides(None)
        self._cache: dict[
            tuple[int, date, int, tuple[int, int], bool], tuple[tuple[int, int], list[datetime]]
        ] = {}

    def candidate_starts(self, day: date, duration: int) -> list[datetime]:
        """Every start within opening hours on `day` (UTC instants), stepping by the slot interval."""
        zone = self._catalog.zone
        step = timedelta(minutes=self._catalog.slot_interval_minutes)
        length = timedelta(minutes=duration)
        starts: list[datetime] = []
        if self._overrides.closed(day):
            return starts
        for opens, closes in self._catalog.hours_on(day.weekday()):
            # Wall-clock arithmetic in local time, then UTC: a DST switch moves the instants, not the hours.
            moment = datetime.combine(day, opens)
            closing = datetime.combine(day, closes)
            while moment + length <= closing:
                starts.append(moment.replace(tzinfo=zone).astimezone(UTC))
                moment += step
        return starts

    def free_starts(
        self,
        host_id: int,
        day: date,
        duration: int,
        *,
        buffers: tuple[int, int] = (0, 0),
        ignore_bookings: bool = False,
    ) -> list[datetime]:
        key = (host_id, day, duration, buffers, ignore_bookings)
        version = (0, 0) if ignore_bookings else self._ledger.version(host_id, day)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        starts = self.candidate_starts(day, duration)
        if not ignore_bookings:
            busy = self._ledger.active_on(host_id, day)
            length = timedelta(minutes=duration)
            starts = [s for s in starts if not any(_clash(b, s, s + length, buffers) for b in busy)]
        self._cache[key] = (version, starts)
        return starts

    def within_opening_hours(self, start: datetime, end: datetime) -> bool:
        zone = self._catalog.zone
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        if self._overrides.closed(local_start.date()):
            return False
        for opens, closes in self._catalog.hours_on(local_start.weekday()):
            opening = datetime.combine(local_start.date(), opens, tzinfo=zone)
            closing = datetime.combine(local_start.date(), closes, tzinfo=zone)
            if opening <= local_start and local_end <= closing:
                return True
        return False

    def conflicts(
        self,
        host_id: int,
        start: datetime,
        end: datetime,
        ignore_uid: str | None = None,
        buffers: tuple[int, int] = (0, 0),
    ) -> list[Booking]:
        """The host's accepted bookings overlapping [start, end), each side widened by its buffers."""
        local_day = start.astimezone(self._catalog.zone).date()
        nearby = {
            b.uid: b
            for day in (local_day, local_day + timedelta(days=1))
            for b in self._ledger.active_on(host_id, day)
        }
        return [
            b for b in nearby.values() if b.uid != ignore_uid and _clash(b, start, end, buffers)
        ]


def _clash(booking: Booking, start: datetime, end: datetime, buffers: tuple[int, int]) -> bool:
    """Cal.com blocks an event's buffers like busy time: the new event's buffers may not touch an
    existing booking, and the existing booking's buffers may not touch the new event
    (packages/lib/getUserAvailability.ts, buffers added around each busy booking)."""
    before, after = buffers
    event_type = booking.event_type
    busy_start = booking.start - timedelta(minutes=event_type.before_event_buffer)
    busy_end = booking.end + timedelta(minutes=event_type.after_event_buffer)
    return busy_start < end + timedelta(minutes=after) and start - timedelta(minutes=before) < busy_end
