"""`grpc.testing.TestService` on grpc.aio, as gRPC's interop test descriptions define it.

Server features (the names the descriptions use):

- EmptyCall, UnaryCall, StreamingOutputCall, StreamingInputCall, FullDuplexCall and
  HalfDuplexCall answer with payloads of zeros of the requested sizes, in order, waiting
  `interval_us` before each streamed response.
- Echo Status: a request with `response_status` (code other than OK) ends the call with that
  code and message, exactly (whitespace and non-ASCII text included).
- Echo Metadata: `x-grpc-test-echo-initial` comes back in the initial metadata and
  `x-grpc-test-echo-trailing-bin` in the trailing metadata, on every method.
- CompressedResponse: `response_compressed` / `ResponseParameters.compressed` ask for a
  gzip-compressed response message (or an uncompressed one, inside a compressed stream).
  gRPC picks a call's compression when its headers go out, so the first request of a call
  decides whether the call compresses; a later `compressed: false` still sends that one
  message uncompressed.
- CompressedRequest is the one feature a grpcio server cannot offer: it would have to know
  whether a request message arrived compressed, and grpcio does not tell a server (neither
  the message flag nor the `grpc-encoding` header reaches the application). A request that
  sets `expect_compressed` to true is therefore answered UNIMPLEMENTED with that reason,
  rather than passing unchecked.
- UnimplementedCall and CacheableUnaryCall are not implemented (UNIMPLEMENTED), the first by
  definition, the second because it needs a caching proxy in front of the server.

Requests that cannot be served get INVALID_ARGUMENT with a message saying which field: an
unknown payload type, a negative size, a size beyond `MAX_PAYLOAD_BYTES` (so one request
cannot make the server allocate gigabytes), or a status code gRPC does not have.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import NoReturn

import grpc
from polychat.grpc_testing import empty_pb2, messages_pb2, test_pb2_grpc

from pyinterop.payloads import COMPRESSABLE, zeros

ECHO_INITIAL_KEY = "x-grpc-test-echo-initial"
ECHO_TRAILING_KEY = "x-grpc-test-echo-trailing-bin"

# The largest payload body one response carries: gRPC's default largest receive message
# (4 MiB) less room for the message around it, so every client can take any response.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024 - 1024
# HalfDuplexCall answers only after the client half-closes; it holds this many requests.
MAX_HELD_REQUESTS = 10_000

_CODES = {code.value[0]: code for code in grpc.StatusCode}

_NO_COMPRESSED_REQUESTS = (
    "expect_compressed is not supported: a grpcio server cannot tell whether a request "
    "arrived compressed"
)


class Rejected(Exception):
    """A request the server cannot serve: the status to end the call with."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _requested_status(status: messages_pb2.EchoStatus) -> Rejected | None:
    """The status a request asks the call to end with, or None to go on (code OK)."""
    if status.code == 0:
        return None
    code = _CODES.get(status.code)
    if code is None:
        return Rejected(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"response_status.code {status.code} is not a gRPC status code (0-16)",
        )
    return Rejected(code, status.message)


def _check_size(response_type: int, size: int, field: str) -> None:
    if response_type != COMPRESSABLE:
        raise Rejected(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"response_type {response_type} is not supported (only COMPRESSABLE, 0)",
        )
    if size < 0:
        raise Rejected(grpc.StatusCode.INVALID_ARGUMENT, f"{field} {size} is negative")
    if size > MAX_PAYLOAD_BYTES:
        raise Rejected(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{field} {size} is more than this server sends in one message "
            f"({MAX_PAYLOAD_BYTES} bytes)",
        )


def _check_expect_compressed(expect: messages_pb2.BoolValue) -> None:
    if expect.value:
        raise Rejected(grpc.StatusCode.UNIMPLEMENTED, _NO_COMPRESSED_REQUESTS)


def _check_streaming(request: messages_pb2.StreamingOutputCallRequest) -> None:
    """Raise the status a streaming request asks for, or the reason it cannot be served.

    Every response is checked before the first is sent, so a bad parameter ends the call
    before any response rather than in the middle of the stream.
    """
    if (status := _requested_status(request.response_status)) is not None:
        raise status
    for i, parameters in enumerate(request.response_parameters):
        _check_size(request.response_type, parameters.size, f"response_parameters[{i}].size")


