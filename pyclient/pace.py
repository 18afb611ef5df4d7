"""How fast queued lines go out after a reconnect: a token bucket.

Up to 100 lines can wait while disconnected, and a resumed stream resends the ones in the air
too; sent all at once they would trip the chat server's rate limit (by default 20 a second,
bursts of 40) and get the client disconnected again. So they go `burst` at once, then `rate`
a second: half the server's default, as the Go client does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

BURST = 20
RATE = 10.0


class Pace:
    """A token bucket; `take()` waits until a line may go. Clock and sleep are injectable."""

    def __init__(
        self,
        burst: int = BURST,
        rate: float = RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.burst = burst
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    async def take(self) -> None:
        """Wait until a token is there, and take it."""
        self._refill()
        if self._tokens < 1:
            await self._sleep((1 - self._tokens) / self.rate)
            self._refill()
        self._tokens -= 1
