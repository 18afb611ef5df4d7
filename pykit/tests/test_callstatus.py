"""stream_unary reports the status a server sent when it ends an upload early."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest

from pykit.callstatus import LOST_STATUS_DETAILS, stream_unary

METHOD = "/polychat.test.Sink/Take"
CALLS = 300


async def _refuse(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> bytes:
    async for _ in requests:
        await context.abort(grpc.StatusCode.ALREADY_EXISTS, "sink: the name is taken")
    return b""


@pytest.fixture
async def sink() -> AsyncIterator[grpc.aio.Channel]:
    """A server whose one client-streaming method refuses after the first message."""
    server = grpc.aio.server()
    handler = grpc.stream_unary_rpc_method_handler(_refuse)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("polychat.test.Sink", {"Take": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel
    finally:
        await channel.close()
        await server.stop(None)


async def _endless() -> AsyncIterator[bytes]:
    chunk = b"x" * 64 * 1024
    while True:
        yield chunk


async def test_every_early_refusal_keeps_the_servers_status(sink: grpc.aio.Channel) -> None:
    # The client is still writing when the refusal arrives: the case where grpcio
    # can replace the status with its INTERNAL stand-in (a few percent of calls).
    take = sink.stream_unary(METHOD)
    seen: dict[tuple[grpc.StatusCode, str | None], int] = {}
    for _ in range(CALLS):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stream_unary(take, _endless())
        key = (raised.value.code(), raised.value.details())
        seen[key] = seen.get(key, 0) + 1
    assert seen == {(grpc.StatusCode.ALREADY_EXISTS, "sink: the name is taken"): CALLS}


class _ReplacedStatusCall:
    """A call that settles with the server's status, then has it replaced, as grpcio does."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._callbacks: list[Callable[[Any], None]] = []
        self._status = (code, details)

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._callbacks.append(callback)

    def _settle(self, code: grpc.StatusCode, details: str) -> None:
        self._status = (code, details)
        for callback in self._callbacks:
            callback(self)

    async def code(self) -> grpc.StatusCode:
        return self._status[0]

    async def details(self) -> str:
        return self._status[1]

    async def trailing_metadata(self) -> grpc.aio.Metadata:
        return grpc.aio.Metadata(("reason", self._status[1]))

    def __await__(self) -> Any:
        self._settle(*self._status)
        self._settle(grpc.StatusCode.INTERNAL, LOST_STATUS_DETAILS)
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.INTERNAL,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(),
            LOST_STATUS_DETAILS,
            'Failed "execute_batch": (SendMessageOperation,)',
        )
        yield  # pragma: no cover - makes this a generator, as __await__ must be


async def test_the_stand_in_is_replaced_by_the_first_status() -> None:
    call = _ReplacedStatusCall(grpc.StatusCode.RESOURCE_EXHAUSTED, "over the limit")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stream_unary(lambda requests: call, None)
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert raised.value.details() == "over the limit"
    assert raised.value.trailing_metadata()["reason"] == "over the limit"


async def test_a_real_internal_error_is_left_alone() -> None:
    call = _ReplacedStatusCall(grpc.StatusCode.INTERNAL, LOST_STATUS_DETAILS)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stream_unary(lambda requests: call, None)
    assert raised.value.code() is grpc.StatusCode.INTERNAL
    assert raised.value.details() == LOST_STATUS_DETAILS
