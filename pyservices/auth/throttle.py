"""Login throttling: failed logins per username and per address, with growing waits.

Each username (by its identity key) and each client address has a count of failed logins.
Up to `limit` failures cost nothing; from then on every failure makes the next attempt wait,
1 s, then 2, 4, 8 ... up to `max_backoff`. A count is forgotten `forget_after` seconds after
its last failure, and a successful login clears its username's count. So a person who
mistypes a few times waits a second or two at most, while guessing a password costs minutes
per try.

An attempt is counted when it starts, not when its hash check ends, so a burst of parallel
attempts cannot all slip in before the first failure is recorded; a success gives its
address the count back.

Time comes from an injected clock (monotonic seconds), so tests need no sleeps.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

FIRST_BACKOFF = 1.0
# Counts kept per table; beyond that the least recently failed are forgotten, so a flood of
# made-up usernames costs bounded memory (the per-address limit slows such a flood anyway).
CAPACITY = 100_000


@dataclass(frozen=True)
class ThrottleConfig:
    """Limits; the defaults are the documented ones."""

    user_limit: int = 5  # failed logins per username before waits begin
    address_limit: int = 20  # failed logins per client address before waits begin
    max_backoff: float = 300.0  # longest wait, seconds
    forget_after: float = 900.0  # seconds after the last failure that a count is forgotten


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0
    blocked_until: float = 0.0


class Backoff:
    """Failure counts for one kind of key (usernames, or addresses)."""

    def __init__(
        self,
        limit: int,
        max_backoff: float,
        forget_after: float,
        clock: Clock,
        capacity: int = CAPACITY,
    ) -> None:
        self.limit = limit
        self.max_backoff = max_backoff
        self.forget_after = forget_after
        self.clock = clock
        self.capacity = capacity
        self._counts: OrderedDict[str, _Count] = OrderedDict()

    def wait(self, key: str) -> float:
        """Seconds until `key` may try again (0: now)."""
        count = self._current(key)
        return 0.0 if count is None else max(0.0, count.blocked_until - self.clock())

    def failed(self, key: str) -> None:
        """Count a failure; from the limit on, the next attempt waits."""
        now = self.clock()
        count = self._current(key) or _Count()
        count.failures += 1
        count.last = now
        over = count.failures - self.limit
        if over >= 0:
            delay = min(FIRST_BACKOFF * 2 ** min(over, 32), self.max_backoff)
            count.blocked_until = max(count.blocked_until, now + delay)
        self._counts[key] = count
        self._counts.move_to_end(key)
        while len(self._counts) > self.capacity:
            self._counts.popitem(last=False)

    def forgive_one(self, key: str) -> None:
        """Take back one counted failure (an attempt counted up front that succeeded)."""
        count = self._counts.get(key)
        if count is not None and count.failures > 0:
            count.failures -= 1

    def clear(self, key: str) -> None:
        self._counts.pop(key, None)

    def _current(self, key: str) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and self.clock() - count.last > self.forget_after:
            del self._counts[key]
            return None
        return count

    def __len__(self) -> int:
        return len(self._counts)


@dataclass(frozen=True)
class Throttled:
    """An attempt refused before it was checked: who must wait, and how long."""

    reason: str  # "username" or "address"
    wait: float

    @property
    def seconds(self) -> int:
        """The wait in whole seconds, rounded up (what clients are told)."""
        return max(1, math.ceil(self.wait))

    def message(self) -> str:
        where = "for this username" if self.reason == "username" else "from this address"
        return f"too many failed logins {where}; try again in {self.seconds} s"


class LoginThrottle:
    """Per-username and per-address limits on login attempts."""

    def __init__(self, config: ThrottleConfig, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.users = Backoff(config.user_limit, config.max_backoff, config.forget_after, clock)
        self.addresses = Backoff(
            config.address_limit, config.max_backoff, config.forget_after, clock
        )

    def begin(self, user_key: str | None, address: str) -> Throttled | None:
        """Admit an attempt (and count it as failed until `succeeded`), or say how long to wait.

        `user_key` is None for a username that cannot exist: only its address is counted.
        """
        wait = self.addresses.wait(address)
        if wait > 0:
            return Throttled("address", wait)
        if user_key is not None:
            wait = self.users.wait(user_key)
            if wait > 0:
                return Throttled("username", wait)
            self.users.failed(user_key)
        self.addresses.failed(address)
        return None

    def succeeded(self, user_key: str, address: str) -> None:
        self.users.clear(user_key)
        self.addresses.forgive_one(address)


def client_address(peer: str) -> str:
    """The part of a gRPC peer string ('ipv4:10.0.0.7:5123') that identifies a client.

    IPv6 clients are grouped by /64, the block one subscriber usually gets, so that hopping
    between addresses of one network does not reset the count.
    """
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    if kind == "ipv6":
        host = rest.rpartition(":")[0].strip("[]") or rest
        try:
            network = ipaddress.ip_network(f"{host.split('%')[0]}/64", strict=False)
        except ValueError:
            return host
        return str(network)
    return peer
