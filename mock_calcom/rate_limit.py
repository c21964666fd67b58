"""Cal.com's API-key throttler: a fixed window per key, reported in X-RateLimit-*-Default headers.

Like @nestjs/throttler's storage (used by apps/api/v2/src/lib/throttler-guard.ts), a key that crosses
the limit is blocked for `block_s`, counted from the refused request, not only until the window ends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class RateLimitVerdict:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        # Cal.com names its default throttler "default" and sends no Retry-After.
        return {
            "X-RateLimit-Limit-Default": str(self.limit),
            "X-RateLimit-Remaining-Default": str(self.remaining),
            "X-RateLimit-Reset-Default": str(self.reset_s),
        }


class RateLimiter:
    def __init__(
        self,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        block_s: float = 0,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.block_s = block_s
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._blocked_until: dict[str, float] = {}

    def hit(self, key: str) -> RateLimitVerdict:
        now = self._clock()
        blocked_until = self._blocked_until.get(key, 0.0)
        if now < blocked_until:
            return RateLimitVerdict(False, self.limit, 0, max(1, math.ceil(blocked_until - now)))
        started, used = self._windows.get(key, (now, 0))
        if now - started >= self.window_s:
            started, used = now, 0
        used += 1
        self._windows[key] = (started, used)
        if used > self.limit and self.block_s > 0:
            self._blocked_until[key] = now + self.block_s
            return RateLimitVerdict(False, self.limit, 0, max(1, math.ceil(self.block_s)))
        reset_s = max(1, math.ceil(started + self.window_s - now))
        return RateLimitVerdict(used <= self.limit, self.limit, max(0, self.limit - used), reset_s)
