"""Client side of Chat: prompt_toolkit on a terminal, plain lines in and out otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

import grpc
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc
from prompt_toolkit import PromptSession
from prompt_toolkit.patch_stdout import patch_stdout

from pykit.terminal import local_time
from pykit.text import sanitize

Kind = streaming_pb2.ChatResponse.Kind
DRAIN_TIMEOUT = 5.0


def format_event(event: streaming_pb2.ChatResponse) -> str:
    """`[14:30:10] Client(1): Hello everyone!`, or `[14:30:00] Client(1) has joined the chat`."""
    when = local_time(event.timestamp, millis=False)
    if event.kind == Kind.KIND_TEXT:
        return f"[{when}] {sanitize(event.user)}: {sanitize(event.message)}"
    return f"[{when}] {sanitize(event.message)}"


async def _outgoing(queue: asyncio.Queue[str | None]) -> AsyncIterator[streaming_pb2.ChatRequest]:
    while (text := await queue.get()) is not None:
        yield streaming_pb2.ChatRequest(message=text)


async def _print_events(call: grpc.aio.StreamStreamCall) -> None:
    async for event in call:
        print(format_event(event), flush=True)


async def _finish(call: grpc.aio.StreamStreamCall, printer: asyncio.Task[None]) -> None:
    """Wait (bounded) for the server to end the stream, then make sure it is over."""
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(printer), DRAIN_TIMEOUT)
    call.cancel()
    printer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await printer


async def chat_terminal(stub: streaming_pb2_grpc.StreamingServiceStub) -> None:
    """Chat with a prompt; incoming lines print above it. Ctrl+C, Ctrl+D or /quit leaves."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    call = stub.Chat(_outgoing(queue))
    session: PromptSession[str] = PromptSession()
    print("Chat: type a message and press Enter; Ctrl+D or /quit leaves.")
    with patch_stdout(raw=True):
        printer = asyncio.create_task(_print_events(call))
        try:
            while not printer.done():
                prompt = asyncio.create_task(session.prompt_async("> "))
                await asyncio.wait({prompt, printer}, return_when=asyncio.FIRST_COMPLETED)
                if not prompt.done():
                    prompt.cancel()  # the server ended the chat
                    with contextlib.suppress(asyncio.CancelledError):
                        await prompt
                    break
                line = prompt.result()
                if line.strip() in ("/quit", "/exit"):
                    break
                if line.strip():
                    queue.put_nowait(line)
        except (EOFError, KeyboardInterrupt):
            pass
        finally:
            queue.put_nowait(None)
            await _finish(call, printer)
    if printer.done() and not printer.cancelled() and printer.exception() is not None:
        raise printer.exception()  # type: ignore[misc]


async def _stdin_lines() -> AsyncIterator[str]:
    """Lines of stdin without blocking the loop (pipes), or read up front (regular files)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (ValueError, OSError):
        for line in await asyncio.to_thread(sys.stdin.readlines):
            yield line.rstrip("\n")
        return
    while line := await reader.readline():
        yield line.decode(errors="replace").rstrip("\n")


async def chat_lines(stub: streaming_pb2_grpc.StreamingServiceStub) -> None:
    """Scripts: send each stdin line; at end of input leave and print what is still due."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    call = stub.Chat(_outgoing(queue))
    printer = asyncio.create_task(_print_events(call))
    try:
        async for line in _stdin_lines():
            if printer.done():
                break
            if line.strip():
                queue.put_nowait(line)
    finally:
        queue.put_nowait(None)
        await _finish(call, printer)
    if not printer.cancelled() and printer.exception() is not None:
        raise printer.exception()  # type: ignore[misc]
