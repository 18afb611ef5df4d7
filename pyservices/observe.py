"""How every RPC of every service is observed: the mechanism, not what is done with it.

Each method's handler is wrapped once, when the service registers it
(ObservedServer), rather than by a grpc.aio interceptor, which would cost a
round trip through the interceptor chain on every call. An `Observer` sees
each RPC from the outside only (`Call`): its service and method names, the peer's address,
the status code it ended with, how long it took and how many stream messages went each way.
It never sees metadata values, request or response bodies, or status details, so a
password in a LoginRequest or a token in `authorization` metadata cannot reach a log line or a
metric label. What the servers do with calls (the request log, the gRPC metrics) is in
`pyservices.observers`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from pyservices.handlers import WrappingServer, as_writer

log = logging.getLogger("pyservices.rpc")


class MethodInfo:
    """One registered method, made once when it is wrapped; observers may key on it."""

    __slots__ = ("kind", "method", "service", "streaming")

    def __init__(self, service: str, method: str, kind: str) -> None:
        self.service = service
        self.method = method
        self.kind = kind  # unary, client_stream, server_stream, bidi_stream
        self.streaming = kind != "unary"


class Call:
    """What an observer learns about one RPC. No bodies, no metadata, no status details.

    For a unary call, `received` and `sent` are set when it finishes, without
    the per-message hooks: there is one message each way.
    """

    __slots__ = (
        "_context",
        "_peer",
        "client_cert",
        "code",
        "done",
        "duration",
        "info",
        "kind",
        "method",
        "received",
        "sent",
        "service",
        "start",
        "streaming",
    )

    def __init__(
        self,
        info: MethodInfo,
        context: grpc.aio.ServicerContext | None = None,
        client_cert: str = "",  # the common name of a verified client certificate (mutual TLS)
    ) -> None:
        self.info = info
        self.service = info.service
        self.method = info.method
        self.kind = info.kind
        self.streaming = info.streaming  # any stream, either way
        self.client_cert = client_cert
        self.code = grpc.StatusCode.OK
        self.received = 0
        self.sent = 0
        self.start = time.perf_counter()
        self.duration = 0.0
        self.done = False
        self._context = context
        self._peer: str | None = None

    @property
    def peer(self) -> str:
        """The client's address, asked of gRPC only by an observer that shows it."""
        if self._peer is None:
            self._peer = self._context.peer() if self._context is not None else "unknown"
        return self._peer


class Observer:
    """Told when an RPC starts, for each stream message, and when it ends."""

    # Whether calls should carry the client certificate's name (mutual TLS).
    wants_client_cert = False

    def started(self, call: Call) -> None:
        pass

    def received(self, call: Call) -> None:
        pass

    def sent(self, call: Call) -> None:
        pass

    def finished(self, call: Call) -> None:
        pass


class Observers(Observer):
    """Several observers told about the same calls, in order.

    Only the hooks an observer overrides are called: every RPC goes through
    here, and a call to an empty method still costs.
    """

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers
        self.wants_client_cert = any(o.wants_client_cert for o in observers)

        def hooks(name: str) -> tuple[Callable[[Call], None], ...]:
            base = getattr(Observer, name)
            return tuple(getattr(o, name) for o in observers if getattr(type(o), name) is not base)

        self._started = hooks("started")
        self._received = hooks("received")
        self._sent = hooks("sent")
        self._finished = hooks("finished")

    def started(self, call: Call) -> None:
        for hook in self._started:
            hook(call)

    def received(self, call: Call) -> None:
        for hook in self._received:
            hook(call)

    def sent(self, call: Call) -> None:
        for hook in self._sent:
            hook(call)

    def finished(self, call: Call) -> None:
        for hook in self._finished:
            hook(call)


class ObservedServer(WrappingServer):
    """A grpc.aio.Server seen through `observer`: handlers are wrapped as they are added.

    Each method's handler is wrapped once, at registration, so observing costs no
    interceptor round trip per call.
    """

    def __init__(self, server: grpc.aio.Server, observer: Observer) -> None:
        super().__init__(server, lambda handler, method: wrap_handler(handler, method, observer))


