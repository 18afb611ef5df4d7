"""The chat loop: show what arrives, send what the user types, and ride out lost connections.

When a stream ends in a way a new one may fix (the server restarted, the network dropped, a
slow-consumer or rate-limit disconnect), the loop says so in one line, reconnects with gRPC's
connection backoff, resumes the membership (`chat-resume-token`) and the room from the last
message shown (`chat-resume-from`), says it is back in one line, and sends what was typed
meanwhile. The prompt is never restarted, so a half-typed line survives. Leaving (`/quit`,
Ctrl+C, end of input) is immediate while reconnecting.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import grpc
from polychat.chat import chat_pb2

from pyclient.backoff import Backoff
from pyclient.outbox import Outbox, OutboxFull
from pyclient.pace import Pace
from pyclient.render import render, status
from pyclient.seen import SeenFilter
from pyclient.session import ChatError, ChatSession, closed_stream
from pykit.text import sanitize

QUIT_COMMANDS = frozenset({"/quit", "/exit", "/q"})
LEAVE_TIMEOUT = 2.0
# How long a reconnect attempt may take to bring the welcome (gRPC's minimum connect timeout).
RECONNECT_TIMEOUT = 20.0

Kind = chat_pb2.ChatMessage.Kind
_TEXT_KINDS = (Kind.KIND_TEXT, Kind.KIND_UNSPECIFIED)

# Opens nothing yet: a session for (resume token, resume-from), opened by the caller.
Connect = Callable[[str | None, str | None], ChatSession]


class UI(Protocol):
    """What the loop needs from a terminal or from plain stdin/stdout."""

    output_closed: bool

    def show(self, line: str) -> None: ...

    async def read_line(self) -> str | None: ...


async def _first_done(*tasks: asyncio.Task[None], events: tuple[asyncio.Event, ...] = ()) -> None:
    """Wait until one of `tasks` is done or one of `events` is set."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait([*tasks, *waiters], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


