"""The pace of queued lines: a burst, then a steady rate."""

from __future__ import annotations

import pytest

from pyclient.pace import Pace


class Time:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_burst_then_the_rate() -> None:
    t = Time()
    pace = Pace(burst=3, rate=10, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        await pace.take()
    assert t.slept == pytest.approx([0.1, 0.1])


async def test_idle_time_refills_up_to_the_burst() -> None:
    t = Time()
    pace = Pace(burst=2, rate=10, clock=t.clock, sleep=t.sleep)
    for _ in range(2):
        await pace.take()
    t.now += 60  # a long pause refills two tokens, not six hundred
    for _ in range(3):
        await pace.take()
    assert t.slept == pytest.approx([0.1])


def test_defaults_are_half_the_servers_limit() -> None:
    assert (Pace().burst, Pace().rate) == (20, 10.0)
