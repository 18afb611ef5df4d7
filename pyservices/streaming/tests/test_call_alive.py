"""A call cancelled in gRPC's core is known gone even before grpc.aio tells its handler.

grpc.aio ends a cancelled call's request stream as if the client had finished it, and only
later cancels the handler; an upload of no declared size that publishes in between would keep a
partial file as a whole one. `call_alive` asks core, so it cannot be fooled by that order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc

from pyservices.streaming.server import call_alive

TIMEOUT = 10.0


class _Probe(streaming_pb2_grpc.StreamingServiceServicer):
    """Waits for its call to be cancelled, hides that, then asks whether the call is alive."""

    def __init__(self) -> None:
        self.first = asyncio.Event()
        self.answers: asyncio.Queue[bool] = asyncio.Queue()

    async def UploadFile(
        self,
        request_iterator: AsyncIterator[streaming_pb2.UploadFileRequest],
        context: grpc.aio.ServicerContext,
    ) -> streaming_pb2.UploadFileResponse:
        await anext(aiter(request_iterator))
        self.first.set()
        # Proof that core cancelled the call: grpc.aio cancels this task. A
        # handler in a worker thread, or past its last await, would not hear it.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        await self.answers.put(await call_alive(context))
        return streaming_pb2.UploadFileResponse()


async def test_a_cancelled_call_is_not_alive() -> None:
    probe = _Probe()
    server = grpc.aio.server()
    streaming_pb2_grpc.add_StreamingServiceServicer_to_server(probe, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = streaming_pb2_grpc.StreamingServiceStub(channel).UploadFile()
            await call.write(streaming_pb2.UploadFileRequest(chunk=b"x"))
            await asyncio.wait_for(probe.first.wait(), TIMEOUT)
            call.cancel()
            assert await asyncio.wait_for(probe.answers.get(), TIMEOUT) is False
    finally:
        await server.stop(0)


async def test_a_call_still_running_is_alive() -> None:
    answers: asyncio.Queue[bool] = asyncio.Queue()

    class Finishing(streaming_pb2_grpc.StreamingServiceServicer):
        async def UploadFile(
            self,
            request_iterator: AsyncIterator[streaming_pb2.UploadFileRequest],
            context: grpc.aio.ServicerContext,
        ) -> streaming_pb2.UploadFileResponse:
            async for _ in request_iterator:
                pass
            await answers.put(await call_alive(context))
            return streaming_pb2.UploadFileResponse(name="done")

    server = grpc.aio.server()
    streaming_pb2_grpc.add_StreamingServiceServicer_to_server(Finishing(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = streaming_pb2_grpc.StreamingServiceStub(channel)

            async def one() -> AsyncIterator[streaming_pb2.UploadFileRequest]:
                yield streaming_pb2.UploadFileRequest(chunk=b"x")

            reply = await stub.UploadFile(one(), timeout=TIMEOUT)
            assert reply.name == "done"
            assert await answers.get() is True
    finally:
        await server.stop(0)
