"""Failures every service shares, answered with the right status instead of UNKNOWN.

- A request that is not a valid protobuf message of its type (bad wire data, or a
  string field that is not UTF-8) gets INVALID_ARGUMENT. gRPC decodes requests
  before any handler runs and answers a decoding error with UNKNOWN and a
  traceback, so each method's request deserializer is wrapped: it hands the
  handler a `Malformed` marker, and the wrapped handler refuses it.
- A database that fails (`StoreFailure`) gets UNAVAILABLE when trying again
  later may work, INTERNAL when a person must step in; the store has already
  logged the cause.

Like `observe`, this wraps each method's handler once, when the service
registers it: `GuardedServer` stands in for the server during registration.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError

from pyservices.handlers import WrappingServer, as_writer
from pyservices.storage.sqlite import StoreFailure

Deserializer = Callable[[bytes], Any]


class Malformed:
    """What a wrapped deserializer returns for bytes that are not a valid request."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _type_name(deserializer: Deserializer) -> str:
    # Generated code passes `SomeRequest.FromString`, bound to the message class.
    descriptor = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    return getattr(descriptor, "full_name", "") or "request"


def tolerant(deserializer: Deserializer | None) -> Deserializer | None:
    """`deserializer`, returning Malformed instead of raising on bad bytes."""
    if deserializer is None:
        return None
    what = f"the request is not a valid {_type_name(deserializer)} message"
    advice = "check that the client is generated from the same .proto files as the server"

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as err:  # DecodeError, or whatever another deserializer raises
            # protobuf says what was wrong after the type name, e.g. "... 'T': String
            # field had bad UTF-8"; that part is about the client's bytes only.
            why = str(err).rpartition("': ")[2] if isinstance(err, DecodeError) else ""
            return Malformed(f"{what} ({why or 'malformed'}); {advice}")

    return deserialize


async def _refuse(err: StoreFailure, context: grpc.aio.ServicerContext) -> NoReturn:
    code = grpc.StatusCode.UNAVAILABLE if err.retryable else grpc.StatusCode.INTERNAL
    await context.abort(code, str(err))
    raise AssertionError("abort returned")  # abort always raises


async def _checked(request: Any, context: grpc.aio.ServicerContext) -> Any:
    if isinstance(request, Malformed):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
    return request


class _CheckedRequests:
    """A request stream that ends the call with INVALID_ARGUMENT at a malformed message."""

    def __init__(self, inner: Any, context: grpc.aio.ServicerContext) -> None:
        self._inner = inner.__aiter__()
        self._context = context

    def __aiter__(self) -> _CheckedRequests:
        return self

    async def __anext__(self) -> Any:
        return await _checked(await self._inner.__anext__(), self._context)


class _CheckedContext:
    """The servicer's context, with read() checked the same way; the rest passes through."""

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self._context = context

    async def read(self) -> Any:
        message = await self._context.read()
        if message is grpc.aio.EOF:
            return message
        return await _checked(message, self._context)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def guard_handler(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """The same handler with malformed requests and store failures answered properly.

    Sync handlers are left alone (our services have none).
    """
    handler = as_writer(handler)
    streaming_requests = handler.request_streaming
    if streaming_requests and handler.response_streaming:
        behavior, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    elif streaming_requests:
        behavior, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    elif handler.response_streaming:
        behavior, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    else:
        behavior, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler

    if not inspect.iscoroutinefunction(behavior):
        return handler
    serializers = {
        "request_deserializer": tolerant(handler.request_deserializer),
        "response_serializer": handler.response_serializer,
    }

    if streaming_requests:

        async def calling(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                return await behavior(_CheckedRequests(requests, context), _CheckedContext(context))
            except StoreFailure as err:
                await _refuse(err, context)

        return factory(calling, **serializers)

    # One request, checked here rather than in a coroutine of its own: every call pays it.
    async def calling_once(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if type(request) is Malformed:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
        try:
            return await behavior(request, context)
        except StoreFailure as err:
            await _refuse(err, context)

    return factory(calling_once, **serializers)


class GuardedServer(WrappingServer):
    """A server (or a wrapper of one) whose method handlers are guarded as they are added."""

    def __init__(self, server: Any) -> None:
        super().__init__(server, lambda handler, _method: guard_handler(handler))
