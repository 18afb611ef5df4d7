"""RandomService servicer and its ServiceSpec."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
from google.protobuf import timestamp_pb2
from polychat.random.v1 import random_pb2, random_pb2_grpc

from pyservices.spec import NoOptions, Register, ServiceSpec, Settings
from pyservices.storage.intervals import InvalidInterval, interval_seconds

log = logging.getLogger("pyservices.random")

DEFAULT_INTERVAL = 1.0
MIN_INTERVAL = 0.01
MAX_INTERVAL = 3600.0

# Called when a stream ends, with why ("completed", "cancelled", "failed") and
# how many numbers were sent: for logs, metrics and tests.
StreamEndHook = Callable[[str, int], None]


class RandomServicer(random_pb2_grpc.RandomServiceServicer):
    def __init__(self, on_stream_end: StreamEndHook | None = None) -> None:
        # OS randomness: unpredictable, and nothing to seed or share.
        self._rng = random.SystemRandom()
        self._on_stream_end = on_stream_end

    async def StreamRandomNumbers(
        self,
        request: random_pb2.StreamRandomNumbersRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[random_pb2.StreamRandomNumbersResponse]:
        if request.min > request.max:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"min ({request.min}) must not be greater than max ({request.max})",
            )
        if request.count < 0:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"count must be 0 (until cancelled) or positive, got {request.count}",
            )
        try:
            interval = interval_seconds(
                request.interval if request.HasField("interval") else None,
                default=DEFAULT_INTERVAL,
                floor=MIN_INTERVAL,
                ceiling=MAX_INTERVAL,
            )
        except InvalidInterval as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))

        sent = 0
        outcome = "failed"
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            while request.count == 0 or sent < request.count:
                if sent:
                    # Sleep to a fixed schedule so the interval does not drift.
                    await asyncio.sleep(max(0.0, start + sent * interval - loop.time()))
                ts = timestamp_pb2.Timestamp()
                ts.FromNanoseconds(time.time_ns())
                value = self._rng.randint(request.min, request.max)
                sent += 1
                yield random_pb2.StreamRandomNumbersResponse(
                    value=value, sequence=sent, timestamp=ts
                )
            outcome = "completed"
        except (asyncio.CancelledError, GeneratorExit):
            # CancelledError while sleeping; GeneratorExit if closed at a yield.
            outcome = "cancelled"
            raise
        finally:
            log.info("random stream ended outcome=%s sent=%d", outcome, sent)
            if self._on_stream_end is not None:
                self._on_stream_end(outcome, sent)


def make_register(on_stream_end: StreamEndHook | None = None) -> Register[NoOptions]:
    """The runner's register step; tests pass a hook to see streams end."""

    async def register(
        server: grpc.aio.Server, settings: Settings, options: NoOptions
    ) -> Callable[[], Awaitable[None]] | None:
        servicer = RandomServicer(on_stream_end)
        random_pb2_grpc.add_RandomServiceServicer_to_server(servicer, server)
        return None

    return register


SPEC = ServiceSpec(
    name="random",
    service_names=(random_pb2.DESCRIPTOR.services_by_name["RandomService"].full_name,),
    default_port=50052,
    register=make_register(),
)
