"""The scenario clock: a relative `now` made concrete, and German date words derived from it.

Scenarios state their clock relatively ("next monday 10:00") because Cal.com (and the mock) refuse
slots in the past: a fixed date in a YAML file would rot. Each scenario also gets its own week
("lane"), so scenarios running side by side never compete for the same slot.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
# The first moment a scenario clock may take, counted from the real time: far enough ahead that
# "heute" and "morgen" of the scenario are still bookable while the suite runs.
MIN_LEAD = timedelta(days=2)

WEEKDAYS = {
    "mon": 0, "monday": 0, "montag": 0,
    "tue": 1, "tuesday": 1, "dienstag": 1,
    "wed": 2, "wednesday": 2, "mittwoch": 2,
    "thu": 3, "thursday": 3, "donnerstag": 3,
    "fri": 4, "friday": 4, "freitag": 4,
    "sat": 5, "saturday": 5, "samstag": 5,
    "sun": 6, "sunday": 6, "sonntag": 6,
}  # fmt: skip
GERMAN_WEEKDAYS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
GERMAN_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                 "September", "Oktober", "November", "Dezember"]  # fmt: skip

_RELATIVE_NOW = re.compile(r"^\s*(?:next\s+|nächsten\s+)?(?P<weekday>[a-zäöü]+)\s+(?P<time>\d{1,2}:\d{2})\s*$", re.I)


def parse_clock_time(text: str) -> time:
    """'9:30' or '09:30' → time; raises ValueError with the offending text."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not match:
        raise ValueError(f"expected a time like '10:00', got {text!r}")
    return time(int(match[1]), int(match[2]))


def parse_weekday(text: str) -> int:
    try:
        return WEEKDAYS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown weekday {text!r} (use mon … sun)") from None


def parse_relative_now(text: str) -> tuple[int, time]:
    """'next monday 10:00' → (0, 10:00)."""
    match = _RELATIVE_NOW.match(text)
    if not match:
        raise ValueError(f"expected 'next <weekday> HH:MM', got {text!r}")
    return parse_weekday(match["weekday"]), parse_clock_time(match["time"])


def first_weekday_at(weekday: int, at: time, real_now: datetime) -> datetime:
    """The first `weekday` `at` (Berlin) that lies at least MIN_LEAD after `real_now`."""
    earliest = real_now.astimezone(BERLIN) + MIN_LEAD
    day = earliest.date() + timedelta(days=(weekday - earliest.weekday()) % 7)
    moment = datetime.combine(day, at, tzinfo=BERLIN)
    if moment < earliest:
        moment = datetime.combine(day + timedelta(days=7), at, tzinfo=BERLIN)
    return moment


def days_ahead_at(days: int, at: time, real_now: datetime) -> datetime:
    """`days` days after the earliest allowed day, `at` o'clock."""
    earliest = real_now.astimezone(BERLIN) + MIN_LEAD
    moment = datetime.combine(earliest.date() + timedelta(days=days), at, tzinfo=BERLIN)
    if moment < earliest:
        moment += timedelta(days=1)
    return moment


def in_lane(moment: datetime, lane: int) -> datetime:
    """Shift by whole weeks so weekday and wall-clock time stay as written (DST-safe)."""
    shifted_day = moment.date() + timedelta(weeks=lane)
    return datetime.combine(shifted_day, moment.timetz().replace(tzinfo=None), tzinfo=BERLIN)


def german_date(day: date) -> str:
    return f"{day.day}. {GERMAN_MONTHS[day.month - 1]}"


class _DayWord:
    """A placeholder whose format spec is a day offset: '{date:+2}' → '27. November'."""

    def __init__(self, now: datetime, render: Any) -> None:
        self._now = now
        self._render = render

    def __format__(self, spec: str) -> str:
        offset, _, at = spec.partition("@")
        day = self._now.date() + timedelta(days=int(offset or 0))
        return self._render(day, at)

    def __str__(self) -> str:
        return format(self, "")


def _iso(day: date, at: str) -> str:
    moment = datetime.combine(day, parse_clock_time(at or "10:00"), tzinfo=BERLIN)
    return moment.isoformat()


def date_placeholders(now: datetime) -> dict[str, Any]:
    """Placeholders for turns and expectations, all relative to the scenario's `now`.

    {date:+2} → '27. November'   {numeric:+2} → '27.11.'   {weekday:+2} → 'Mittwoch'
    {iso:+1@10:00} → '2026-11-26T10:00:00+01:00'
    """
    return {
        "date": _DayWord(now, lambda day, _at: german_date(day)),
        "numeric": _DayWord(now, lambda day, _at: f"{day.day:02d}.{day.month:02d}."),
        "weekday": _DayWord(now, lambda day, _at: GERMAN_WEEKDAYS[day.weekday()]),
        "iso": _DayWord(now, _iso),
    }
