"""Riding out lost connections, against the fake server: the conversation reconnects with the
resume metadata, sends what was typed meanwhile once and in order, hides what it has shown,
stops on what retrying cannot fix, and leaves at once while reconnecting.

The backoff is tiny (or, where leaving must not wait for it, an hour); every step waits on
an event of the fake server or a line of the UI, never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from polychat.chat import chat_pb2

from pyclient.backoff import Backoff, BackoffPolicy
from pyclient.conversation import converse
from pyclient.pace import Pace
from pyclient.session import ChatError, ChatSession
from pyclient.tests.fakeserver import FakeChat, Member, running_fake
from pyclient.tests.test_retryinfo import retry_info, status_details
from pyclient.tests.test_session import ScriptedUI

WAIT = 10.0
TINY = BackoffPolicy(base=0.001, max_delay=0.02)
HOUR = BackoffPolicy(base=3600.0, max_delay=3600.0)


@dataclass
class Running:
    """A client conversing in a task, and what the test sees of it."""

    task: asyncio.Task[None]
    ui: ScriptedUI
    stop: asyncio.Event
    sleeps: list[float]
    sleeping: asyncio.Event  # set once a wait between attempts has begun

    async def shown(self) -> str:
        return await asyncio.wait_for(self.ui.shown.get(), WAIT)

    async def finish(self) -> None:
        await asyncio.wait_for(self.task, WAIT)

    async def leave(self) -> None:
        """End of input: the conversation ends."""
        self.ui.lines.put_nowait(None)
        await self.finish()

    async def lost(self) -> str:
        """The one "connection lost" line."""
        line = await self.shown()
        assert "] *** Connection lost (" in line and line.endswith("); reconnecting..."), line
        return line

    async def back(self, welcome: str = "Welcome back, Alice!") -> None:
        """The "reconnected" line, then the new stream's welcome."""
        assert (await self.shown()).endswith("] *** Reconnected")
        assert welcome in await self.shown()


@contextlib.asynccontextmanager
async def conversing(
    port: int,
    policy: BackoffPolicy = TINY,
    name: str = "Alice",
    reconnect: bool = True,
    reconnect_with: type[ChatSession] = ChatSession,
) -> AsyncIterator[Running]:
    def connect(token: str | None, resume_from: str | None) -> ChatSession:
        return reconnect_with(
            f"127.0.0.1:{port}",
            name,
            "general",
            connect_timeout=WAIT,
            resume_token=token,
            resume_from=resume_from,
        )

    sleeps: list[float] = []
    sleeping = asyncio.Event()

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        sleeping.set()
        await asyncio.sleep(seconds)

    session = ChatSession(f"127.0.0.1:{port}", name, "general", connect_timeout=WAIT)
    await session.open()
    ui, stop = ScriptedUI(), asyncio.Event()
    task = asyncio.create_task(
        converse(
            session,
            ui,
            stop,
            connect=connect if reconnect else None,
            # A clock that stands still: each wait is the schedule's, whatever attempts take.
            backoff=Backoff(policy, clock=lambda: 0.0, random=lambda: 0.5),
            pace=lambda: Pace(burst=1000),
            sleep=sleep,
        )
    )
    try:
        yield Running(task, ui, stop, sleeps, sleeping)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()


async def joined(fake: FakeChat, client: Running, name: str = "Alice") -> Member:
    """The client's first stream is open and welcomed; its metadata consumed."""
    assert (await client.shown()).endswith(f"*** Welcome, {name}! You are in room general.")
    await asyncio.wait_for(fake.attempts.get(), WAIT)
    return await asyncio.wait_for(fake.joined.get(), WAIT)


async def relayed(fake: FakeChat) -> tuple[str, str, str]:
    name, msg = await asyncio.wait_for(fake.relayed.get(), WAIT)
    return name, msg.message, msg.client_msg_id


