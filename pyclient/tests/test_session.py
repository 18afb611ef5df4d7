from __future__ import annotations

import asyncio

import grpc
import pytest
from polychat.chat import chat_pb2

from pyclient.conversation import converse
from pyclient.session import ChatError, ChatSession
from pyclient.tests.fakeserver import FakeChat

Kind = chat_pb2.ChatMessage.Kind
WAIT = 5.0


async def test_session_sends_metadata_and_text_and_receives(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    session = ChatSession(f"127.0.0.1:{port}", "Alice", "dev")
    await session.open()
    try:
        messages = session.messages()
        welcome = await asyncio.wait_for(anext(messages), WAIT)
        assert welcome.kind == Kind.KIND_SYSTEM
        assert welcome.message == "Welcome, Alice! You are in room dev."
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        assert member.metadata["chat-user"] == "Alice"
        assert member.metadata["chat-room"] == "dev"

        assert await session.send("Hello everyone!")
        name, sent = await asyncio.wait_for(fake.received.get(), WAIT)
        assert name == "Alice"
        assert (sent.user, sent.message, sent.room) == ("Alice", "Hello everyone!", "dev")
        assert sent.kind == Kind.KIND_TEXT
        assert sent.timestamp > 0 and sent.client_sent_at.seconds > 0
        assert sent.id == 0

        fake.broadcast(chat_pb2.ChatMessage(user="Bob", message="Hi", room="dev", kind=1))
        got = await asyncio.wait_for(anext(messages), WAIT)
        assert (got.user, got.message) == ("Bob", "Hi")

        await session.leave()
        rest = [m async for m in messages]  # ends quietly once the server ends the stream
        assert rest == []
        assert await asyncio.wait_for(fake.left.get(), WAIT) == "Alice"
    finally:
        await session.close()


class OneWriteAtATime:
    """A stand-in for the stream call that, like gRPC, refuses a write while one is in flight."""

    def __init__(self) -> None:
        self.written: list[chat_pb2.ChatMessage] = []
        self.in_flight = asyncio.Event()
        self.release = asyncio.Event()
        self.done_writing_called = False

    async def write(self, msg: chat_pb2.ChatMessage) -> None:
        if self.in_flight.is_set():
            raise asyncio.InvalidStateError("too many operations")
        self.in_flight.set()
        await self.release.wait()
        self.written.append(msg)
        self.in_flight.clear()

    async def done_writing(self) -> None:
        self.done_writing_called = True


async def test_leave_while_a_message_is_being_sent_still_leaves() -> None:
    # Ctrl+C can come while a line is on its way: the leave waits for it instead of being lost.
    session = ChatSession("127.0.0.1:1", "Alice", "general")
    call = OneWriteAtATime()
    session._call = call  # type: ignore[assignment]
    send = asyncio.create_task(session.send("last words"))
    await asyncio.wait_for(call.in_flight.wait(), WAIT)
    leave = asyncio.create_task(session.leave())
    await asyncio.sleep(0)  # one turn of the loop: the leave runs up to its first wait
    call.release.set()
    assert await asyncio.wait_for(send, WAIT)
    await asyncio.wait_for(leave, WAIT)
    assert [(m.kind, m.message) for m in call.written] == [
        (Kind.KIND_TEXT, "last words"),
        (Kind.KIND_LEAVE, ""),
    ]
    assert call.done_writing_called


async def test_no_name_sends_no_user_metadata(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    session = ChatSession(f"127.0.0.1:{port}", None, "general")
    await session.open()
    try:
        welcome = await asyncio.wait_for(anext(session.messages()), WAIT)
        assert welcome.message == "Welcome, Client(1)! You are in room general."
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        assert "chat-user" not in member.metadata
    finally:
        await session.close()


async def test_non_ascii_name_goes_in_the_user_field(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    session = ChatSession(f"127.0.0.1:{port}", "José", "general")
    await session.open()
    try:
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        assert "chat-user" not in member.metadata
        assert await session.send("olá")
        _, sent = await asyncio.wait_for(fake.received.get(), WAIT)
        assert sent.user == "José"
    finally:
        await session.close()


@pytest.mark.parametrize(
    ("code", "details", "line"),
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "too slow", "disconnected: too slow"),
        (grpc.StatusCode.INVALID_ARGUMENT, "bad\x1b", "disconnected: bad\\x1b"),
        (
            grpc.StatusCode.UNAVAILABLE,
            "server is shutting down",
            "disconnected: server is shutting down",
        ),
        (None, "", "disconnected: server closed the stream"),
    ],
)
async def test_server_ending_the_stream_is_one_line(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
    code: grpc.StatusCode | None,
    details: str,
    line: str,
) -> None:
    fake, port, _ = fake_server
    session = ChatSession(f"127.0.0.1:{port}", "Alice", "general")
    await session.open()
    try:
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        fake.end(member, code, details)
        with pytest.raises(ChatError) as exc:
            async for _ in session.messages():
                pass
        assert str(exc.value) == line
    finally:
        await session.close()


async def test_unreachable_server() -> None:
    session = ChatSession("127.0.0.1:1", "Alice", "general", connect_timeout=5)
    try:
        with pytest.raises(ChatError) as exc:
            await session.open()
        assert str(exc.value).startswith("error: cannot reach chat server at 127.0.0.1:1: ")
    finally:
        await session.close()


class ScriptedUI:
    """A UI fed from a queue, recording what is shown."""

    output_closed = False

    def __init__(self) -> None:
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.shown: asyncio.Queue[str] = asyncio.Queue()

    def show(self, line: str) -> None:
        self.shown.put_nowait(line)

    async def read_line(self) -> str | None:
        return await self.lines.get()


@pytest.mark.parametrize("leave", ["/quit", "/exit", "/q", None, "stop"])
async def test_converse_leaves_cleanly(
    fake_server: tuple[FakeChat, int, grpc.aio.Server], leave: str | None
) -> None:
    fake, port, _ = fake_server
    session = ChatSession(f"127.0.0.1:{port}", "Alice", "general")
    await session.open()
    ui = ScriptedUI()
    stop = asyncio.Event()
    try:
        task = asyncio.create_task(converse(session, ui, stop))
        assert "Welcome, Alice!" in await asyncio.wait_for(ui.shown.get(), WAIT)
        for line in ["", "   ", "hello"]:
            ui.lines.put_nowait(line)
        _, sent = await asyncio.wait_for(fake.received.get(), WAIT)
        assert sent.message == "hello"  # the empty lines were not sent
        if leave == "stop":
            stop.set()
        else:
            ui.lines.put_nowait(leave)
        await asyncio.wait_for(task, WAIT)
        assert await asyncio.wait_for(fake.left.get(), WAIT) == "Alice"
        assert fake.received.empty()
    finally:
        await session.close()
