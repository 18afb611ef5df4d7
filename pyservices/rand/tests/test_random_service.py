"""StreamRandomNumbers: ranges, counts, intervals, bad input, prompt stop on cancel."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import duration_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from polychat.random.v1 import random_pb2

from pyservices.rand.tests.conftest import Harness

TIMEOUT = 10.0
FAST = duration_pb2.Duration(nanos=10_000_000)


def request(
    lo: int, hi: int, count: int, interval: duration_pb2.Duration | None = FAST
) -> random_pb2.StreamRandomNumbersRequest:
    return random_pb2.StreamRandomNumbersRequest(min=lo, max=hi, count=count, interval=interval)


async def collect(harness: Harness, req: random_pb2.StreamRandomNumbersRequest) -> list:
    return [item async for item in harness.stub.StreamRandomNumbers(req, timeout=TIMEOUT)]


async def test_count_numbers_in_range_with_sequence(rand: Harness) -> None:
    items = await collect(rand, request(1, 6, 20))
    assert [i.sequence for i in items] == list(range(1, 21))
    assert all(1 <= i.value <= 6 for i in items)
    stamps = [i.timestamp.ToNanoseconds() for i in items]
    assert stamps == sorted(stamps) and stamps[0] > 0
    assert await asyncio.wait_for(rand.ended.get(), TIMEOUT) == ("completed", 20)


async def test_single_value_range_and_int64_extremes(rand: Harness) -> None:
    items = await collect(rand, request(7, 7, 3))
    assert [i.value for i in items] == [7, 7, 7]
    lo, hi = -(2**63), 2**63 - 1
    items = await collect(rand, request(lo, hi, 2))
    assert all(lo <= i.value <= hi for i in items)


async def test_default_interval_used_when_unset(rand: Harness) -> None:
    # One number arrives at once; the default interval (1 s) only spaces later ones.
    items = await collect(rand, request(1, 2, 1, interval=None))
    assert len(items) == 1


@pytest.mark.parametrize(
    ("req", "needle"),
    [
        (request(5, 1, 3), "min (5) must not be greater than max (1)"),
        (request(1, 5, -1), "count"),
        (request(1, 5, 3, duration_pb2.Duration(nanos=9_999_999)), "at least 10 ms"),
        (request(1, 5, 3, duration_pb2.Duration(seconds=0)), "at least 10 ms"),
        (request(1, 5, 3, duration_pb2.Duration(seconds=-1)), "at least 10 ms"),
        (request(1, 5, 3, duration_pb2.Duration(seconds=1, nanos=-1)), "not a valid Duration"),
        (request(1, 5, 3, duration_pb2.Duration(seconds=7200)), "at most"),
    ],
)
async def test_bad_requests_are_invalid_argument(
    rand: Harness, req: random_pb2.StreamRandomNumbersRequest, needle: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await collect(rand, req)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in (info.value.details() or "")


async def test_cancel_stops_the_server_loop_promptly(rand: Harness) -> None:
    # count 0 = forever, and a 60 s interval: only cancellation can end it soon.
    call = rand.stub.StreamRandomNumbers(request(1, 100, 0, duration_pb2.Duration(seconds=60)))
    first = await asyncio.wait_for(call.read(), TIMEOUT)
    assert first.sequence == 1
    call.cancel()
    assert await asyncio.wait_for(rand.ended.get(), TIMEOUT) == ("cancelled", 1)


async def test_deadline_stops_the_server_loop(rand: Harness) -> None:
    # Long enough for the first number to arrive on a loaded machine: the
    # loop is running when the deadline ends it.
    call = rand.stub.StreamRandomNumbers(request(1, 2, 0), timeout=1.0)
    assert (await call.read()).sequence == 1
    with pytest.raises(grpc.aio.AioRpcError) as info:
        while await call.read() is not grpc.aio.EOF:
            pass
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    outcome, sent = await asyncio.wait_for(rand.ended.get(), TIMEOUT)
    assert outcome == "cancelled" and sent >= 1


async def test_health_serving(rand: Harness) -> None:
    stub = health_pb2_grpc.HealthStub(rand.channel)
    for service in ("", "polychat.random.v1.RandomService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