def _raise_if_cancelled() -> None:
    """Re-raise a cancellation of this task that an await turned into another error.

    A grpc.aio call cancelled while it is being read may end with its CANCELLED status (an
    AioRpcError) rather than CancelledError; without this, a user leaving during a reconnect
    attempt would wait for the next attempts instead of leaving at once.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Conversation:
    """One member's conversation, over as many streams as it takes.

    `connect` makes the session for a reconnect; without it (`--no-reconnect`) the first lost
    stream ends the conversation with its ChatError, as before reconnecting existed.
    """

    def __init__(
        self,
        session: ChatSession,
        ui: UI,
        *,
        connect: Connect | None = None,
        backoff: Backoff | None = None,
        outbox: Outbox | None = None,
        leave_timeout: float = LEAVE_TIMEOUT,
        reconnect_timeout: float = RECONNECT_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pace: Callable[[], Pace] = Pace,
    ) -> None:
        self.session = session
        self.ui = ui
        self.connect = connect
        self.backoff = backoff or Backoff()
        self.outbox = outbox or Outbox()
        self.seen = SeenFilter()
        self.leave_timeout = leave_timeout
        self.reconnect_timeout = reconnect_timeout
        self._sleep = sleep
        self._new_pace = pace
        self.resume_token: str | None = None
        self.connected = True
        self._messages: AsyncIterator[chat_pb2.ChatMessage] = session.messages()
        self._leaving = False
        self._wake = asyncio.Event()  # the outbox has lines
        self._idle = asyncio.Event()  # ... and none is queued or being written
        self._idle.set()
        self._lost = asyncio.Event()  # no stream: lost, reconnecting
        self._held_history: chat_pb2.ChatMessage | None = None

    # ---- the whole conversation ---------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Run until the user leaves (returns) or the conversation must end (raises ChatError).

        Leaving sends what is queued, half-closes the stream and waits up to `leave_timeout`
        for the server to end it, so the room is told that we left. While reconnecting it
        leaves at once.
        """
        link = asyncio.create_task(self._link(), name="link")
        reader = asyncio.create_task(self._read_input(), name="input")
        stopper = asyncio.create_task(stop.wait(), name="stop")
        try:
            await _first_done(link, reader, stopper)
            if link.done():
                link.result()  # raises the ChatError that ended the conversation
                if not self.ui.output_closed:
                    raise closed_stream()
            await self._leave(link)
        finally:
            for task in (link, reader, stopper):
                task.cancel()
            await asyncio.gather(link, reader, stopper, return_exceptions=True)
            await self.session.close()

    async def _leave(self, link: asyncio.Task[None]) -> None:
        self._leaving = True
        if self.connected and not link.done():
            # What was typed before leaving goes first, unless the stream is lost meanwhile.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.leave_timeout):
                    await _first_done(link, events=(self._idle, self._lost))
        if not self.connected:
            unsent = self.outbox.drop_queued()
            if unsent == 1:
                self.ui.show(status("1 line typed while disconnected was not sent"))
            elif unsent:
                self.ui.show(status(f"{unsent} lines typed while disconnected were not sent"))
            return
        await self.session.leave()
        with contextlib.suppress(TimeoutError, ChatError):
            async with asyncio.timeout(self.leave_timeout):
                await asyncio.shield(link)

    # ---- input --------------------------------------------------------------------------

    async def _read_input(self) -> None:
        """Queue typed lines until the user leaves."""
        while True:
            line = await self.ui.read_line()
            if line is None or line.strip() in QUIT_COMMANDS:
                return
            if not line.strip():
                continue
            try:
                self.outbox.add(line, held=not self.connected)
            except OutboxFull:
                self.ui.show(
                    status(
                        f"Not sent: {self.outbox.limit} lines are already waiting "
                        "for the connection"
                    )
                )
                continue
            self._idle.clear()
            self._wake.set()
            if not self.connected:
                self.ui.show(f"(pending) {sanitize(line)}")
                continue
            # Connected: read the next line once this one is out, as a person would see it.
            await _first_done(events=(self._idle, self._lost))

    # ---- the streams --------------------------------------------------------------------

    async def _link(self) -> None:
        """Carry the conversation across streams until we leave or one cannot be replaced."""
        first: chat_pb2.ChatMessage | None = None
        while True:
            try:
                await self._stream(first)
                return  # we left, or nobody reads our output any more
            except ChatError as err:
                if self._leaving or self.connect is None or not err.retry:
                    raise
                lost = err
            self.connected = False
            self._lost.set()
            self.outbox.lost(numbered=bool(self.seen.epoch))
            self._held_history = None
            await self.session.close()
            self.ui.show(status(f"Connection lost ({lost.reason}); reconnecting..."))
            first = await self._reconnect(lost)

    async def _stream(self, first: chat_pb2.ChatMessage | None) -> None:
        """Show and send on the current stream until it ends (ChatError) or we left."""
        if first is not None:  # the welcome of a reconnect
            self._receive_one(first, welcome=True)
            self.outbox.reconnected()
        self.connected = True
        self._lost.clear()
        if self.outbox.peek() is not None:
            self._idle.clear()
            self._wake.set()
        receiver = asyncio.create_task(self._receive(), name="receive")
        sender = asyncio.create_task(self._send(), name="send")
        try:
            await _first_done(receiver, sender)
            if not receiver.done():
                # A write failed: the stream has ended, and the receiver learns why.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.leave_timeout):
                        await asyncio.shield(receiver)
                if not receiver.done():
                    raise closed_stream()
            receiver.result()
        finally:
            for task in (receiver, sender):
                task.cancel()
            await asyncio.gather(receiver, sender, return_exceptions=True)

    async def _reconnect(self, lost: ChatError) -> chat_pb2.ChatMessage:
        """A new stream, after as many attempts as it takes; returns its first message."""
        assert self.connect is not None
        self.backoff.reset()
        delay = 0.0
        if lost.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            # Told off for sending too fast (or reading too slowly): not straight back.
            self.backoff.start()
            delay = max(lost.wait, self.backoff.fail())
        while True:
            _raise_if_cancelled()
            if delay > 0:
                await self._sleep(delay)
            self.backoff.start()
            session = self.connect(self.resume_token, self.seen.resume_from())
            try:
                await session.open()
                messages = session.messages()
                # asyncio.timeout, not wait_for, which in Python 3.11 can swallow the
                # cancellation of a user leaving just as the welcome arrives.
                async with asyncio.timeout(self.reconnect_timeout):
                    first = await anext(messages)
            except (ChatError, TimeoutError, StopAsyncIteration) as err:
                await session.close()
                if isinstance(err, ChatError) and not err.retry:
                    raise
                delay = self.backoff.fail()
                continue
            except BaseException:
                await session.close()
                raise
            self.session, self._messages = session, messages
            self.backoff.reset()
            self.ui.show(status("Reconnected"))
            return first

    async def _receive(self) -> None:
        async for msg in self._messages:
            self._receive_one(msg)
            if self.ui.output_closed:
                return

    def _receive_one(self, msg: chat_pb2.ChatMessage, *, welcome: bool = False) -> None:
        """Show `msg` unless it was shown before, or it is one of our own lines come back."""
        if welcome:
            # A server that cannot resume sends no credential: do not offer a stale one.
            self.resume_token = msg.resume_token or None
        elif msg.kind == Kind.KIND_SYSTEM and msg.resume_token:
            self.resume_token = msg.resume_token
        if not self.seen.admit(msg):
            return
        if msg.kind in _TEXT_KINDS and self.outbox.is_own(msg.client_msg_id):
            # Replayed after a reconnect: the user saw it when typing it, and it has arrived.
            self.outbox.arrived(msg.client_msg_id)
            return
        # A history block whose every message was shown before is not shown at all.
        if msg.kind == Kind.KIND_HISTORY_START:
            self._held_history = msg
            return
        if msg.kind == Kind.KIND_HISTORY_END and self._held_history is not None:
            self._held_history = None
            return
        if self._held_history is not None:
            self.ui.show(render(self._held_history))
            self._held_history = None
        self.ui.show(render(msg))

    async def _send(self) -> None:
        """Send queued lines in order; returns when a write fails (the stream has ended).

        Lines typed while disconnected and lines sent again go paced, each stream afresh.
        """
        pace = self._new_pace()
        while True:
            line = self.outbox.peek()
            if line is None:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            if line.held or line.resent:
                await pace.take()
            self.outbox.sending(line)
            if not await self.session.send(line.text, line.client_msg_id):
                return
            line.written = True


async def converse(
    session: ChatSession,
    ui: UI,
    stop: asyncio.Event,
    leave_timeout: float = LEAVE_TIMEOUT,
    *,
    connect: Connect | None = None,
    backoff: Backoff | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    pace: Callable[[], Pace] = Pace,
) -> None:
    """Chat on the open `session` until the user leaves (returns) or it must end (ChatError).

    With `connect`, a lost stream is replaced (see `Conversation`).
    """
    conversation = Conversation(
        session,
        ui,
        connect=connect,
        backoff=backoff,
        leave_timeout=leave_timeout,
        sleep=sleep,
        pace=pace,
    )
    await conversation.run(stop)
