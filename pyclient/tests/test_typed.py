"""Typed commands in a conversation, against the fake server: what is sent, what is answered
locally, and /join moving between rooms, resuming in the room it moved to.

Every step waits on an event of the fake server or a line of the UI, never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
from polychat.chat import chat_pb2

from pyclient.backoff import Backoff
from pyclient.commands import FILE_HELP_LINES, HELP_LINES
from pyclient.conversation import converse
from pyclient.pace import Pace
from pyclient.render import INDENT
from pyclient.session import ChatSession
from pyclient.tests.fakeserver import FakeChat, running_fake
from pyclient.tests.test_reconnect import TINY, WAIT, Running, joined
from pyclient.tests.test_session import ScriptedUI

Kind = chat_pb2.ChatMessage.Kind


@contextlib.asynccontextmanager
async def chatting(port: int, token: str | None = None) -> AsyncIterator[Running]:
    """Alice in room general, reconnecting, able to /join."""
    target = f"127.0.0.1:{port}"

    def session_for(
        room: str, resume_token: str | None = None, resume_from: str | None = None
    ) -> ChatSession:
        return ChatSession(
            target,
            "Alice",
            room,
            connect_timeout=WAIT,
            token=token,
            resume_token=resume_token,
            resume_from=resume_from,
        )

    session = session_for("general")
    await session.open()
    ui, stop = ScriptedUI(), asyncio.Event()
    task = asyncio.create_task(
        converse(
            session,
            ui,
            stop,
            connect=lambda tok, frm: session_for("general", tok, frm),
            open_room=session_for,
            backoff=Backoff(TINY, clock=lambda: 0.0, random=lambda: 0.5),
            pace=lambda: Pace(burst=1000),
        )
    )
    try:
        yield Running(task, ui, stop, [], asyncio.Event())
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()


async def received(fake: FakeChat) -> chat_pb2.ChatMessage:
    return (await asyncio.wait_for(fake.received.get(), WAIT))[1]


async def test_local_commands_send_nothing(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with chatting(port) as client:
        await joined(fake, client)
        for line, reply in [
            ("/x", "*** unknown command /x; /help lists them"),
            ("/join", "*** usage: /join ROOM"),
            ("/msg Bob", "*** usage: /msg NAME TEXT"),
            ("/\x1b[2J", "*** unknown command /\\x1b[2J; /help lists them"),
            ("/help", "*** " + f"\n{INDENT}".join(HELP_LINES + FILE_HELP_LINES)),
            # The fake server gives no member_token: it shares no files.
            ("/send x.txt", "*** This server does not share files"),
        ]:
            client.ui.lines.put_nowait(line)
            assert (await client.shown()).endswith(reply)
        client.ui.lines.put_nowait("//who")
        sent = await received(fake)
        assert (sent.kind, sent.message) == (Kind.KIND_TEXT, "/who")
        client.ui.lines.put_nowait("/QUIT")
        await client.finish()
    assert fake.received.empty()


async def test_action_and_private_message(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with chatting(port) as client:
        await joined(fake, client)
        fake.say("Bob", "hi")  # Bob is not connected: a private message to him is refused
        assert await client.shown() == "[Bob]: hi"
        client.ui.lines.put_nowait("/me waves")
        action = await received(fake)
        assert (action.kind, action.message, action.recipient) == (Kind.KIND_ACTION, "waves", "")
        client.ui.lines.put_nowait("/msg Bob psst")
        private = await received(fake)
        assert (private.kind, private.message, private.recipient) == (
            Kind.KIND_PRIVATE,
            "psst",
            "Bob",
        )
        assert (await client.shown()).endswith(
            '*** Nobody named "Bob" is in room general; the private message was not sent'
        )
        # To oneself: the echo of one's own private message is shown, one's action is not.
        client.ui.lines.put_nowait('/msg "Alice" note\tto self')
        await received(fake)
        assert await client.shown() == "[private to Alice] note\\x09to self"
        await client.leave()


async def test_who_and_rooms_ask_the_server_with_the_token() -> None:
    async with running_fake(tokens={"tok": "Alice"}) as (fake, port, _):
        async with chatting(port, token="tok") as client:
            await joined(fake, client)
            client.ui.lines.put_nowait("/who")
            assert (await client.shown()).endswith("*** 1 member in room general: Alice")
            client.ui.lines.put_nowait("/who red")
            assert (await client.shown()).endswith("*** Nobody is in room red")
            client.ui.lines.put_nowait("/rooms")
            assert (await client.shown()).endswith("*** 1 room: general (1)")
            assert [md.get("authorization") for md in fake.presence_calls] == ["Bearer tok"] * 3
            await client.leave()


async def test_join_moves_and_resumes_in_the_new_room(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    fake.history_on_join = True
    for n in range(3):
        fake.say("Bob", f"general {n}")  # general's seqs run ahead of red's
    fake.say("Dave", "in red", room="red")
    async with chatting(port) as client:
        old = await joined(fake, client)
        assert await client.shown() == "--- Recent messages ---"
        for n in range(3):
            assert await client.shown() == f"[Bob]: general {n}"
        assert await client.shown() == "--- End of history ---"
        client.ui.lines.put_nowait("/join red")
        metadata = await asyncio.wait_for(fake.attempts.get(), WAIT)
        assert metadata["chat-room"] == "red"
        assert "chat-resume-token" not in metadata and "chat-resume-from" not in metadata
        assert (await client.shown()).endswith("*** Welcome, Alice! You are in room red.")
        # The old room was left, cleanly.
        assert await asyncio.wait_for(fake.left.get(), WAIT) == old.name
        assert old not in fake.members
        assert await client.shown() == "--- Recent messages ---"
        assert await client.shown() == "[Dave]: in red"
        assert await client.shown() == "--- End of history ---"

        client.ui.lines.put_nowait("hello red")
        sent = await received(fake)
        assert (sent.message, sent.room) == ("hello red", "red")

        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        assert member.room == "red"
        red_token = fake.issued[-1]
        fake.drop(member)
        await client.lost()
        metadata = await asyncio.wait_for(fake.attempts.get(), WAIT)
        assert metadata["chat-room"] == "red"
        assert metadata["chat-resume-token"] == red_token
        assert metadata["chat-resume-from"] == f"{fake.epoch}:1"  # red's, not general's 3
        await client.back("*** Welcome back, Alice! You are in room red.")
        client.ui.lines.put_nowait("/join red")
        assert (await client.shown()).endswith("*** You are in room red already")
        await client.leave()


async def test_a_refused_join_stays_in_the_room(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with chatting(port) as client:
        await joined(fake, client)
        fake.refuse = (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "the server has as many rooms as it allows",
        )
        client.ui.lines.put_nowait("/join crowded")
        assert (await client.shown()).endswith(
            "*** Cannot join crowded: the server has as many rooms as it allows"
        )
        fake.refuse = None
        client.ui.lines.put_nowait("/join café")
        assert (await client.shown()).endswith(
            "*** Cannot join café: room names are printable ASCII"
        )
        client.ui.lines.put_nowait("still here")
        sent = await received(fake)
        assert (sent.message, sent.room) == ("still here", "general")
        await client.leave()


async def test_commands_while_disconnected(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with chatting(port) as client:
        member = await joined(fake, client)
        fake.refuse = (grpc.StatusCode.UNAVAILABLE, "starting up")
        fake.drop(member)
        await client.lost()
        for line, reply in [
            ("/who", "*** Not connected; try /who again once reconnected"),
            ("/join red", "*** Not connected; try /join again once reconnected"),
            ("/me waits", "(pending) /me waits"),
            ("/nope", "*** unknown command /nope; /help lists them"),
        ]:
            client.ui.lines.put_nowait(line)
            assert (await client.shown()).endswith(reply)
        fake.refuse = None
        assert (await client.shown()).endswith("*** Reconnected")
        sent = await received(fake)
        assert (sent.kind, sent.message) == (Kind.KIND_ACTION, "waits")
        await client.leave()
