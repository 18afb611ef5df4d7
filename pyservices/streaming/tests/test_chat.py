"""Chat: names in joining order, notices, broadcast to others, slow members dropped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from polychat.streaming.v1 import streaming_pb2

from pyservices.streaming.tests.conftest import Harness, StartStreaming

Kind = streaming_pb2.ChatResponse.Kind
TIMEOUT = 10.0


class Outbox:
    """Lets a test send chat lines on a stream whenever it wants."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()

    async def requests(self) -> AsyncIterator[streaming_pb2.ChatRequest]:
        while (text := await self.queue.get()) is not None:
            yield streaming_pb2.ChatRequest(message=text)

    def send(self, text: str) -> None:
        self.queue.put_nowait(text)

    def close(self) -> None:
        self.queue.put_nowait(None)


async def next_event(call: grpc.aio.StreamStreamCall) -> streaming_pb2.ChatResponse:
    return await asyncio.wait_for(call.read(), TIMEOUT)


async def test_members_are_numbered_and_hear_each_other(streaming: Harness) -> None:
    a_out, b_out = Outbox(), Outbox()
    a = streaming.stub.Chat(a_out.requests())
    first = await next_event(a)
    assert (first.user, first.kind) == ("Client(1)", Kind.KIND_JOIN)
    assert first.message == "Client(1) has joined the chat"
    assert first.timestamp.seconds > 0

    b = streaming.stub.Chat(b_out.requests())
    assert (await next_event(b)).user == "Client(2)"
    joined = await next_event(a)
    assert (joined.kind, joined.message) == (Kind.KIND_JOIN, "Client(2) has joined the chat")

    a_out.send("Hello everyone!")
    got = await next_event(b)
    assert (got.user, got.message, got.kind) == ("Client(1)", "Hello everyone!", Kind.KIND_TEXT)
    b_out.send("Hi there!")
    got = await next_event(a)
    assert (got.user, got.message) == ("Client(2)", "Hi there!")

    # Closing the sending side leaves the chat; the other member is told.
    a_out.close()
    assert await asyncio.wait_for(a.code(), TIMEOUT) == grpc.StatusCode.OK
    left = await next_event(b)
    assert (left.kind, left.message) == (Kind.KIND_LEAVE, "Client(1) has left the chat")
    b.cancel()


async def test_cancelled_member_leaves(streaming: Harness) -> None:
    a_out = Outbox()
    a = streaming.stub.Chat(a_out.requests())
    await next_event(a)
    b = streaming.stub.Chat(Outbox().requests())
    await next_event(b)
    await next_event(a)  # b joined
    b.cancel()
    left = await next_event(a)
    assert (left.user, left.kind) == ("Client(2)", Kind.KIND_LEAVE)
    a.cancel()


async def test_too_long_message_is_refused_to_the_sender_only(streaming: Harness) -> None:
    a_out = Outbox()
    a = streaming.stub.Chat(a_out.requests())
    await next_event(a)
    a_out.send("x" * 5000)
    notice = await next_event(a)
    assert notice.kind == Kind.KIND_SYSTEM
    assert "longer than 4096" in notice.message
    a.cancel()


@pytest.mark.timeout(60)
async def test_slow_member_is_dropped_and_others_keep_receiving(
    start_streaming: StartStreaming,
) -> None:
    harness = await start_streaming(chat_queue=4)
    stub = harness.stub
    slow_out, fast_out, talker_out = Outbox(), Outbox(), Outbox()
    slow = stub.Chat(slow_out.requests())
    assert (await next_event(slow)).user == "Client(1)"  # then never reads again
    fast = stub.Chat(fast_out.requests())
    assert (await next_event(fast)).user == "Client(2)"
    talker = stub.Chat(talker_out.requests())
    assert (await next_event(talker)).user == "Client(3)"

    # The talker sends big lines; the fast member reads each one. The slow
    # member's transport window, then its queue fill up, and it is dropped.
    line = "y" * 4000
    dropped_notice = None
    sent = 0
    while dropped_notice is None:
        assert sent < 5000, "slow member was never dropped"
        sent += 1
        talker_out.send(f"{sent} {line}")
        while True:
            event = await next_event(fast)
            if event.kind == Kind.KIND_TEXT:
                assert event.message.startswith(f"{sent} ")
                break
            if event.kind == Kind.KIND_LEAVE and event.user == "Client(1)":
                dropped_notice = event
    assert "too slow" in dropped_notice.message
    # The room goes on: the fast member still receives.
    talker_out.send("still here")
    while (event := await next_event(fast)).kind != Kind.KIND_TEXT:
        pass
    assert event.message == "still here"

    # The slow member, once it reads, finds RESOURCE_EXHAUSTED after its backlog.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async with asyncio.timeout(TIMEOUT):
            while await slow.read() is not grpc.aio.EOF:
                pass
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "did not keep up" in (info.value.details() or "")
    assert "Client(1)" not in harness.servicer.room.members()
    fast.cancel()
    talker.cancel()