def split_method(full_method: str) -> tuple[str, str]:
    """'/polychat.file.v1.FileService/SayHello' -> ('polychat.file.v1.FileService', 'SayHello')."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service or "unknown", method or "unknown"


def _kind(handler: grpc.RpcMethodHandler) -> str:
    if handler.request_streaming and handler.response_streaming:
        return "bidi_stream"
    if handler.request_streaming:
        return "client_stream"
    if handler.response_streaming:
        return "server_stream"
    return "unary"


def _client_cert(context: grpc.aio.ServicerContext) -> str:
    try:
        names = context.auth_context().get("x509_common_name") or []
    except Exception:
        return ""
    return names[0].decode(errors="replace") if names else ""


def _begin(info: MethodInfo, context: grpc.aio.ServicerContext, observer: Observer) -> Call:
    # Only a mutual-TLS connection has a client certificate to name, and asking
    # gRPC for the auth context costs every call.
    cert = _client_cert(context) if observer.wants_client_cert else ""
    call = Call(info, context, client_cert=cert)
    observer.started(call)
    return call


_OK = grpc.StatusCode.OK


def _ok_code(context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    code = context.code()
    return code if isinstance(code, grpc.StatusCode) else _OK


def _error_code(err: BaseException, context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    """The status an RPC that raised `err` ends with, as the client will see it."""
    # gRPC cancels the call's task when the client goes away or the deadline
    # passes; a write or read the call can no longer do raises InternalError.
    if isinstance(err, asyncio.CancelledError | grpc.aio.InternalError):
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED
    code = context.code()
    if isinstance(err, grpc.aio.AbortError) and isinstance(code, grpc.StatusCode):
        return code
    return grpc.StatusCode.UNKNOWN  # what gRPC answers for an unexpected exception


def _received(call: Call, observer: Observer) -> None:
    call.received += 1
    observer.received(call)


def _sent(call: Call, observer: Observer) -> None:
    call.sent += 1
    observer.sent(call)


def _finish(call: Call, observer: Observer, code: grpc.StatusCode) -> None:
    if call.done:  # an aborted call was seen to finish before its status went out
        return
    call.done = True
    call.code = code
    call.duration = time.perf_counter() - call.start
    try:
        observer.finished(call)
    except Exception:  # observing must never change an RPC's outcome
        log.exception("observer failed service=%s method=%s", call.service, call.method)


class _CountingRequests:
    """A request stream that tells the observer about each message."""

    def __init__(self, inner: Any, call: Call, observer: Observer) -> None:
        self._inner = inner.__aiter__()
        self._call = call
        self._observer = observer

    def __aiter__(self) -> _CountingRequests:
        return self

    async def __anext__(self) -> Any:
        message = await self._inner.__anext__()
        _received(self._call, self._observer)
        return message


class _ObservedContext:
    """The servicer's context as an observed handler sees it; everything passes through.

    `abort` sends the status to the client before it raises, so the call is seen
    to finish first: a client that has its status can rely on the log line and
    the metrics being there, even if the server stops at once.
    """

    __slots__ = ("_call", "_context", "_observer")

    def __init__(self, context: grpc.aio.ServicerContext, call: Call, observer: Observer) -> None:
        self._context = context
        self._call = call
        self._observer = observer

    async def abort(self, code: grpc.StatusCode, *args: Any, **kwargs: Any) -> None:
        if isinstance(code, grpc.StatusCode) and code is not grpc.StatusCode.OK:
            _finish(self._call, self._observer, code)
        await self._context.abort(code, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class _CountingContext(_ObservedContext):
    """An observed context with read() and write() counted too (streaming calls)."""

    async def read(self) -> Any:
        message = await self._context.read()
        if message is not grpc.aio.EOF:
            _received(self._call, self._observer)
        return message

    async def write(self, message: Any) -> None:
        await self._context.write(message)
        _sent(self._call, self._observer)


def wrap_handler(
    handler: grpc.RpcMethodHandler, full_method: str, observer: Observer
) -> grpc.RpcMethodHandler:
    """The same handler, with `observer` told about each call. Sync handlers are left alone.

    A method written as an async generator is observed as the method that writes
    its responses (`as_writer`): each write is counted once it is done, and the
    call is seen to finish in its own task, while gRPC still holds it.
    """
    handler = as_writer(handler)
    service, method = split_method(full_method)
    kind = _kind(handler)
    info = MethodInfo(service, method, kind)
    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }

    def begin(context: grpc.aio.ServicerContext) -> Call:
        return _begin(info, context, observer)

    if kind == "unary":
        behavior = handler.unary_unary
        if not inspect.iscoroutinefunction(behavior):
            return handler

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = _begin(info, context, observer)
            call.received = 1
            try:
                response = await behavior(request, _ObservedContext(context, call, observer))
            except BaseException as err:
                _finish(call, observer, _error_code(err, context))
                raise
            call.sent = 1
            code = context.code()  # _ok_code, inline: every unary call pays the call
            _finish(call, observer, code if isinstance(code, grpc.StatusCode) else _OK)
            return response

        return grpc.unary_unary_rpc_method_handler(unary_unary, **serializers)

    if kind == "client_stream":
        behavior = handler.stream_unary
        if not inspect.iscoroutinefunction(behavior):
            return handler

        async def stream_unary(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            call = begin(context)
            try:
                response = await behavior(
                    _CountingRequests(requests, call, observer),
                    _CountingContext(context, call, observer),
                )
            except BaseException as err:
                _finish(call, observer, _error_code(err, context))
                raise
            _sent(call, observer)
            _finish(call, observer, _ok_code(context))
            return response

        return grpc.stream_unary_rpc_method_handler(stream_unary, **serializers)

    streaming_behavior = handler.stream_stream if kind == "bidi_stream" else handler.unary_stream
    factory = (
        grpc.stream_stream_rpc_method_handler
        if kind == "bidi_stream"
        else grpc.unary_stream_rpc_method_handler
    )

    def arguments(request: Any, call: Call, context: grpc.aio.ServicerContext) -> tuple[Any, Any]:
        if kind == "bidi_stream":
            request = _CountingRequests(request, call, observer)
        else:
            _received(call, observer)
        return request, _CountingContext(context, call, observer)

    if inspect.iscoroutinefunction(streaming_behavior):

        async def writing(request: Any, context: grpc.aio.ServicerContext) -> None:
            call = begin(context)
            try:
                await streaming_behavior(*arguments(request, call, context))
            except BaseException as err:
                _finish(call, observer, _error_code(err, context))
                raise
            _finish(call, observer, _ok_code(context))

        return factory(writing, **serializers)

    return handler
