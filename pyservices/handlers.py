"""Wrapping every method handler of a server once, as services register them.

The observing (observe.py) and the request guard (guard.py) both change what a
method does without a per-call interceptor: `WrappingServer` stands in for the
server while services register, and hands each handler to a wrap function once.

Both first turn a method written as an async generator into the equivalent
method that writes each response itself (`as_writer`): they then wrap coroutines
only, and all of a method's code runs while its call is alive.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import grpc

# Takes a method's handler and its full name ('/package.Service/Method') and returns the
# handler to register instead.
Wrap = Callable[[grpc.RpcMethodHandler, str], grpc.RpcMethodHandler]


class WrappingServer:
    """A server (or a wrapper of one) whose method handlers are wrapped as they are added.

    Services register on it exactly as on the server it stands for: the generated
    `add_…Servicer_to_server` functions call the two methods below.
    """

    def __init__(self, server: Any, wrap: Wrap) -> None:
        self._server = server
        self._wrap = wrap

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        wrapped = {
            name: self._wrap(handler, f"/{service_name}/{name}")
            for name, handler in method_handlers.items()
        }
        self._server.add_registered_method_handlers(service_name, wrapped)

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(
            tuple(_WrappingGenericHandler(h, self._wrap) for h in handlers)
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class _WrappingGenericHandler(grpc.GenericRpcHandler):
    """A generic handler whose method handlers are wrapped, once per method."""

    def __init__(self, inner: grpc.GenericRpcHandler, wrap: Wrap) -> None:
        self._inner = inner
        self._wrap = wrap
        self._wrapped: dict[str, grpc.RpcMethodHandler | None] = {}

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        if method not in self._wrapped:
            handler = self._inner.service(handler_call_details)
            self._wrapped[method] = None if handler is None else self._wrap(handler, method)
        return self._wrapped[method]


def as_writer(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """`handler`, with an async-generator method made one that writes its responses itself.

    grpc.aio iterates an async-generator method from the call's task and writes
    each response. A call cancelled (deadline, client gone) during such a write
    leaves the generator suspended at its `yield`: Python closes it later, from a
    task of its own, once it is garbage collected. By then grpc.aio has released
    the call, and code that runs as the generator closes and asks the context
    about the call (`context.peer()`, which the request log reads) dereferences
    the released call: the process dies of a segfault in grpc's C core. Here
    the generator is closed in the call's own task when the call ends, however
    it ends. Other handlers are returned unchanged.
    """
    if not handler.response_streaming:
        return handler
    if handler.request_streaming:
        behavior, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    else:
        behavior, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    if not inspect.isasyncgenfunction(behavior):
        return handler

    async def write_responses(request: Any, context: grpc.aio.ServicerContext) -> None:
        async with contextlib.aclosing(behavior(request, context)) as responses:
            async for response in responses:
                await context.write(response)

    return factory(
        write_responses,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
