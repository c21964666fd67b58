"""The slot lock against a real Redis: exclusivity, expiry, fail-closed."""

import asyncio
import uuid

import pytest

from booking_core.adapters.locks import InProcessSlotLock, LockBusy, LockUnavailable, RedisSlotLock


@pytest.fixture
def keys() -> list[str]:
    prefix = uuid.uuid4().hex
    return [f"slot:test-{prefix}:1", f"slot:test-{prefix}:2"]


async def test_second_holder_is_refused_fast_then_gets_it_after_release(redis_url: str, keys: list[str]) -> None:
    first, second = RedisSlotLock(redis_url, 5, 0.1), RedisSlotLock(redis_url, 5, 0.1)
    async with first.hold(keys):
        with pytest.raises(LockBusy):
            async with second.hold(keys[1:]):
                pass
    async with second.hold(keys):
        pass
    await first.aclose()
    await second.aclose()


async def test_many_tasks_one_winner_at_a_time(redis_url: str, keys: list[str]) -> None:
    lock = RedisSlotLock(redis_url, 5, 0.0)
    inside = 0
    peak = 0
    wins = 0

    async def attempt() -> None:
        nonlocal inside, peak, wins
        try:
            async with lock.hold(keys):
                inside += 1
                peak = max(peak, inside)
                wins += 1
                await asyncio.sleep(0.05)
                inside -= 1
        except LockBusy:
            pass

    await asyncio.gather(*(attempt() for _ in range(30)))
    assert peak == 1 and wins >= 1
    await lock.aclose()


async def test_lock_expires_after_ttl(redis_url: str, keys: list[str]) -> None:
    crashed = RedisSlotLock(redis_url, 0.3, 0.0)
    context = crashed.hold(keys)
    await context.__aenter__()  # never released: a worker that died
    waiting = RedisSlotLock(redis_url, 5, 1.0)
    async with waiting.hold(keys):
        pass
    await crashed.aclose()
    await waiting.aclose()


async def test_redis_down_fails_closed_quickly(keys: list[str]) -> None:
    lock = RedisSlotLock("redis://127.0.0.1:1/0", 5, 0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(LockUnavailable):
        async with lock.hold(keys):
            pytest.fail("must not run without the lock")
    assert loop.time() - started < 2.0
    assert await lock.ping() is False
    await lock.aclose()


async def test_in_process_lock_has_the_same_contract(keys: list[str]) -> None:
    lock = InProcessSlotLock(5, 0.05)
    async with lock.hold(keys):
        with pytest.raises(LockBusy):
            async with lock.hold([keys[0]]):
                pass
    async with lock.hold(keys):
        pass


class _Held(Exception):
    pass


@pytest.mark.parametrize("kind", ["redis", "in-process"])
async def test_on_busy_runs_once_when_taken_and_can_end_the_wait(kind: str, request: pytest.FixtureRequest,
                                                                  keys: list[str]) -> None:
    def make(wait_s: float) -> RedisSlotLock | InProcessSlotLock:
        if kind == "redis":
            return RedisSlotLock(request.getfixturevalue("redis_url"), 5, wait_s)
        return shared

    shared = InProcessSlotLock(5, 2.0)
    holder, asker = make(2.0), make(2.0)
    calls: list[str] = []

    async def refuse() -> None:
        calls.append("busy")
        raise _Held

    async def note() -> None:
        calls.append("busy")

    async with asker.hold(keys, on_busy=refuse):  # free: the hook is not asked
        pass
    assert calls == []
    async with holder.hold(keys):
        started = asyncio.get_running_loop().time()
        with pytest.raises(_Held):  # taken: asked once, and its "no" ends the 2 s wait at once
            async with asker.hold(keys, on_busy=refuse):
                pass
        assert calls == ["busy"] and asyncio.get_running_loop().time() - started < 0.5
    # A hook that lets the wait go on: the lock is still acquired once the holder is gone.
    async with holder.hold(keys):
        waiter = asyncio.create_task(_hold_briefly(asker, keys, note))
        await asyncio.sleep(0.2)
    assert await waiter and calls == ["busy", "busy"]
    # Nothing leaked: the keys are free again.
    async with holder.hold(keys, on_busy=refuse):
        pass
    for lock in {id(holder): holder, id(asker): asker}.values():
        await lock.aclose()


async def _hold_briefly(lock: RedisSlotLock | InProcessSlotLock, keys: list[str], on_busy) -> bool:  # type: ignore[no-untyped-def]
    async with lock.hold(keys, on_busy=on_busy):
        return True
