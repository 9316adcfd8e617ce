"""A token bucket shared by every stream of one transfer (`spec.bandwidthLimit`)."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """Lets through at most `rate` bytes per second on average, with one second of burst."""

    def __init__(self, rate: int) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._tokens = float(rate)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, amount: int) -> None:
        # The lock serialises waiters so a large chunk cannot be starved by small ones.
        async with self._lock:
            now = time.monotonic()
            self._tokens = min(self._rate, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            self._tokens -= amount
            if self._tokens < 0:
                await asyncio.sleep(-self._tokens / self._rate)
