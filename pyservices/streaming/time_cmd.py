"""Client side of StreamServerTime: print updates until a count or Ctrl+C."""

from __future__ import annotations

from google.protobuf import duration_pb2
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc

from pykit.terminal import run_until_signal
from pykit.text import sanitize


async def _print_times(
    stub: streaming_pb2_grpc.StreamingServiceStub, count: int, interval: float
) -> None:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(interval * 1e9))
    call = stub.StreamServerTime(streaming_pb2.StreamServerTimeRequest(interval=duration))
    seen = 0
    try:
        async for update in call:
            print(f"Server time: {sanitize(update.formatted)}", flush=True)
            seen += 1
            if count and seen >= count:
                break
    finally:
        call.cancel()


async def show_time(
    stub: streaming_pb2_grpc.StreamingServiceStub, count: int = 0, interval: float = 1.0
) -> bool:
    """Print the server's time; returns True if stopped by Ctrl+C."""
    interrupted, _ = await run_until_signal(_print_times(stub, count, interval))
    return interrupted
