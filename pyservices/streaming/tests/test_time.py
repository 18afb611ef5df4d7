"""StreamServerTime, health and reflection-free basics."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import duration_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from polychat.streaming.v1 import streaming_pb2

from pyservices.streaming.tests.conftest import Harness

TIMEOUT = 10.0


async def test_time_stream_until_cancelled(streaming: Harness) -> None:
    request = streaming_pb2.StreamServerTimeRequest(
        interval=duration_pb2.Duration(nanos=10_000_000)
    )
    call = streaming.stub.StreamServerTime(request)
    times = []
    async with asyncio.timeout(TIMEOUT):
        async for update in call:
            times.append(update.time.ToNanoseconds())
            assert len(update.formatted) == len("14:25:30.123")
            if len(times) == 3:
                break
    call.cancel()
    assert times == sorted(times)


@pytest.mark.parametrize("nanos", [0, 9_999_999, -5])
async def test_time_interval_below_floor(streaming: Harness, nanos: int) -> None:
    request = streaming_pb2.StreamServerTimeRequest(interval=duration_pb2.Duration(nanos=nanos))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in streaming.stub.StreamServerTime(request, timeout=TIMEOUT):
            pass
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_health_serving(streaming: Harness) -> None:
    stub = health_pb2_grpc.HealthStub(streaming.channel)
    for service in ("", "polychat.streaming.v1.StreamingService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
