"""What a command-line client prints and how it stops: times, one-line errors, signals."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

import grpc
from google.protobuf import timestamp_pb2

from pykit.text import sanitize
from pykit.tls import explain_unavailable

T = TypeVar("T")


def local_time(ts: timestamp_pb2.Timestamp, millis: bool = True) -> str:
    """A Timestamp as local HH:MM:SS(.mmm)."""
    when = datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9).astimezone()
    if millis:
        return when.strftime("%H:%M:%S.") + f"{when.microsecond // 1000:03d}"
    return when.strftime("%H:%M:%S")


def rpc_error_line(err: grpc.RpcError, server: str, tls: bool = False) -> str:
    """One readable line for a failed call: `CODE: details`.

    `tls` says whether the channel used TLS, so that a failed handshake is explained.
    """
    code = err.code() if hasattr(err, "code") else None
    details = err.details() if hasattr(err, "details") else None
    name = code.name if code is not None else "UNKNOWN"
    if code == grpc.StatusCode.UNAVAILABLE:
        reason = explain_unavailable(details or "unavailable", tls)
        return f"UNAVAILABLE: cannot reach the server at {server}: {sanitize(reason)}"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"DEADLINE_EXCEEDED: the server at {server} did not answer in time"
    return f"{name}: {sanitize(details or 'no details')}"


async def run_until_signal(coro: Coroutine[Any, Any, T]) -> tuple[bool, T | None]:
    """Run `coro` until it ends or SIGINT/SIGTERM arrives (then cancel it).

    Returns (interrupted, result). Signal handlers are removed afterwards, so
    a prompt that follows handles Ctrl+C itself.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    task = asyncio.ensure_future(coro)
    stopper = asyncio.ensure_future(stop.wait())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        stopper.cancel()
    if task.done():
        return False, task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return True, None
