"""When to try again after a lost connection: gRPC's connection backoff.

The schedule of https://github.com/grpc/grpc/blob/master/doc/connection-backoff.md, as both
chat clients use it: the first attempt at once; after `n` failed attempts, the next starts
`base * multiplier**(n-1)` seconds (capped at `max_delay`, then moved at random by up to
`jitter` of itself either way) after the failed one *started*, so a slow failure does not add
its own time to the wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from pykit.chatwire import (
    RECONNECT_BASE_DELAY_MS,
    RECONNECT_JITTER_PERCENT,
    RECONNECT_MAX_DELAY_MS,
    RECONNECT_MULTIPLIER_PERCENT,
)

DEFAULT_MAX_DELAY = RECONNECT_MAX_DELAY_MS / 1000


@dataclass(frozen=True)
class BackoffPolicy:
    """The numbers of the schedule, in seconds."""

    base: float = RECONNECT_BASE_DELAY_MS / 1000
    multiplier: float = RECONNECT_MULTIPLIER_PERCENT / 100
    jitter: float = RECONNECT_JITTER_PERCENT / 100
    max_delay: float = DEFAULT_MAX_DELAY

    def delay(self, failed: int, unit_random: float) -> float:
        """Seconds between the start of attempt `failed` and the next (0 before the first).

        `unit_random` is a number in [0, 1): 0.5 is the middle of the jitter range.
        """
        if failed <= 0:
            return 0.0
        delay = self.base
        for _ in range(failed - 1):
            if delay >= self.max_delay:
                break
            delay *= self.multiplier
        delay = min(delay, self.max_delay)
        return max(0.0, delay * (1 + self.jitter * (2 * unit_random - 1)))


class Backoff:
    """Counts failed attempts and says how long to wait before the next one.

    `clock` (seconds, monotonic) and `random` (a number in [0, 1)) are injectable for tests.
    """

    def __init__(
        self,
        policy: BackoffPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy or BackoffPolicy()
        self._clock = clock
        self._random = random
        self.failed = 0
        self._started: float | None = None

    def start(self) -> None:
        """An attempt begins now."""
        self._started = self._clock()

    def fail(self) -> float:
        """The attempt that began at `start()` failed: the seconds to wait before the next."""
        self.failed += 1
        started = self._clock() if self._started is None else self._started
        due = started + self.policy.delay(self.failed, self._random())
        return max(0.0, due - self._clock())

    def reset(self) -> None:
        """Connected: the next loss starts the schedule again with an attempt at once."""
        self.failed = 0
        self._started = None
