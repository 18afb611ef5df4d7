"""An aborted call is observed to finish before its status goes out.

`context.abort` sends the status to the client and only then raises. Observed
after the raise, a call the client already had its status for could be missing
from the request log and the metrics, or, if the server stopped at that moment,
be counted as CANCELLED though the client saw NOT_FOUND.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from pyservices.observe import Call, Observer, wrap_handler


class Events:
    """The order things happened in, across the observer and the (fake) gRPC context."""

    def __init__(self) -> None:
        self.seen: list[str] = []


class RecordingObserver(Observer):
    def __init__(self, events: Events) -> None:
        self.events = events

    def finished(self, call: Call) -> None:
        self.events.seen.append(f"finished {call.code.name}")


class FakeContext:
    """Stands in for grpc.aio's context: `abort` sends the status, then raises."""

    def __init__(self, events: Events) -> None:
        self.events = events
        self._code: grpc.StatusCode | None = None

    async def abort(self, code: grpc.StatusCode, details: str = "", *_: Any) -> None:
        self._code = code
        self.events.seen.append(f"status sent {code.name}")
        raise grpc.aio.AbortError(details)

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def time_remaining(self) -> float | None:
        return None

    def peer(self) -> str:
        return "ipv4:127.0.0.1:1"


async def _unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    return b""


async def _server_stream(request: bytes, context: grpc.aio.ServicerContext) -> None:
    await context.write(b"one")
    await context.abort(grpc.StatusCode.PERMISSION_DENIED, "not yours")


async def _bidi(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
    async for _ in requests:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad")


async def _requests() -> AsyncIterator[bytes]:
    yield b"x"


class WritingContext(FakeContext):
    async def write(self, message: bytes) -> None:
        self.events.seen.append("wrote")


@pytest.mark.parametrize(
    ("handler", "request_factory", "expected"),
    [
        (grpc.unary_unary_rpc_method_handler(_unary), lambda: b"", ["NOT_FOUND"]),
        (
            grpc.unary_stream_rpc_method_handler(_server_stream),
            lambda: b"",
            ["wrote", "PERMISSION_DENIED"],
        ),
        (grpc.stream_stream_rpc_method_handler(_bidi), _requests, ["INVALID_ARGUMENT"]),
    ],
    ids=["unary", "server_stream", "bidi_stream"],
)
async def test_an_aborted_call_is_observed_before_its_status_is_sent(
    handler: grpc.RpcMethodHandler, request_factory: Any, expected: list[str]
) -> None:
    events = Events()
    wrapped = wrap_handler(handler, "/test.Service/Method", RecordingObserver(events))
    behavior = (
        wrapped.unary_unary or wrapped.unary_stream or wrapped.stream_stream or wrapped.stream_unary
    )
    with pytest.raises(grpc.aio.AbortError):
        await behavior(request_factory(), WritingContext(events))
    *before, code = expected
    assert events.seen == [*before, f"finished {code}", f"status sent {code}"]


async def test_a_call_that_fails_after_abort_is_still_observed_once() -> None:
    events = Events()

    async def aborts_twice(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        try:
            await context.abort(grpc.StatusCode.NOT_FOUND, "gone")
        finally:
            raise RuntimeError("cleanup failed")

    wrapped = wrap_handler(
        grpc.unary_unary_rpc_method_handler(aborts_twice), "/t.S/M", RecordingObserver(events)
    )
    with pytest.raises(RuntimeError):
        await wrapped.unary_unary(b"", FakeContext(events))
    assert events.seen == ["finished NOT_FOUND", "status sent NOT_FOUND"]
