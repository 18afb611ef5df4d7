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
from dataclasses import dataclass
from typing import Protocol

import grpc
from polychat.chat import chat_pb2

from pyclient import moderation
from pyclient.backoff import Backoff
from pyclient.commands import FILE_HELP_LINES, HELP_LINES, MODERATION, SENT, Command
from pyclient.commands import Kind as Typed
from pyclient.commands import parse as parse_command
from pyclient.files import FileTransfers as Files
from pyclient.files import TransferFailed
from pyclient.outbox import Outbox, OutboxFull
from pyclient.pace import Pace
from pyclient.presence import members_line, rooms_line
from pyclient.render import INDENT, continued, render, status
from pyclient.seen import SeenFilter
from pyclient.session import ChatError, ChatSession, closed_stream
from pykit.text import sanitize

LEAVE_TIMEOUT = 2.0
# How long a reconnect attempt may take to bring the welcome (gRPC's minimum connect timeout).
RECONNECT_TIMEOUT = 20.0

Kind = chat_pb2.ChatMessage.Kind
# What the client sends, and so may come back with its own client_msg_id.
_OWN_KINDS = (Kind.KIND_TEXT, Kind.KIND_UNSPECIFIED, Kind.KIND_ACTION, Kind.KIND_PRIVATE)

# Opens nothing yet: a session for (resume token, resume-from), opened by the caller.
Connect = Callable[[str | None, str | None], ChatSession]
# Opens nothing yet: a session that joins the given room afresh (/join).
OpenRoom = Callable[[str], ChatSession]

# What each sent command travels as.
_SENT_KINDS = {
    Typed.TEXT: Kind.KIND_TEXT,
    Typed.ACTION: Kind.KIND_ACTION,
    Typed.PRIVATE: Kind.KIND_PRIVATE,
}


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


@dataclass
class Moving:
    """A /join's new stream, open and welcomed, that the link goes on with."""

    session: ChatSession
    messages: AsyncIterator[chat_pb2.ChatMessage]
    welcome: chat_pb2.ChatMessage


