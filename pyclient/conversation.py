"""The chat loop: receive and show messages while sending what the user types."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from pyclient.render import render
from pyclient.session import ChatError, ChatSession

QUIT_COMMANDS = frozenset({"/quit", "/exit", "/q"})
LEAVE_TIMEOUT = 2.0


class UI(Protocol):
    """What the loop needs from a terminal or from plain stdin/stdout."""

    output_closed: bool

    def show(self, line: str) -> None: ...

    async def read_line(self) -> str | None: ...


async def _receive(session: ChatSession, ui: UI) -> None:
    async for msg in session.messages():
        ui.show(render(msg))
        if ui.output_closed:
            return


async def _send_input(session: ChatSession, ui: UI) -> bool:
    """Send typed lines until the user leaves (True) or the stream is gone (False)."""
    while True:
        line = await ui.read_line()
        if line is None or line.strip() in QUIT_COMMANDS:
            return True
        if not line.strip():
            continue
        if not await session.send(line):
            return False


async def _finish(task: asyncio.Task[None], limit: float) -> None:
    """Wait up to `limit` seconds for the receiver to see the end of the stream."""
    with contextlib.suppress(TimeoutError, ChatError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(task), limit)


async def converse(
    session: ChatSession, ui: UI, stop: asyncio.Event, leave_timeout: float = LEAVE_TIMEOUT
) -> None:
    """Run until the user leaves (returns) or the stream ends (raises ChatError).

    Leaving half-closes the stream and waits up to `leave_timeout` for the server to end it,
    so the room is told that we left.
    """
    receiver = asyncio.create_task(_receive(session, ui), name="receive")
    sender = asyncio.create_task(_send_input(session, ui), name="send")
    stopper = asyncio.create_task(stop.wait(), name="stop")
    try:
        await asyncio.wait({receiver, sender, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if sender.done() and not sender.result() and not receiver.done():
            # A write failed: the stream has ended, and the receiver learns why.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(receiver), leave_timeout)
            if not receiver.done():
                raise ChatError("disconnected: server closed the stream")
        if receiver.done():
            receiver.result()  # raises the ChatError that ended the stream
            if not ui.output_closed:
                raise ChatError("disconnected: server closed the stream")
        await session.leave()
        await _finish(receiver, leave_timeout)
    finally:
        for task in (receiver, sender, stopper):
            task.cancel()
        await asyncio.gather(receiver, sender, stopper, return_exceptions=True)
