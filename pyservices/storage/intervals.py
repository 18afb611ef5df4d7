"""Checked intervals from `google.protobuf.Duration` fields."""

from __future__ import annotations

from google.protobuf import duration_pb2

MAX_NANOS = 999_999_999


class InvalidInterval(ValueError):
    """The interval is malformed or out of range; the message says why."""


def interval_seconds(
    duration: duration_pb2.Duration | None,
    *,
    default: float,
    floor: float,
    ceiling: float,
) -> float:
    """Seconds for `duration`, `default` when unset; outside [floor, ceiling] is an error."""
    if duration is None:
        return default
    seconds, nanos = duration.seconds, duration.nanos
    if abs(nanos) > MAX_NANOS or (seconds > 0 > nanos) or (seconds < 0 < nanos):
        raise InvalidInterval("interval is not a valid Duration (seconds and nanos disagree)")
    value = seconds + nanos / 1e9
    if value < floor:
        raise InvalidInterval(f"interval must be at least {floor * 1000:g} ms (got {value:g} s)")
    if value > ceiling:
        raise InvalidInterval(f"interval must be at most {ceiling:g} s (got {value:g} s)")
    return value
