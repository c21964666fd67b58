"""A short-lived, single-flight, day-by-day cache in front of Cal.com's `/v2/slots`.

During a storm fifty callers ask for the same day's slots within a second; one Cal.com request
answers them all. A miss asks for PREFETCH_DAYS days at once: a taken wish's alternatives lie on the
next days, and so do the neighbouring callers' wishes. Staleness is bounded by the TTL and harmless:
a booking is re-checked under the lock against our DB, and Cal.com itself refuses a taken slot.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking_core.adapters.calcom import CalcomClient, CalcomOutcomeUnknown

PREFETCH_DAYS = 3
MAX_DAYS = 4096

Key = tuple[int, date, str]  # event type, local day, time zone


class SlotsCache:
    def __init__(self, calcom: CalcomClient, ttl_s: float, prefetch_days: int = PREFETCH_DAYS) -> None:
        self._calcom = calcom
        self._ttl_s = ttl_s
        self._prefetch_days = prefetch_days
        self._fresh: dict[Key, tuple[float, list[datetime]]] = {}
        self._inflight: dict[Key, asyncio.Future[None]] = {}

    def forget(self, moment: datetime | None = None) -> None:
        """After our own booking or cancellation changes a day, the next caller should see it at
        once. Only that day goes: clearing everything sent every check after any booking to Cal.com."""
        if moment is None:
            self._fresh.clear()
            return
        day_in: dict[str, date] = {}  # the moment's local day, once per time zone (keys are many)
        for key in list(self._fresh):
            zone = key[2]
            if zone not in day_in:
                day_in[zone] = moment.astimezone(ZoneInfo(zone)).date()
            if day_in[zone] == key[1]:
                del self._fresh[key]

    async def slots(self, event_type_id: int, start: datetime, end: datetime, time_zone: str,
                    timeout_s: float | None = None) -> list[datetime]:
        """Cal.com's free starts in [start, end); whole local days are served from the cache."""
        zone = ZoneInfo(time_zone)
        local = start.astimezone(zone)
        first = local.date()
        days = (end.astimezone(zone).date() - first).days
        whole_days = local.time() == datetime.min.time() and _midnight(first + timedelta(days=days), zone) == end
        if self._ttl_s <= 0 or days <= 0 or not whole_days:
            return await self._calcom.slots(event_type_id, start, end, time_zone, timeout_s=timeout_s)
        wanted = [(event_type_id, first + timedelta(days=i), time_zone) for i in range(days)]
        now = time.monotonic()
        missing = [key for key in wanted if not (key in self._fresh and self._fresh[key][0] > now)]
        fetch_from = next((key[1] for key in missing if key not in self._inflight), None)
        if fetch_from is not None:
            last = max(wanted[-1][1] + timedelta(days=1), fetch_from + timedelta(days=self._prefetch_days))
            await self._fetch(event_type_id, fetch_from, last, time_zone, zone, timeout_s)
        for key in missing:
            pending = self._inflight.get(key)
            if pending is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(pending), timeout_s)
                except TimeoutError as exc:
                    raise CalcomOutcomeUnknown("slots: timeout waiting for a shared request") from exc
        result: list[datetime] = []
        for key in wanted:
            cached = self._fresh.get(key)
            if cached is None:  # evicted between the fetch and now: ask for exactly this range
                return await self._calcom.slots(event_type_id, start, end, time_zone, timeout_s=timeout_s)
            result += cached[1]
        return result

    async def _fetch(self, event_type_id: int, first: date, last: date, time_zone: str, zone: ZoneInfo,
                     timeout_s: float | None) -> None:
        """One request for the days [first, last), stored day by day; concurrent askers wait for it."""
        keys = [(event_type_id, first + timedelta(days=i), time_zone) for i in range((last - first).days)]
        keys = [key for key in keys if key not in self._inflight]
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for key in keys:
            self._inflight[key] = future
        try:
            found = await self._calcom.slots(event_type_id, _midnight(first, zone), _midnight(last, zone),
                                             time_zone, timeout_s=timeout_s)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters may all have given up
            raise
        finally:
            for key in keys:
                if self._inflight.get(key) is future:
                    del self._inflight[key]
        by_day: dict[date, list[datetime]] = {key[1]: [] for key in keys}
        for moment in found:
            day = moment.astimezone(zone).date()
            if day in by_day:
                by_day[day].append(moment)
        if len(self._fresh) > MAX_DAYS:
            self._fresh.clear()
        expires = time.monotonic() + self._ttl_s
        for key in keys:
            self._fresh[key] = (expires, by_day[key[1]])
        future.set_result(None)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), zone)
