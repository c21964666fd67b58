"""Where callers want to go: which services they ask for and the starts they aim at.

Starts are exact ISO times (Europe/Berlin, with offset) so a load run never depends on how the core
reads spoken German; they lie at least LEAD_DAYS ahead of today, inside opening hours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SALON_ZONE = ZoneInfo("Europe/Berlin")
OPENING = time(9, 0)
CLOSING = time(18, 0)
OPEN_WEEKDAYS = frozenset(range(6))  # Monday to Saturday
# The core refuses the past and Cal.com's slot window starts now; two days ahead keeps every start
# clear of both, whatever the time of day the run starts.
LEAD_DAYS = 2
GRID = timedelta(minutes=15)
UNKNOWN_DURATION_MIN = 60


def bookable_days(today: date, count: int, lead_days: int = LEAD_DAYS) -> list[date]:
    """The next `count` opening days, the first at least `lead_days` after today."""
    days: list[date] = []
    day = today + timedelta(days=lead_days)
    while len(days) < count:
        if day.weekday() in OPEN_WEEKDAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def day_starts(day: date, step: timedelta = GRID) -> list[datetime]:
    moment = datetime.combine(day, OPENING, SALON_ZONE)
    closing = datetime.combine(day, CLOSING, SALON_ZONE)
    starts = []
    while moment < closing:
        starts.append(moment)
        moment += step
    return starts


@dataclass(frozen=True)
class Wish:
    service: str
    start: datetime

    @property
    def iso(self) -> str:
        return self.start.isoformat()


class SlotSpace:
    """The services callers ask for (weighted) and the starts they aim at."""

    def __init__(self, demand: dict[str, float], starts: list[datetime], durations: dict[str, int]) -> None:
        if not starts:
            raise ValueError("a slot space needs at least one start")
        self.services = list(demand)
        self.weights = list(demand.values())
        self.starts = sorted(starts)
        self.durations = durations

    @classmethod
    def spread(cls, demand: dict[str, float], durations: dict[str, int], slots: int, today: date) -> SlotSpace:
        """`slots` starts spread over as many opening days as it takes (15-minute grid)."""
        per_day = len(day_starts(today))
        days = bookable_days(today, max(1, -(-slots // per_day)))
        starts = [s for day in days for s in day_starts(day)][:slots]
        return cls(demand, starts, durations)

    @classmethod
    def handful(cls, demand: dict[str, float], durations: dict[str, int], slots: int, today: date) -> SlotSpace:
        """`slots` starts half an hour apart on one morning: longer services overlap the next start, so
        callers fight over one stylist's cells, not only over identical starts."""
        day = bookable_days(today, 1)[0]
        first = datetime.combine(day, time(10, 0), SALON_ZONE)
        return cls(demand, [first + i * timedelta(minutes=30) for i in range(slots)], durations)

    def duration(self, service: str) -> timedelta:
        return timedelta(minutes=self.durations.get(service, UNKNOWN_DURATION_MIN))

    def _fits(self, service: str, start: datetime) -> bool:
        return start + self.duration(service) <= datetime.combine(start.date(), CLOSING, SALON_ZONE)

    def pick(self, rng: random.Random, avoid: set[datetime] | frozenset[datetime] = frozenset()) -> Wish:
        """A service by demand and a start where it ends before closing (and not one in `avoid`)."""
        service = rng.choices(self.services, self.weights)[0]
        fitting = [s for s in self.starts if s not in avoid and self._fits(service, s)]
        if not fitting:
            fitting = [s for s in self.starts if self._fits(service, s)] or self.starts
        return Wish(service, rng.choice(fitting))

    def other(self, rng: random.Random, service: str, avoid: set[datetime]) -> Wish:
        """Another start for the same service."""
        fitting = [s for s in self.starts if s not in avoid and self._fits(service, s)]
        return Wish(service, rng.choice(fitting or self.starts))