class TestService(test_pb2_grpc.TestServiceServicer):
    """The interop TestService; one instance serves every call of a server."""

    # pytest would otherwise try to collect this class as a test case.
    __test__ = False

    def __init__(self) -> None:
        # Unique per server process, the same for every call it serves (fill_server_id).
        self.server_id = f"pyinterop-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    async def EmptyCall(
        self, request: empty_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await _start(context)
        return empty_pb2.Empty()

    async def UnaryCall(
        self, request: messages_pb2.SimpleRequest, context: grpc.aio.ServicerContext
    ) -> messages_pb2.SimpleResponse:
        compress = (
            request.response_compressed.value if request.HasField("response_compressed") else None
        )
        await _start(context, compress)
        try:
            if (status := _requested_status(request.response_status)) is not None:
                raise status
            _check_expect_compressed(request.expect_compressed)
            _check_size(request.response_type, request.response_size, "response_size")
        except Rejected as rejected:
            await _end(context, rejected)
        response = messages_pb2.SimpleResponse(payload=zeros(request.response_size))
        if request.fill_server_id:
            response.server_id = self.server_id
        return response

    async def StreamingOutputCall(
        self,
        request: messages_pb2.StreamingOutputCallRequest,
        context: grpc.aio.ServicerContext,
    ) -> None:
        await _start(context, _wants_compression(request.response_parameters))
        try:
            _check_streaming(request)
        except Rejected as rejected:
            await _end(context, rejected)
        await _send(context, request.response_parameters)

    async def StreamingInputCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingInputCallRequest],
        context: grpc.aio.ServicerContext,
    ) -> messages_pb2.StreamingInputCallResponse:
        await _start(context)
        total = 0
        async for request in request_iterator:
            try:
                _check_expect_compressed(request.expect_compressed)
            except Rejected as rejected:
                await _end(context, rejected)
            total += len(request.payload.body)
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    async def FullDuplexCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingOutputCallRequest],
        context: grpc.aio.ServicerContext,
    ) -> None:
        started = False
        async for request in request_iterator:
            if not started:
                await _start(context, _wants_compression(request.response_parameters))
                started = True
            try:
                _check_streaming(request)
            except Rejected as rejected:
                await _end(context, rejected)
            await _send(context, request.response_parameters)
        if not started:
            await _start(context)

    async def HalfDuplexCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingOutputCallRequest],
        context: grpc.aio.ServicerContext,
    ) -> None:
        # Every request is checked as it arrives; nothing is sent until the client half-closes.
        # Only the response parameters are kept, and only so many requests' worth.
        held: list[list[messages_pb2.ResponseParameters]] = []
        async for request in request_iterator:
            try:
                _check_streaming(request)
                if len(held) == MAX_HELD_REQUESTS:
                    raise Rejected(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"HalfDuplexCall holds at most {MAX_HELD_REQUESTS} requests "
                        "before the client half-closes",
                    )
            except Rejected as rejected:
                await _end(context, rejected)
            held.append(list(request.response_parameters))
        await _start(context, _wants_compression(p for batch in held for p in batch))
        for parameters in held:
            await _send(context, parameters)

    async def UnimplementedCall(
        self, request: empty_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED,
            "grpc.testing.TestService/UnimplementedCall is never implemented",
        )


def _wants_compression(parameters: Iterable[messages_pb2.ResponseParameters]) -> bool | None:
    """True when one of these responses asks to be compressed; None when none says."""
    asked = [p.compressed.value for p in parameters if p.HasField("compressed")]
    return any(asked) if asked else None


async def _start(context: grpc.aio.ServicerContext, compress: bool | None = None) -> None:
    """Choose the call's compression (None: the server's default) and echo the metadata.

    Both belong to the response headers, so this runs before the first response message.
    grpcio applies `set_compression` only when the headers are sent explicitly
    (https://github.com/grpc/grpc/issues/34690), so they are, whenever it is called.
    """
    initial = _echo_metadata(context)
    if compress is not None:
        context.set_compression(
            grpc.Compression.Gzip if compress else grpc.Compression.NoCompression
        )
    if compress is not None or initial:
        await context.send_initial_metadata(initial)


async def _end(context: grpc.aio.ServicerContext, rejected: Rejected) -> NoReturn:
    """End the call with the rejection's status (trailing metadata already set is kept)."""
    await context.abort(rejected.code, rejected.message, context.trailing_metadata())


def _echo_metadata(context: grpc.aio.ServicerContext) -> list[tuple[str, str | bytes]]:
    """Set the trailing echo; return the initial echo, for the headers (empty if not asked)."""
    initial: list[tuple[str, str | bytes]] = []
    for key, value in context.invocation_metadata() or ():
        if key == ECHO_INITIAL_KEY:
            initial.append((key, value))
        elif key == ECHO_TRAILING_KEY:
            context.set_trailing_metadata(((key, value),))
    return initial


async def _send(
    context: grpc.aio.ServicerContext, parameters: Iterable[messages_pb2.ResponseParameters]
) -> None:
    """Write one response per parameters, after its interval, compressed as it asks.

    Payloads were checked by `_check_streaming`; each is made just before it is written.
    """
    for params in parameters:
        if params.interval_us > 0:
            await asyncio.sleep(params.interval_us / 1_000_000)
        if params.HasField("compressed") and not params.compressed.value:
            context.disable_next_message_compression()
        await context.write(messages_pb2.StreamingOutputCallResponse(payload=zeros(params.size)))