class Conversation:
    """One member's conversation, over as many streams as it takes.

    `connect` makes the session for a reconnect; without it (`--no-reconnect`) the first lost
    stream ends the conversation with its ChatError, as before reconnecting existed.
    `open_room` makes the session for a /join; without it, /join is refused.
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
        open_room: OpenRoom | None = None,
        files: Files | None = None,
    ) -> None:
        self.session = session
        # /send and /get (pyclient/files.py): None refuses them; the transfers in flight,
        # which leaving waits for; the member_token of the last welcome, which they use.
        self.files = files
        self._transfers: set[asyncio.Task[None]] = set()
        self.member_token = ""
        self._welcomed = asyncio.Event()  # the first message, the welcome, has arrived
        self.open_room = open_room
        # The room to be in: the first session's, then the last /join's.
        self.room = session.room
        # A /join whose new stream is open: the link moves to it once the old one has ended.
        self._moving: Moving | None = None
        self._moved = asyncio.Event()
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
            if self._moving is not None:  # left in the middle of a /join
                await self._moving.session.close()

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
        """Queue typed lines, and carry out typed commands, until the user leaves."""
        while True:
            line = await self.ui.read_line()
            if line is None:
                await self._transfers_done()
                return
            command = parse_command(line)
            if command.kind == Typed.QUIT:
                await self._transfers_done()
                return
            if command.kind == Typed.EMPTY:
                continue
            if command.kind not in SENT:
                await self._command(command, line)
                continue
            try:
                self.outbox.add(
                    command.text,
                    held=not self.connected,
                    kind=_SENT_KINDS[command.kind],
                    recipient=command.arg,
                )
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
                self.ui.show(continued("(pending) ", line))
                continue
            # Connected: read the next line once this one is out, as a person would see it.
            await _first_done(events=(self._idle, self._lost))

    # ---- commands -----------------------------------------------------------------------

    async def _command(self, command: Command, line: str) -> None:
        """Carry out a command that sends nothing into the room."""
        if command.kind == Typed.HELP:
            self.ui.show(status(("\n" + INDENT).join(HELP_LINES + FILE_HELP_LINES)))
        elif command.kind == Typed.INVALID:
            self.ui.show(status(sanitize(command.text)))
        elif not self.connected:
            self.ui.show(status(f"Not connected; try {line.split()[0]} again once reconnected"))
        elif command.kind == Typed.WHO:
            room = command.arg or self.room
            try:
                members = await self.session.list_members(room)
            except ChatError as err:
                self.ui.show(status(f"Cannot list the members: {err.reason}"))
            else:
                self.ui.show(status(members_line(room, members)))
        elif command.kind == Typed.ROOMS:
            try:
                rooms = await self.session.list_rooms()
            except ChatError as err:
                self.ui.show(status(f"Cannot list the rooms: {err.reason}"))
            else:
                self.ui.show(status(rooms_line(rooms)))
        elif command.kind == Typed.JOIN:
            await self._join(command.arg)
        elif command.kind in MODERATION:
            answer = await moderation.run(self.session, self.room, command)
            if answer:
                self.ui.show(status(sanitize(answer)))
        elif command.kind in (Typed.SEND, Typed.GET):
            self._transfer(command)

    def _transfer(self, command: Command) -> None:
        """Start a /send or /get; it runs beside the chat and tells how it went."""
        files = self.files
        if files is None:
            self.ui.show(status("This server does not share files"))
            return
        send = command.kind == Typed.SEND
        what = f"send {sanitize(command.arg)}" if send else f"get file {command.arg}"

        async def run() -> None:
            # A line typed at once may come before the welcome and its token.
            await self._welcomed.wait()
            token, call = self.member_token, self.session.call
            if not token:
                self.ui.show(status("This server does not share files"))
                return
            try:
                if send:
                    await files.send(call, token, command.arg)
                else:
                    file_id = int(command.arg)
                    await files.get(call, token, file_id, command.text, command.overwrite)
            except TransferFailed as err:
                self.ui.show(status(str(err)))
            except ChatError as err:
                self.ui.show(status(f"Cannot {what}: {err.reason}"))

        task = asyncio.create_task(run(), name=f"/{command.kind.value}")
        self._transfers.add(task)
        task.add_done_callback(self._transfers.discard)

    async def _transfers_done(self) -> None:
        """Wait for the transfers in flight: a file on its way is shared before leaving."""
        if self._transfers:
            await asyncio.gather(*self._transfers, return_exceptions=True)

    async def _join(self, room: str) -> None:
        """Move to `room`: open a stream there first and wait for its welcome, so that a room
        the server refuses leaves the user where they were; then leave this room (its members
        see the leave at once) and go on in the new one, afresh.
        """
        if room == self.room:
            self.ui.show(status(f"You are in room {sanitize(room)} already"))
            return
        if not all(" " <= ch <= "~" for ch in room):
            self.ui.show(status(f"Cannot join {sanitize(room)}: room names are printable ASCII"))
            return
        if self.outbox.peek() is not None:
            self.ui.show(
                status(
                    f"Cannot join {room} yet: lines typed while disconnected are still being sent"
                )
            )
            return
        if self.open_room is None:
            self.ui.show(status("Cannot change rooms in this session"))
            return
        session = self.open_room(room)
        try:
            await session.open()
            messages = session.messages()
            async with asyncio.timeout(self.reconnect_timeout):
                welcome = await anext(messages)
        except (ChatError, TimeoutError, StopAsyncIteration) as err:
            await session.close()
            reason = err.reason if isinstance(err, ChatError) else "no welcome from the server"
            self.ui.show(status(f"Cannot join {room}: {reason}"))
            return
        except BaseException:
            await session.close()
            raise
        self._moved.clear()
        self._moving = Moving(session, messages, welcome)
        await self.session.leave()
        try:
            async with asyncio.timeout(self.leave_timeout):
                await self._moved.wait()
        except TimeoutError:
            # The server did not end the old stream in time: end it here.
            await self.session.close()
            await self._moved.wait()

    async def _move(self) -> chat_pb2.ChatMessage:
        """Go on with the stream of the room just joined; return its welcome.

        The resume token, what was shown and the held history start were the old room's:
        resuming or skipping repeats with them would join the wrong room or hide the new
        room's history. The lines sent in the old room arrived: the server handled the leave
        after them.
        """
        assert self._moving is not None
        moving, self._moving = self._moving, None
        await self.session.close()
        self.session, self._messages = moving.session, moving.messages
        self.room = moving.session.room
        self.seen = SeenFilter()
        self.resume_token = None
        self._held_history = None
        self.outbox.settled()
        self._moved.set()
        return moving.welcome

    # ---- the streams --------------------------------------------------------------------

    async def _link(self) -> None:
        """Carry the conversation across streams until we leave or one cannot be replaced."""
        first: chat_pb2.ChatMessage | None = None
        moved = False
        while True:
            try:
                await self._stream(first, moved=moved)
                if self._moving is None:
                    return  # we left, or nobody reads our output any more
            except ChatError as err:
                if self._moving is None and (
                    self._leaving or self.connect is None or not err.retry
                ):
                    raise
                lost = err
            if self._moving is not None:
                # The user joined another room: how the old stream ended no longer matters.
                first, moved = await self._move(), True
                continue
            moved = False
            self.connected = False
            self._lost.set()
            self.outbox.lost(numbered=bool(self.seen.epoch))
            self._held_history = None
            await self.session.close()
            self.ui.show(status(f"Connection lost ({lost.reason}); reconnecting..."))
            first = await self._reconnect(lost)

    async def _stream(self, first: chat_pb2.ChatMessage | None, *, moved: bool = False) -> None:
        """Show and send on the current stream until it ends (ChatError) or we left.

        `first` is the welcome of a reconnect, or with `moved` of a room just joined.
        """
        if first is not None:
            self._receive_one(first, welcome=True)
            if not moved:
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
            session.room = self.room  # the last /join's, if any
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
        if msg.room:
            self.room = msg.room  # as the server names it
        if msg.member_token:
            self.member_token = msg.member_token
        self._welcomed.set()
        if welcome:
            # A server that cannot resume sends no credential: do not offer a stale one.
            self.resume_token = msg.resume_token or None
        elif msg.kind == Kind.KIND_SYSTEM and msg.resume_token:
            self.resume_token = msg.resume_token
        if not self.seen.admit(msg):
            return
        if msg.kind == Kind.KIND_REFUSED and self.outbox.is_own(msg.client_msg_id):
            # Not relayed (a mute): not to be sent again either; shown below.
            self.outbox.arrived(msg.client_msg_id)
        elif msg.kind in _OWN_KINDS and self.outbox.is_own(msg.client_msg_id):
            # It has arrived. Replayed after a reconnect, the user saw it when typing it; the
            # echo of a private message is the one way it is shown.
            self.outbox.arrived(msg.client_msg_id)
            if msg.kind != Kind.KIND_PRIVATE:
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
            if not await self.session.send(
                line.text, line.client_msg_id, kind=line.kind, recipient=line.recipient
            ):
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
    open_room: OpenRoom | None = None,
    files: Files | None = None,
) -> None:
    """Chat on the open `session` until the user leaves (returns) or it must end (ChatError).

    With `connect`, a lost stream is replaced; with `open_room`, /join moves to another room
    (see `Conversation`).
    """
    conversation = Conversation(
        session,
        ui,
        connect=connect,
        backoff=backoff,
        leave_timeout=leave_timeout,
        sleep=sleep,
        pace=pace,
        open_room=open_room,
        files=files,
    )
    await conversation.run(stop)
