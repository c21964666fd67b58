"""Slot locks: redis-py's Lock across workers, an in-process lock on the embedded default.

Both take *all* cell keys of a slot or none, answer within `wait_s`, and expire after `ttl_s` so a
crashed worker cannot hold a slot forever. `on_busy` runs once when the first try finds a key taken,
before any waiting: it may end the wait by raising (the booking asks the DB whether the slot is
already held, and refuses at once instead of queueing behind the holder).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, RedisError


class LockBusy(Exception):
    """Another caller holds (part of) the slot."""


class LockUnavailable(Exception):
    """The lock service itself is down: fail closed, book nothing."""


OnBusy = Callable[[], Awaitable[None]] | None


class SlotLock(Protocol):
    def hold(self, keys: list[str], on_busy: OnBusy = None) -> AbstractAsyncContextManager[None]: ...

    async def ping(self) -> bool: ...

    async def aclose(self) -> None: ...


class RedisSlotLock:
    def __init__(self, url: str, ttl_s: float, wait_s: float, namespace: str = "callsim") -> None:
        self.namespace = namespace
        self._redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.ttl_s = ttl_s
        self.wait_s = wait_s

    @asynccontextmanager
    async def hold(self, keys: list[str], on_busy: OnBusy = None) -> AsyncIterator[None]:
        # A fresh Lock per request with thread_local=False: the default thread-local token is shared
        # by every asyncio task of the thread, so one task could release another's lock.
        held: list[Lock] = []
        deadline = time.monotonic() + self.wait_s
        try:
            for key in sorted(keys):
                lock = Lock(self._redis, f"{self.namespace}:{key}", timeout=self.ttl_s,
                            blocking_timeout=max(0.0, deadline - time.monotonic()), thread_local=False)
                if on_busy is None:
                    acquired = await lock.acquire()
                elif not (acquired := await lock.acquire(blocking=False)):
                    busy, on_busy = on_busy, None
                    await busy()
                    acquired = await lock.acquire(blocking_timeout=max(0.0, deadline - time.monotonic()))
                if not acquired:
                    raise LockBusy(key)
                held.append(lock)
        except RedisError as exc:
            await self._release(held)
            raise LockUnavailable(str(exc)) from exc
        except BaseException:
            await self._release(held)
            raise
        try:
            yield
        finally:
            await self._release(held)

    @staticmethod
    async def _release(held: list[Lock]) -> None:
        for lock in reversed(held):
            # Expired or Redis gone: the TTL frees it.
            with contextlib.suppress(LockError, RedisError):
                await lock.release()

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except RedisError:
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()


class InProcessSlotLock:
    """Same contract inside one process; what `make demo` uses when no REDIS_URL is set."""

    def __init__(self, ttl_s: float, wait_s: float) -> None:
        self.ttl_s = ttl_s
        self.wait_s = wait_s
        self._owners: dict[str, tuple[str, float]] = {}

    def _try(self, keys: list[str], token: str) -> bool:
        now = time.monotonic()
        for key in keys:
            owner = self._owners.get(key)
            if owner and owner[1] > now and owner[0] != token:
                return False
        for key in keys:
            self._owners[key] = (token, now + self.ttl_s)
        return True

    @asynccontextmanager
    async def hold(self, keys: list[str], on_busy: OnBusy = None) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait_s
        while not self._try(keys, token):
            if on_busy is not None:
                busy, on_busy = on_busy, None
                await busy()
                continue
            if time.monotonic() >= deadline:
                raise LockBusy(keys[0] if keys else "")
            await asyncio.sleep(0.01)
        try:
            yield
        finally:
            for key in keys:
                if self._owners.get(key, ("", 0.0))[0] == token:
                    del self._owners[key]

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


class NoSlotLock:
    """Test switch LOCK_ENABLED=false: proves the race tests can fail without the lock."""

    @asynccontextmanager
    async def hold(self, keys: list[str], on_busy: OnBusy = None) -> AsyncIterator[None]:
        yield

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None