async def test_reconnects_with_the_resume_metadata_and_keeps_its_name(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        assert "chat-resume-token" not in member.metadata
        assert "chat-resume-from" not in member.metadata
        fake.say("Bob", "one")
        fake.say("Bob", "two")
        assert await client.shown() == "[Bob]: one"
        assert await client.shown() == "[Bob]: two"

        fake.drop(member)
        assert (await client.shown()).endswith(
            "] *** Connection lost (connection closed); reconnecting..."
        )
        metadata = await asyncio.wait_for(fake.attempts.get(), WAIT)
        assert metadata["chat-resume-token"] == fake.issued[0]
        assert metadata["chat-resume-from"] == "e0:2"
        assert (metadata["chat-user"], metadata["chat-room"]) == ("Alice", "general")
        await client.back("*** Welcome back, Alice! You are in room general.")
        assert (await asyncio.wait_for(fake.joined.get(), WAIT)).name == "Alice"

        fake.say("Bob", "three")
        assert await client.shown() == "[Bob]: three"
        # Lost again: the new welcome's token is the one offered.
        fake.drop(fake.members[-1])
        await client.lost()
        metadata = await asyncio.wait_for(fake.attempts.get(), WAIT)
        assert metadata["chat-resume-token"] == fake.issued[1]
        assert metadata["chat-resume-from"] == "e0:3"
        await client.back()

        await client.leave()
    assert client.ui.shown.empty()


async def test_one_status_line_however_many_attempts(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        fake.refuse = (grpc.StatusCode.UNAVAILABLE, "starting up")
        fake.drop(member)
        await client.lost()
        for _ in range(5):
            await asyncio.wait_for(fake.attempts.get(), WAIT)
        assert client.ui.shown.empty()
        fake.refuse = None
        await client.back()
        assert client.ui.shown.empty()
        # The schedule started at once and grew: 1 ms, 1.6 ms, ... (no jitter here).
        assert client.sleeps[:3] == pytest.approx([0.001, 0.0016, 0.00256])
        client.ui.lines.put_nowait("/quit")
        await client.finish()


async def test_lines_typed_while_disconnected_are_pending_then_sent_once_in_order(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        client.ui.lines.put_nowait("before")
        assert (await relayed(fake))[:2] == ("Alice", "before")

        fake.refuse = (grpc.StatusCode.UNAVAILABLE, "starting up")
        fake.drop(member)
        await client.lost()
        for text in ("first", "second", "third"):
            client.ui.lines.put_nowait(text)
            assert await client.shown() == f"(pending) {text}"
        fake.refuse = None
        await client.back()
        got = [await relayed(fake) for _ in range(3)]
        assert [(name, text) for name, text, _ in got] == [
            ("Alice", "first"),
            ("Alice", "second"),
            ("Alice", "third"),
        ]
        assert len({msg_id for _, _, msg_id in got}) == 3

        client.ui.lines.put_nowait("after")
        assert (await relayed(fake))[1] == "after"
        await client.leave()
    # "before" may have been sent twice (the server has it once); nothing else went twice.
    assert fake.relayed.empty()
    # The replay brought back "before": it is ours, so it was not shown.
    assert client.ui.shown.empty()


async def test_a_line_cut_off_on_its_way_is_resent_with_its_id(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        await joined(fake, client)
        fake.swallow_next = True
        client.ui.lines.put_nowait("hello")
        _, cut = await asyncio.wait_for(fake.received.get(), WAIT)
        await client.lost()
        assert (await client.shown()).endswith("*** Reconnected")
        name, text, msg_id = await relayed(fake)
        assert (name, text, msg_id) == ("Alice", "hello", cut.client_msg_id)
        assert msg_id
        await client.leave()
    assert fake.relayed.empty()


async def test_the_pending_queue_is_bounded(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        fake.refuse = (grpc.StatusCode.UNAVAILABLE, "starting up")
        fake.drop(member)
        await client.lost()
        for n in range(100):
            client.ui.lines.put_nowait(f"line {n}")
            assert await client.shown() == f"(pending) line {n}"
        client.ui.lines.put_nowait("one too many")
        assert (await client.shown()).endswith(
            "*** Not sent: 100 lines are already waiting for the connection"
        )
        fake.refuse = None
        assert (await client.shown()).endswith("*** Reconnected")
        assert [(await relayed(fake))[1] for _ in range(100)] == [f"line {n}" for n in range(100)]
        await client.leave()
    assert fake.relayed.empty()


async def test_what_was_shown_is_not_shown_again(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    fake.replay_all = True  # a careless server: the client alone must hide the repeats
    async with conversing(port) as client:
        member = await joined(fake, client)
        fake.say("Bob", "one")
        assert await client.shown() == "[Bob]: one"
        client.ui.lines.put_nowait("mine")
        assert (await relayed(fake))[1] == "mine"
        fake.say("Bob", "two")
        assert await client.shown() == "[Bob]: two"
        notice = fake.notice(4, "Carol is now known as Caz")
        fake.broadcast(notice)
        assert (await client.shown()).endswith("*** Carol is now known as Caz")

        fake.drop(member)
        await client.lost()
        await client.back()
        fake.broadcast(notice)  # the same notice again
        fake.say("Bob", "three")
        # "one", "two" and our own "mine" came back in the replay; only "three" is new.
        assert await client.shown() == "[Bob]: three"
        await client.leave()
    assert client.ui.shown.empty()


async def test_a_new_epoch_starts_afresh(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        for n in range(3):
            fake.say("Bob", f"old {n}")
            assert await client.shown() == f"[Bob]: old {n}"
        # The store is replaced: new epoch, ids and seqs from 1 again.
        fake.epoch, fake.history, fake._next_id = "e1", {}, 0
        fake.keep(chat_pb2.ChatMessage(user="Bob", message="new 1", room="general"))
        fake.drop(member)
        await client.lost()
        metadata = await asyncio.wait_for(fake.attempts.get(), WAIT)
        assert metadata["chat-resume-from"] == "e0:3"
        await client.back()
        assert (await client.shown()).endswith(
            "*** The server's history was reset; showing recent messages"
        )
        assert await client.shown() == "--- Recent messages ---"
        assert await client.shown() == "[Bob]: new 1"  # id 1: not taken for an old one
        assert await client.shown() == "--- End of history ---"
        fake.drop(fake.members[-1])
        await client.lost()
        metadata = await asyncio.wait_for(fake.attempts.get(), WAIT)
        assert metadata["chat-resume-from"] == "e1:1"
        await client.leave()


async def test_a_history_block_of_messages_already_shown_is_left_out(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        fake.say("Bob", "one")
        assert await client.shown() == "[Bob]: one"
        # A server that answers a resume with its history block, as if it did not know how.
        fake.ignore_resume_from = True
        fake.drop(member)
        await client.lost()
        await client.back()
        fake.say("Bob", "two")
        assert await client.shown() == "[Bob]: two"
        await client.leave()
    assert client.ui.shown.empty()


async def test_an_older_server_gets_a_fresh_join_and_no_resends() -> None:
    # No epoch, no seq, no resume token: nothing says what arrived, so a line whose write
    # completed is not sent again, and the client asks for nothing it cannot name.
    fake = FakeChat(epoch="")
    fake.issue_tokens = False
    async with running_fake(fake=fake) as (_, port, _server), conversing(port) as client:
        member = await joined(fake, client)
        client.ui.lines.put_nowait("sent once")
        assert (await relayed(fake))[1] == "sent once"
        fake.drop(member)
        await client.lost()
        metadata = await asyncio.wait_for(fake.attempts.get(), WAIT)
        assert "chat-resume-token" not in metadata and "chat-resume-from" not in metadata
        await client.back("*** Welcome, Alice! You are in room general.")
        client.ui.lines.put_nowait("after")
        assert (await relayed(fake))[1] == "after"
        await client.leave()
    assert fake.relayed.empty()


FINAL = [
    (grpc.StatusCode.UNAUTHENTICATED, "session expired", "error: sign-in failed: session expired"),
    (grpc.StatusCode.INVALID_ARGUMENT, "bad resume-from", "disconnected: bad resume-from"),
    (grpc.StatusCode.PERMISSION_DENIED, "not your token", "disconnected: not your token"),
]


@pytest.mark.parametrize(("code", "details", "line"), FINAL)
async def test_stops_when_the_server_refuses_the_reconnect(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
    code: grpc.StatusCode,
    details: str,
    line: str,
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        fake.refuse = (code, details)
        fake.drop(member)
        await client.lost()
        with pytest.raises(ChatError) as exc:
            await client.finish()
        assert str(exc.value) == line
    await asyncio.wait_for(fake.attempts.get(), WAIT)
    assert fake.attempts.empty()  # one attempt, not one more


@pytest.mark.parametrize(("code", "details", "line"), FINAL)
async def test_stops_when_the_server_ends_the_stream_for_good(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
    code: grpc.StatusCode,
    details: str,
    line: str,
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        fake.end(member, code, details)
        with pytest.raises(ChatError) as exc:
            await client.finish()
        assert str(exc.value) == line
    assert fake.attempts.empty()
    assert client.ui.shown.empty()


@pytest.mark.parametrize(
    ("code", "details"),
    [
        (grpc.StatusCode.UNAVAILABLE, "Server is shutting down"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "client is not reading fast enough; disconnected"),
        (grpc.StatusCode.INTERNAL, "oops"),
        (None, ""),
    ],
)
async def test_other_endings_reconnect(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
    code: grpc.StatusCode | None,
    details: str,
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        fake.end(member, code, details)
        reason = details or "server closed the stream"
        assert f"*** Connection lost ({reason}); reconnecting..." in await client.lost()
        await client.back()
        await client.leave()


@pytest.mark.parametrize(("stated", "waited"), [(0.05, 0.05), (0.0, TINY.base)])
async def test_a_rate_limit_disconnect_waits_the_stated_time_or_the_backoff(
    fake_server: tuple[FakeChat, int, grpc.aio.Server], stated: float, waited: float
) -> None:
    fake, port, _ = fake_server
    async with conversing(port) as client:
        member = await joined(fake, client)
        if stated:
            details = status_details(retry_info(0, int(stated * 1e9)))
            fake.trailers = (("grpc-status-details-bin", details),)
        fake.end(member, grpc.StatusCode.RESOURCE_EXHAUSTED, "sending too fast")
        assert "Connection lost (sending too fast)" in await client.lost()
        await client.back()
        # Not at once, as after other losses: the server's wait, else one step of backoff.
        assert client.sleeps == [pytest.approx(waited)]
        await client.leave()


@pytest.mark.parametrize("leave", [None, "/quit", "stop"])
async def test_leaving_while_reconnecting_is_at_once(
    fake_server: tuple[FakeChat, int, grpc.aio.Server], leave: str | None
) -> None:
    fake, port, _ = fake_server
    async with conversing(port, policy=HOUR) as client:
        member = await joined(fake, client)
        fake.refuse = (grpc.StatusCode.UNAVAILABLE, "starting up")
        fake.drop(member)
        await client.lost()
        await asyncio.wait_for(client.sleeping.wait(), WAIT)  # refused: the next in an hour
        client.ui.lines.put_nowait("unsent")
        assert await client.shown() == "(pending) unsent"
        if leave == "stop":
            client.stop.set()
        else:
            client.ui.lines.put_nowait(leave)
        await client.finish()
        assert (await client.shown()).endswith("*** 1 line typed while disconnected was not sent")
        assert client.sleeps == [3600.0]
    assert fake.received.empty()


class CancelSwallowingSession(ChatSession):
    """A session whose open() turns its cancellation into a retryable ChatError, as a
    grpc.aio call cancelled mid-read can (it ends with its CANCELLED status instead)."""

    opening: asyncio.Event

    async def open(self) -> None:
        CancelSwallowingSession.opening.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise ChatError("disconnected: cancelled", retry=True, reason="cancelled") from None


async def test_leaving_during_an_attempt_that_swallows_the_cancel_is_at_once(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    CancelSwallowingSession.opening = asyncio.Event()
    async with conversing(port, policy=HOUR, reconnect_with=CancelSwallowingSession) as client:
        member = await joined(fake, client)
        fake.drop(member)
        await client.lost()
        await asyncio.wait_for(CancelSwallowingSession.opening.wait(), WAIT)
        await client.leave()  # without the fix: waits an hour for the next attempt
        assert client.sleeps == []


async def test_without_reconnecting_a_lost_stream_ends_the_chat(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with conversing(port, reconnect=False) as client:
        member = await joined(fake, client)
        fake.drop(member)
        with pytest.raises(ChatError) as exc:
            await client.finish()
        assert str(exc.value).startswith("error: lost connection to chat server at 127.0.0.1:")
    assert fake.attempts.empty()
    assert client.ui.shown.empty()


async def test_lines_typed_while_disconnected_go_out_paced(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    waits: list[float] = []
    now = [0.0]

    async def record(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    session = ChatSession(f"127.0.0.1:{port}", "Alice", "general", connect_timeout=WAIT)
    await session.open()
    ui, stop = ScriptedUI(), asyncio.Event()

    def connect(token: str | None, resume_from: str | None) -> ChatSession:
        return ChatSession(
            f"127.0.0.1:{port}", "Alice", "general", resume_token=token, resume_from=resume_from
        )

    task = asyncio.create_task(
        converse(
            session,
            ui,
            stop,
            connect=connect,
            backoff=Backoff(TINY),
            # A burst of one, then one line a second (the waits are recorded, not slept).
            pace=lambda: Pace(burst=1, rate=1, clock=lambda: now[0], sleep=record),
        )
    )
    try:
        await asyncio.wait_for(ui.shown.get(), WAIT)
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        ui.lines.put_nowait("typed live")
        assert (await relayed(fake))[1] == "typed live"
        fake.refuse = (grpc.StatusCode.UNAVAILABLE, "starting up")
        fake.drop(member)
        assert "Connection lost" in await asyncio.wait_for(ui.shown.get(), WAIT)
        for text in ("a", "b", "c"):
            ui.lines.put_nowait(text)
            assert await asyncio.wait_for(ui.shown.get(), WAIT) == f"(pending) {text}"
        fake.refuse = None
        # "typed live" again (resumed, so the server drops it), then a, b, c: three waits.
        assert [(await relayed(fake))[1] for _ in range(3)] == ["a", "b", "c"]
        assert waits == [1.0, 1.0, 1.0]
        ui.lines.put_nowait(None)
        await asyncio.wait_for(task, WAIT)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()
