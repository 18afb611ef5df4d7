"""One audit record per burst of refused logins, instead of one per attempt.

A client that floods Login with usernames that cannot exist, or keeps trying while it is
throttled, is refused without a password check. Writing an audit event for each refusal would
let it flood auth.db and the audit log at network speed, so refusals are counted per
(kind, subject) and summarised: the first refusal opens a burst, later ones within `window`
seconds are added to it, and when the window has passed the burst becomes one event, e.g.
"1,204 logins refused from 10.0.0.7 in 30 s: username too long (e.g. 'aaaa…')".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pyservices.auth.throttle import Clock

DEFAULT_WINDOW = 30.0
# Open bursts kept at once; refusals beyond that share one burst, so a flood from very many
# addresses still costs bounded memory and a bounded number of events.
CAPACITY = 1000
OVERFLOW_SUBJECT = "from many other clients"


@dataclass
class _Burst:
    reason: str
    sample: str
    count: int
    first: float


@dataclass(frozen=True)
class Summary:
    """A finished burst, ready to become an audit event."""

    event_type: str
    details: str


class BurstLog:
    """Counts refusals per (event type, subject) and hands out one summary per burst."""

    def __init__(
        self,
        window: float = DEFAULT_WINDOW,
        clock: Clock = time.monotonic,
        capacity: int = CAPACITY,
    ) -> None:
        self.window = window
        self.clock = clock
        self.capacity = capacity
        self._open: dict[tuple[str, str], _Burst] = {}

    def note(self, event_type: str, subject: str, reason: str, sample: str = "") -> None:
        """Count one refusal: `subject` (who), `reason` (why), `sample` (printable example)."""
        key = (event_type, subject)
        burst = self._open.get(key)
        if burst is None:
            if len(self._open) >= self.capacity:
                key = (event_type, OVERFLOW_SUBJECT)
                burst = self._open.get(key)
            if burst is None:
                burst = self._open[key] = _Burst(reason, sample, 0, self.clock())
        burst.count += 1

    def due(self) -> list[Summary]:
        """Summaries of the bursts whose window has passed; they are forgotten."""
        now = self.clock()
        done = [key for key, burst in self._open.items() if now - burst.first >= self.window]
        return [self._summary(key, self._open.pop(key)) for key in done]

    def flush(self) -> list[Summary]:
        """Summaries of every open burst (at shutdown)."""
        keys = list(self._open)
        return [self._summary(key, self._open.pop(key)) for key in keys]

    def next_due(self) -> float | None:
        """Clock time at which the oldest open burst is due, or None."""
        if not self._open:
            return None
        return min(burst.first for burst in self._open.values()) + self.window

    def _summary(self, key: tuple[str, str], burst: _Burst) -> Summary:
        event_type, subject = key
        span = max(0.0, self.clock() - burst.first)
        plural = "login" if burst.count == 1 else "logins"
        example = f" (e.g. '{burst.sample}')" if burst.sample else ""
        return Summary(
            event_type,
            f"{burst.count:,} {plural} refused {subject} in {span:.0f} s: {burst.reason}{example}",
        )
