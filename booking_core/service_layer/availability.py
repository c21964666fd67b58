"""When the caller wants to come, and what is free around it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from booking_core.adapters.calcom import CalcomError
from booking_core.domain.model import BookingRefused, Service, clear_of, to_utc_naive
from booking_core.language.when import parse_when
from booking_core.observability import CALCOM_CALLS, log
from booking_core.service_layer.core import Core

ALTERNATIVE_DAYS = 3  # the wish's day and the two after it
# What a slots read gets even when the request already spent the Cal.com budget waiting in the core's
# own queue (a burst): "Kalender nicht erreichbar" must mean Cal.com did not answer, not that we were busy.
MIN_SLOTS_TIMEOUT_S = 0.4


@dataclass(frozen=True)
class Wish:
    """A parsed date/time wish: an exact start, or a day with an optional window."""

    day: date
    start: datetime | None
    window: tuple[time, time] | None
    days: int = 1  # "Ende nächster Woche": the days from `day` on that the wish spans


def understand_when(core: Core, text: str | None, now: datetime) -> Wish:
    if not text or not text.strip():
        raise BookingRefused("invalid_args", missing=["date_time"])
    try:
        result = parse_when(text, now=now, opening=core.hours.opening, closing=core.hours.closing)
    except (ValueError, OverflowError):  # a phrase no calendar holds: ask again, don't fail the call
        result = None
    if result is not None and result.unclear:
        # never another day than the one said: ask back, naming what was unclear
        raise BookingRefused("unparseable_time", unclear=result.unclear, said=result.said)
    if result is None or (result.date is None and result.time is None and result.window is None):
        raise BookingRefused("unparseable_time")
    zone = core.settings.zone
    day = result.date
    if day is not None and day > now.date() + timedelta(days=core.settings.booking_horizon_days):
        raise BookingRefused("too_far_ahead")
    if day is None:
        day = now.date()
        if result.time is not None and datetime.combine(day, result.time, zone) <= now:
            day += timedelta(days=1)
    start = datetime.combine(day, result.time, zone) if result.time is not None else None
    span = (result.days[1] - result.days[0]).days + 1 if result.days else 1
    return Wish(day=day, start=start, window=result.window, days=span)


def check_bookable(core: Core, service: Service, start: datetime, now: datetime) -> None:
    if start <= now:
        raise BookingRefused("in_past")
    holiday = core.hours.holiday(start.date())
    if holiday is not None:
        raise BookingRefused("outside_hours", closed=holiday)
    if not core.hours.fits(start, service.duration_min):
        raise BookingRefused("outside_hours")


async def free_starts(core: Core, service: Service, first_day: date, days: int, now: datetime,
                      timeout_s: float | None = None, exclude_id: str | None = None) -> list[datetime]:
    """Cal.com's slots for the service, minus what our own DB already holds (pending included)."""
    zone = core.settings.zone
    if service.calcom_event_type_id is None:
        raise BookingRefused("service_unknown")
    start = datetime.combine(first_day, time(0), zone)
    end = start + timedelta(days=days)
    try:
        slots = await core.slots.slots(service.calcom_event_type_id, start, end, core.settings.tz,
                                        timeout_s=timeout_s)
        CALCOM_CALLS.labels("slots", "ok").inc()
    except CalcomError as exc:
        CALCOM_CALLS.labels("slots", type(exc).__name__).inc()
        raise
    async with core.uow() as uow:
        held = await uow.appointments.busy_between(service.resource, to_utc_naive(start), to_utc_naive(end))
    # Compared as UTC instants: converting every held row to local time cost more than the check.
    busy = [(b_start.replace(tzinfo=UTC), b_end.replace(tzinfo=UTC)) for b_id, b_start, b_end in held
            if b_id != exclude_id]
    candidates = core.hours.fitting((moment.astimezone(zone) for moment in slots if moment > now),
                                    service.duration_min)
    return clear_of(candidates, busy, timedelta(minutes=service.duration_min))


async def alternatives(core: Core, service: Service, around: datetime, now: datetime,
                       timeout_s: float = 0.5, exclude: datetime | None = None,
                       window: tuple[time, time] | None = None) -> list[datetime] | None:
    """Nearest free starts to the wish, same day first; None when they could not be read (Cal.com did
    not answer in time): the caller then hears that, not that nothing is free. Never raises."""
    first_open = around.date()
    for _ in range(14):  # a closed wish day (holiday, Sunday): offer from the next open day on
        if core.hours.is_open_on(first_open):
            break
        first_open += timedelta(days=1)
    if first_open != around.date():
        around = datetime.combine(first_open, core.hours.opening, core.settings.zone)
    try:
        starts = await free_starts(core, service, around.date(), ALTERNATIVE_DAYS, now, timeout_s=timeout_s)
    except (CalcomError, BookingRefused) as exc:
        log.warning("alternatives unavailable", reason=str(exc))
        return None
    return nearest(core, starts, around, exclude=exclude, window=window)


def nearest(core: Core, starts: list[datetime], around: datetime, exclude: datetime | None = None,
            window: tuple[time, time] | None = None) -> list[datetime]:
    """Of the free starts, the ones to offer instead of `around`: the same day first, then the
    nearest in time, at least an hour apart so the offers are not 15 minutes from each other."""
    starts = [s for s in starts if s != exclude]
    if window is not None:
        in_window = [s for s in starts if s.date() == around.date() and window[0] <= s.time() < window[1]]
        if in_window:  # the caller named a part of the day: stay inside it
            starts = in_window
    chosen: list[datetime] = []
    for start in sorted(starts, key=lambda s: (s.date() != around.date(), abs((s - around).total_seconds()))):
        if all(abs((start - c).total_seconds()) >= 3600 for c in chosen):
            chosen.append(start)
        if len(chosen) == core.settings.alternatives_count:
            break
    return sorted(chosen)
