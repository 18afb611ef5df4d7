"""The status a server actually sent, for streaming calls that write while it ends them.

When a server ends a call while the client is still sending (an abort on a bad name,
an existing file, a size or rate limit), grpcio's asyncio client (1.85) sometimes
replaces the server's status with `INTERNAL: Internal error from Core`: a request
write that fails because the call is already over overwrites the status that had
arrived just before it (grpc/grpc#36066). The status the call settled with first is
still the server's, and done callbacks see it: `ServerStatus` remembers it, and
`stream_unary` raises it instead of the stand-in.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import grpc

Response = TypeVar("Response")
T = TypeVar("T")

# What grpcio's asyncio client reports when a batch fails inside gRPC Core.
LOST_STATUS_DETAILS = "Internal error from Core"


def _settled(coroutine: Coroutine[Any, Any, T]) -> T | None:
    """The result of a coroutine that finishes without waiting, else None.

    A done callback cannot await; the status getters of a finished call do not wait.
    """
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return finished.value
    coroutine.close()
    return None


def _is_stand_in(code: grpc.StatusCode | None, details: str | None) -> bool:
    return code is grpc.StatusCode.INTERNAL and details == LOST_STATUS_DETAILS


class ServerStatus:
    """Remembers the first real status a call settles with; attach it with `watch`."""

    def __init__(self) -> None:
        self.code: grpc.StatusCode | None = None
        self.details: str | None = None
        self.trailing_metadata: grpc.aio.Metadata | None = None

    @classmethod
    def watch(cls, call: grpc.aio.Call) -> ServerStatus:
        """Start watching `call`; do it before the first write."""
        status = cls()
        call.add_done_callback(status._settle)
        return status

    def _settle(self, call: grpc.aio.Call) -> None:
        if self.code is not None:
            return
        code = _settled(call.code())
        details = _settled(call.details())
        if code is None or _is_stand_in(code, details):
            return
        self.code, self.details = code, details
        self.trailing_metadata = _settled(call.trailing_metadata())

    def error(self, err: grpc.aio.AioRpcError) -> grpc.aio.AioRpcError:
        """`err`, or the server's own error if `err` is grpcio's stand-in for it."""
        if self.code is None or not _is_stand_in(err.code(), err.details()):
            return err
        return grpc.aio.AioRpcError(
            self.code,
            err.initial_metadata(),
            self.trailing_metadata or grpc.aio.Metadata(),
            self.details,
            err.debug_error_string(),
        )


async def stream_unary(
    method: Callable[..., grpc.aio.StreamUnaryCall[Any, Response]],
    requests: Any,
    **call_options: Any,
) -> Response:
    """`await method(requests, **call_options)`, raising the server's own status.

    Use it for every client-streaming call a client makes with a request iterator.
    """
    call = method(requests, **call_options)
    status = ServerStatus.watch(call)
    try:
        return await call
    except grpc.aio.AioRpcError as err:
        raise status.error(err) from None
