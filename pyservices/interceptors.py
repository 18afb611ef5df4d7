"""grpc.aio server interceptors: request logging and Prometheus metrics, on every service.

Both see each RPC from the outside only: its service and method names, the peer's address,
the status code it ended with, how long it took and how many stream messages went each way.
Neither ever looks at metadata values, request or response bodies, or status details, so a
password in a LoginRequest or a token in `authorization` metadata cannot reach a log line or a
metric label.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from pyservices import metrics

log = logging.getLogger("pyservices.rpc")

HEALTH_SERVICE = "grpc.health.v1.Health"
_QUIET_SERVICES = frozenset({HEALTH_SERVICE})  # probes poll it: logged at DEBUG only
_LOUD_CODES = frozenset(
    {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS}
)


@dataclass
class Call:
    """What an observer learns about one RPC. No bodies, no metadata, no status details."""

    service: str
    method: str
    kind: str  # unary, client_stream, server_stream, bidi_stream (as go-grpc-prometheus)
    peer: str
    client_cert: str = ""  # the common name of a verified client certificate (mutual TLS)
    code: grpc.StatusCode = grpc.StatusCode.OK
    received: int = 0
    sent: int = 0
    start: float = field(default_factory=time.perf_counter)
    duration: float = 0.0

    @property
    def streaming(self) -> bool:
        return self.kind != "unary"


class Observer:
    """Told when an RPC starts, for each stream message, and when it ends."""

    def started(self, call: Call) -> None:
        pass

    def received(self, call: Call) -> None:
        pass

    def sent(self, call: Call) -> None:
        pass

    def finished(self, call: Call) -> None:
        pass


class LogObserver(Observer):
    """One line per finished RPC: `rpc service=… method=… peer=… code=… duration_ms=…`."""

    def __init__(self, logger: logging.Logger = log) -> None:
        self.log = logger

    def finished(self, call: Call) -> None:
        level = logging.INFO
        if call.service in _QUIET_SERVICES:
            level = logging.DEBUG
        elif call.code in _LOUD_CODES:
            level = logging.WARNING
        if not self.log.isEnabledFor(level):
            return
        extra = f" received={call.received} sent={call.sent}" if call.streaming else ""
        cert = f" client_cert={call.client_cert!r}" if call.client_cert else ""
        self.log.log(
            level,
            "rpc service=%s method=%s type=%s peer=%s%s code=%s duration_ms=%.1f%s",
            call.service,
            call.method,
            call.kind,
            call.peer,
            cert,
            call.code.name,
            call.duration * 1000,
            extra,
        )


class MetricsObserver(Observer):
    """The grpc_server_* Prometheus metrics."""

    def started(self, call: Call) -> None:
        metrics.RPC_STARTED.labels(call.kind, call.service, call.method).inc()

    def received(self, call: Call) -> None:
        metrics.MSG_RECEIVED.labels(call.kind, call.service, call.method).inc()

    def sent(self, call: Call) -> None:
        metrics.MSG_SENT.labels(call.kind, call.service, call.method).inc()

    def finished(self, call: Call) -> None:
        labels = (call.kind, call.service, call.method)
        metrics.RPC_HANDLED.labels(*labels, call.code.name).inc()
        metrics.RPC_SECONDS.labels(*labels).observe(call.duration)


class ObservingInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every registered method's handler so `observer` sees each call."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None  # unknown method: gRPC answers UNIMPLEMENTED itself
        return wrap_handler(handler, handler_call_details.method, self.observer)


class LoggingInterceptor(ObservingInterceptor):
    """Request logging: service, method, peer, code and duration of every RPC."""

    def __init__(self, logger: logging.Logger = log) -> None:
        super().__init__(LogObserver(logger))


class MetricsInterceptor(ObservingInterceptor):
    """Prometheus metrics of every RPC (see pyservices.metrics)."""

    def __init__(self) -> None:
        super().__init__(MetricsObserver())


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


def _begin(
    service: str, method: str, kind: str, context: grpc.aio.ServicerContext, observer: Observer
) -> Call:
    call = Call(service, method, kind, peer=context.peer(), client_cert=_client_cert(context))
    observer.started(call)
    return call


def _ok_code(context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    code = context.code()
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.OK


def _error_code(err: BaseException, context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    """The status an RPC that raised `err` ends with, as the client will see it."""
    if isinstance(err, asyncio.CancelledError | GeneratorExit):
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


class _CountingContext:
    """The servicer's context, with read() and write() counted; everything else passes through."""

    def __init__(self, context: grpc.aio.ServicerContext, call: Call, observer: Observer) -> None:
        self._context = context
        self._call = call
        self._observer = observer

    async def read(self) -> Any:
        message = await self._context.read()
        if message is not grpc.aio.EOF:
            _received(self._call, self._observer)
        return message

    async def write(self, message: Any) -> None:
        await self._context.write(message)
        _sent(self._call, self._observer)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def wrap_handler(
    handler: grpc.RpcMethodHandler, full_method: str, observer: Observer
) -> grpc.RpcMethodHandler:
    """The same handler, with `observer` told about each call. Sync handlers are left alone."""
    service, method = split_method(full_method)
    kind = _kind(handler)
    serializers = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }

    def begin(context: grpc.aio.ServicerContext) -> Call:
        return _begin(service, method, kind, context, observer)

    if kind == "unary":
        behavior = handler.unary_unary
        if not inspect.iscoroutinefunction(behavior):
            return handler

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            call = begin(context)
            _received(call, observer)
            try:
                response = await behavior(request, context)
            except BaseException as err:
                _finish(call, observer, _error_code(err, context))
                raise
            _sent(call, observer)
            _finish(call, observer, _ok_code(context))
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

    if inspect.isasyncgenfunction(streaming_behavior):

        async def generating(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = begin(context)
            responses = streaming_behavior(*arguments(request, call, context))
            try:
                async for response in responses:
                    _sent(call, observer)
                    yield response
            except BaseException as err:
                _finish(call, observer, _error_code(err, context))
                raise
            finally:
                await responses.aclose()
            _finish(call, observer, _ok_code(context))

        return factory(generating, **serializers)

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
