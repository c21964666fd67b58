"""The slots cache: day by day, one request for neighbouring days, shared by concurrent callers."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking_core.adapters.calcom import CalcomOutcomeUnknown
from booking_core.adapters.slots_cache import SlotsCache

TZ = "Europe/Berlin"
BERLIN = ZoneInfo(TZ)
MONDAY = date(2031, 3, 3)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), BERLIN)


class FakeCalcom:
    """Two free starts per day (10:00 and 15:00), every request recorded."""

    def __init__(self, delay_s: float = 0.0, fail: bool = False) -> None:
        self.requests: list[tuple[datetime, datetime]] = []
        self.delay_s = delay_s
        self.fail = fail

    async def slots(self, event_type_id: int, start: datetime, end: datetime, time_zone: str,
                    timeout_s: float | None = None) -> list[datetime]:
        self.requests.append((start, end))
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise CalcomOutcomeUnknown("HTTP 503")
        day, found = start.date(), []
        while midnight(day) < end:
            found += [datetime.combine(day, time(10), BERLIN), datetime.combine(day, time(15), BERLIN)]
            day += timedelta(days=1)
        return found


async def test_a_miss_fetches_the_next_days_too_and_they_are_served_from_it() -> None:
    calcom = FakeCalcom()
    cache = SlotsCache(calcom, ttl_s=60, prefetch_days=3)  # type: ignore[arg-type]
    monday = await cache.slots(2, midnight(MONDAY), midnight(MONDAY + timedelta(days=1)), TZ)
    tue_wed = await cache.slots(2, midnight(MONDAY + timedelta(days=1)), midnight(MONDAY + timedelta(days=3)), TZ)
    assert [s.date() for s in monday] == [MONDAY] * 2
    assert [s.date() for s in tue_wed] == [MONDAY + timedelta(days=1)] * 2 + [MONDAY + timedelta(days=2)] * 2
    assert calcom.requests == [(midnight(MONDAY), midnight(MONDAY + timedelta(days=3)))]
    # Thursday was not fetched: a new request, starting there.
    await cache.slots(2, midnight(MONDAY + timedelta(days=3)), midnight(MONDAY + timedelta(days=4)), TZ)
    assert calcom.requests[1][0] == midnight(MONDAY + timedelta(days=3))


async def test_concurrent_callers_share_one_request() -> None:
    calcom = FakeCalcom(delay_s=0.05)
    cache = SlotsCache(calcom, ttl_s=60)  # type: ignore[arg-type]
    answers = await asyncio.gather(*(cache.slots(2, midnight(MONDAY), midnight(MONDAY + timedelta(days=1)), TZ)
                                     for _ in range(20)))
    assert len(calcom.requests) == 1
    assert all(answer == answers[0] and len(answer) == 2 for answer in answers)


async def test_a_failed_request_fails_every_waiter_and_is_not_cached() -> None:
    calcom = FakeCalcom(delay_s=0.02, fail=True)
    cache = SlotsCache(calcom, ttl_s=60)  # type: ignore[arg-type]
    results = await asyncio.gather(*(cache.slots(2, midnight(MONDAY), midnight(MONDAY + timedelta(days=1)), TZ)
                                     for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, CalcomOutcomeUnknown) for r in results)
    calcom.fail = False
    assert len(await cache.slots(2, midnight(MONDAY), midnight(MONDAY + timedelta(days=1)), TZ)) == 2
    assert len(calcom.requests) == 2


async def test_forgetting_a_moment_drops_only_its_day() -> None:
    calcom = FakeCalcom()
    cache = SlotsCache(calcom, ttl_s=60)  # type: ignore[arg-type]
    await cache.slots(2, midnight(MONDAY), midnight(MONDAY + timedelta(days=3)), TZ)
    cache.forget(datetime.combine(MONDAY + timedelta(days=1), time(10), BERLIN))
    await cache.slots(2, midnight(MONDAY), midnight(MONDAY + timedelta(days=1)), TZ)
    assert len(calcom.requests) == 1  # Monday still cached
    await cache.slots(2, midnight(MONDAY + timedelta(days=1)), midnight(MONDAY + timedelta(days=2)), TZ)
    assert len(calcom.requests) == 2 and calcom.requests[1][0] == midnight(MONDAY + timedelta(days=1))


@pytest.mark.parametrize("ttl_s", [0.0, 60.0])
async def test_without_a_cache_or_for_a_partial_day_the_exact_range_is_asked(ttl_s: float) -> None:
    calcom = FakeCalcom()
    cache = SlotsCache(calcom, ttl_s=ttl_s)  # type: ignore[arg-type]
    start = datetime.combine(MONDAY, time(9), BERLIN) if ttl_s else midnight(MONDAY)
    await cache.slots(2, start, midnight(MONDAY + timedelta(days=1)), TZ)
    assert calcom.requests == [(start, midnight(MONDAY + timedelta(days=1)))]
