"""gRPC's connection backoff, with the clock and the randomness in the test's hands."""

from __future__ import annotations

import pytest

from pyclient.backoff import Backoff, BackoffPolicy

MIDDLE = 0.5  # no jitter either way


def test_default_policy_is_grpcs() -> None:
    assert BackoffPolicy() == BackoffPolicy(base=1.0, multiplier=1.6, jitter=0.2, max_delay=30.0)


def test_waits_grow_by_the_multiplier_up_to_the_cap() -> None:
    policy = BackoffPolicy()
    waits = [policy.delay(n, MIDDLE) for n in range(10)]
    expected = [0.0, 1.0, 1.6, 2.56, 4.096, 6.5536, 10.48576, 16.777216, 26.8435456, 30.0]
    assert waits == pytest.approx(expected)
    assert policy.delay(1000, MIDDLE) == 30.0


@pytest.mark.parametrize(("unit_random", "factor"), [(0.0, 0.8), (0.25, 0.9), (0.999999, 1.2)])
def test_jitter_moves_a_wait_by_up_to_a_fifth(unit_random: float, factor: float) -> None:
    policy = BackoffPolicy()
    assert policy.delay(3, unit_random) == pytest.approx(2.56 * factor, rel=1e-5)
    assert policy.delay(50, unit_random) == pytest.approx(30.0 * factor, rel=1e-5)


def test_a_cap_below_the_base_caps_the_first_wait() -> None:
    assert BackoffPolicy(max_delay=0.25).delay(1, MIDDLE) == 0.25


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_wait_counts_from_the_start_of_the_failed_attempt() -> None:
    clock = Clock()
    backoff = Backoff(clock=clock, random=lambda: MIDDLE)
    backoff.start()
    assert backoff.fail() == 1.0  # failed at once: the whole second
    clock.now += 1.0
    backoff.start()
    clock.now += 0.6  # the attempt itself took 0.6 s of the 1.6 s
    assert backoff.fail() == pytest.approx(1.0)
    clock.now += 1.0
    backoff.start()
    clock.now += 5.0  # a slow failure: longer than the wait, so the next is at once
    assert backoff.fail() == 0.0
    assert backoff.failed == 3


def test_reset_starts_the_schedule_again() -> None:
    clock = Clock()
    backoff = Backoff(clock=clock, random=lambda: MIDDLE)
    for _ in range(5):
        backoff.start()
        backoff.fail()
    backoff.reset()
    backoff.start()
    assert backoff.fail() == 1.0


def test_randomness_is_drawn_per_wait() -> None:
    draws = iter([0.0, 0.999999])
    backoff = Backoff(clock=Clock(), random=lambda: next(draws))
    backoff.start()
    assert backoff.fail() == pytest.approx(0.8)
    backoff.start()
    assert backoff.fail() == pytest.approx(1.6 * 1.2, rel=1e-5)
