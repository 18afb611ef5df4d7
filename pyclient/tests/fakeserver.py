"""A small in-process ChatService that behaves like the protocol doc says, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
from polychat.chat import chat_pb2, chat_pb2_grpc

Kind = chat_pb2.ChatMessage.Kind


@dataclass
class Member:
    name: str
    room: str
    metadata: dict[str, str]
    outbox: asyncio.Queue[chat_pb2.ChatMessage | None] = field(default_factory=asyncio.Queue)
    abort: tuple[grpc.StatusCode, str] | None = None


class FakeChat(chat_pb2_grpc.ChatServiceServicer):
    """Rooms with join/leave notices and no echo; records what clients send."""

    def __init__(self) -> None:
        self.members: list[Member] = []
        self.received: asyncio.Queue[tuple[str, chat_pb2.ChatMessage]] = asyncio.Queue()
        self.joined: asyncio.Queue[Member] = asyncio.Queue()
        self.left: asyncio.Queue[str] = asyncio.Queue()
        self._count = 0
        self._next_id = 0

    def notice(self, kind: int, text: str, room: str = "general") -> chat_pb2.ChatMessage:
        self._next_id += 1
        msg = chat_pb2.ChatMessage(
            user="system",
            message=text,
            timestamp=int(time.time()),
            room=room,
            kind=kind,
            id=self._next_id,
        )
        msg.sent_at.GetCurrentTime()
        return msg

    def broadcast(self, msg: chat_pb2.ChatMessage, *, exclude: Member | None = None) -> None:
        for m in self.members:
            if m is not exclude and m.room == (msg.room or "general"):
                m.outbox.put_nowait(msg)

    def end(self, member: Member, code: grpc.StatusCode | None = None, details: str = "") -> None:
        """End a member's stream: with OK (code None) or with an error status."""
        if code is not None:
            member.abort = (code, details)
        member.outbox.put_nowait(None)

    async def ChatStream(
        self,
        request_iterator: AsyncIterator[chat_pb2.ChatMessage],
        context: grpc.aio.ServicerContext,
    ) -> None:
        md = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        self._count += 1
        room = md.get("chat-room") or "general"
        member = Member(md.get("chat-user") or f"Client({self._count})", room, md)
        self.members.append(member)
        await context.write(
            self.notice(Kind.KIND_SYSTEM, f"Welcome, {member.name}! You are in room {room}.", room)
        )
        self.broadcast(
            self.notice(Kind.KIND_JOIN, f"{member.name} joined the room", room), exclude=member
        )
        self.joined.put_nowait(member)

        async def pump() -> None:
            while True:
                req = await context.read()
                if req is grpc.aio.EOF:
                    return  # half-closed: the member keeps listening
                if req.kind == Kind.KIND_LEAVE:
                    member.outbox.put_nowait(None)
                    return
                await self.received.put((member.name, req))
                if req.message.strip():
                    self._next_id += 1
                    out = chat_pb2.ChatMessage()
                    out.CopyFrom(req)
                    out.user, out.room, out.kind, out.id = (
                        member.name,
                        room,
                        Kind.KIND_TEXT,
                        self._next_id,
                    )
                    self.broadcast(out, exclude=member)

        reader = asyncio.create_task(pump())
        try:
            while (msg := await member.outbox.get()) is not None:
                await context.write(msg)
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            self.members.remove(member)
            self.broadcast(self.notice(Kind.KIND_LEAVE, f"{member.name} left the room", room))
            self.left.put_nowait(member.name)
        if member.abort is not None:
            await context.abort(*member.abort)


@contextlib.asynccontextmanager
async def running_fake() -> AsyncIterator[tuple[FakeChat, int, grpc.aio.Server]]:
    fake = FakeChat()
    server = grpc.aio.server()
    chat_pb2_grpc.add_ChatServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield fake, port, server
    finally:
        await server.stop(None)
