"""A short-lived, single-flight cache in front of Cal.com's `/v2/slots`.

During a storm fifty callers ask for the same day's slots within a second; one Cal.com request
answers them all. Staleness is bounded by the TTL and harmless: a booking is re-checked under the
lock against our DB, and Cal.com itself refuses a taken slot.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from booking_core.adapters.calcom import CalcomClient, CalcomOutcomeUnknown

Key = tuple[int, str, str, str]


class SlotsCache:
    def __init__(self, calcom: CalcomClient, ttl_s: float) -> None:
        self._calcom = calcom
        self._ttl_s = ttl_s
        self._fresh: dict[Key, tuple[float, datetime, datetime, list[datetime]]] = {}
        self._inflight: dict[Key, asyncio.Future[list[datetime]]] = {}

    def forget(self, moment: datetime | None = None) -> None:
        """After our own booking changes a day, the next caller should see it at once. Only the
        windows holding `moment` go: clearing everything made every check after any booking ask
        Cal.com again."""
        if moment is None:
            self._fresh.clear()
            return
        for key in [k for k, (_, start, end, _) in self._fresh.items() if start <= moment < end]:
            del self._fresh[key]

    async def slots(self, event_type_id: int, start: datetime, end: datetime, time_zone: str,
                    timeout_s: float | None = None) -> list[datetime]:
        if self._ttl_s <= 0:
            return await self._calcom.slots(event_type_id, start, end, time_zone, timeout_s=timeout_s)
        key = (event_type_id, start.isoformat(), end.isoformat(), time_zone)
        cached = self._fresh.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[3]
        pending = self._inflight.get(key)
        if pending is not None:
            try:
                return await asyncio.wait_for(asyncio.shield(pending), timeout_s)
            except TimeoutError as exc:
                raise CalcomOutcomeUnknown("slots: timeout waiting for a shared request") from exc
        future: asyncio.Future[list[datetime]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._calcom.slots(event_type_id, start, end, time_zone, timeout_s=timeout_s)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters may all have given up
            raise
        finally:
            self._inflight.pop(key, None)
        self._fresh[key] = (time.monotonic() + self._ttl_s, start, end, result)
        if len(self._fresh) > 1024:
            self._fresh.clear()
        future.set_result(result)
        return result
