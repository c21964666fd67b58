"""The salon's booking rules: services, opening hours, slots and appointment states."""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo


class AppointmentStatus(enum.StrEnum):
    PENDING = "pending"  # intent written, Cal.com not yet confirmed
    CONFIRMED = "confirmed"  # the caller was told "gebucht"; the only active state
    FAILED = "failed"  # the caller was told it did not work
    COMPENSATED = "compensated"  # Cal.com booking cancelled again after a failed confirm
    CANCELLED = "cancelled"
    RESCHEDULED = "rescheduled"


# Which transitions the SAGA and the reconciler may make. Anything else is a bug.
TRANSITIONS: dict[AppointmentStatus, set[AppointmentStatus]] = {
    AppointmentStatus.PENDING: {
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.FAILED,
        AppointmentStatus.COMPENSATED,
    },
    # → compensated only when the confirm's acknowledgement was lost and the caller was told "no":
    # the row is the record of what the caller heard (see compensation.compensate).
    AppointmentStatus.CONFIRMED: {AppointmentStatus.CANCELLED, AppointmentStatus.RESCHEDULED,
                                  AppointmentStatus.COMPENSATED},
    # Never → confirmed: the caller of a failed row was told "nicht eingetragen" (a retry that took
    # over settled it), so a late confirm of the first attempt is fenced out and compensates.
    AppointmentStatus.FAILED: {AppointmentStatus.COMPENSATED},
    AppointmentStatus.COMPENSATED: set(),
    AppointmentStatus.CANCELLED: set(),
    AppointmentStatus.RESCHEDULED: set(),
}


class InvalidTransition(Exception):
    pass


def check_transition(current: str, new: AppointmentStatus) -> None:
    if new not in TRANSITIONS[AppointmentStatus(current)]:
        raise InvalidTransition(f"{current} -> {new}")


SALON = "salon"  # the whole salon as one resource: only for a salon whose services name no stylist


class MixedResources(ValueError):
    """The catalog would reach one stylist under two resource keys (no shared lock or constraint)."""


def check_resources(resources: Iterable[str]) -> None:
    """A stylist is one lock and constraint resource whatever the service: `salon` next to
    stylist resources (`host:<Cal.com user id>`) would let a salon-wide service and a stylist's
    service overlap on the same person, so the mix is refused."""
    kinds = set(resources)
    stylists = sorted(r for r in kinds if r.startswith("host:"))
    if SALON in kinds and stylists:
        raise MixedResources(
            f"services with resource '{SALON}' next to stylist resources ({', '.join(stylists)}): "
            "name the stylist of every service (resource host:<Cal.com user id>)")


@dataclass(frozen=True)
class Service:
    id: int
    name: str
    duration_min: int
    price_eur: Decimal | None
    resource: str
    calcom_event_type_id: int | None
    aliases: tuple[str, ...] = ()


def _no_holidays(day: date) -> str | None:
    return None


@dataclass(frozen=True)
class OpeningHours:
    opening: time
    closing: time
    days: frozenset[int] = field(default_factory=lambda: frozenset({1, 2, 3, 4, 5, 6}))
    # the public holiday's name on days the salon is closed for one, else None
    holiday: Callable[[date], str | None] = _no_holidays

    def is_open_on(self, day: date) -> bool:
        return day.isoweekday() in self.days and self.holiday(day) is None

    def fits(self, start: datetime, duration_min: int) -> bool:
        """Start and end both inside one opening day (start is local time)."""
        return self._within_day(start, timedelta(minutes=duration_min)) and self.is_open_on(start.date())

    def fitting(self, starts: Iterable[datetime], duration_min: int) -> list[datetime]:
        """The starts that fit(), each day's opening asked once: a check weighs a hundred slots over
        three days, and the holiday calendar per slot cost more than the rest of the filter."""
        length = timedelta(minutes=duration_min)
        open_on: dict[date, bool] = {}
        fitting = []
        for start in starts:
            day = start.date()
            if day not in open_on:
                open_on[day] = self.is_open_on(day)
            if open_on[day] and self._within_day(start, length):
                fitting.append(start)
        return fitting

    def _within_day(self, start: datetime, length: timedelta) -> bool:
        end = start + length
        return (start.time() >= self.opening and end.date() == start.date() and end.time() <= self.closing
                and end.time() != time(0))


@dataclass(frozen=True)
class Slot:
    resource: str
    start: datetime  # aware
    end: datetime

    @classmethod
    def for_service(cls, service: Service, start: datetime) -> Slot:
        return cls(service.resource, start, start + timedelta(minutes=service.duration_min))

    def overlaps(self, other_start: datetime, other_end: datetime) -> bool:
        return self.start < other_end and other_start < self.end

    def lock_keys(self, cell_minutes: int) -> list[str]:
        """One key per grid cell the slot covers.

        Locking cells rather than the start time also serialises two different services that
        overlap on one stylist at different start times.
        """
        cell = timedelta(minutes=cell_minutes)
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        first = (self.start.astimezone(UTC) - epoch) // cell
        last = (self.end.astimezone(UTC) - epoch - timedelta(microseconds=1)) // cell
        return [f"slot:{self.resource}:{i}" for i in range(first, last + 1)]


def to_utc_naive(moment: datetime) -> datetime:
    """Databases store naive UTC: MariaDB's DATETIME has no zone, so every engine gets the same."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_utc_naive(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(zone)


class BookingRefused(Exception):
    """A booking the caller cannot have; `code` is the webhook's error code."""

    def __init__(self, code: str, detail: str = "", **data: object) -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.data = data


def clear_of(starts: list[datetime], held: Iterable[tuple[datetime, datetime]], length: timedelta) -> list[datetime]:
    """The starts whose [start, start + length) overlaps none of the held intervals."""
    busy = _merged(held)
    busy_starts = [start for start, _ in busy]
    free = []
    for start in starts:
        # Of the joined busy stretches, only the last one beginning before this slot ends can reach into it.
        before_end = bisect_left(busy_starts, start + length) - 1
        if before_end < 0 or busy[before_end][1] <= start:
            free.append(start)
    return free


def _merged(intervals: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching intervals joined, sorted by start: a full day becomes one stretch, so
    a slot is checked against one neighbour instead of every appointment of the day."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
