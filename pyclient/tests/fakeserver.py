"""A small in-process ChatService that behaves like the protocol doc says, for tests.

Also a fake AuthService (Login only) and a chat server that, like the Go server started with
`-auth-addr`, wants a valid `authorization: Bearer <token>` and names the member after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
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

    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        # token -> username; when set, a stream without a valid token is UNAUTHENTICATED.
        self.tokens = tokens
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
        name = md.get("chat-user") or f"Client({self._count})"
        if self.tokens is not None:
            scheme, _, token = md.get("authorization", "").partition(" ")
            if scheme != "Bearer" or token not in self.tokens:
                await context.abort(
                    grpc.StatusCode.UNAUTHENTICATED, "invalid or expired session token"
                )
            name = self.tokens[token]
        member = Member(name, room, md)
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


class FakeAuth(auth_pb2_grpc.AuthServiceServicer):
    """Login against a fixed table of users; every successful login gets a new token.

    Logout ends a session (its token no longer works) and records it.
    """

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.tokens: dict[str, str] = {}  # token -> username, shared with a FakeChat
        self.logins: list[str] = []
        self.logouts: asyncio.Queue[str] = asyncio.Queue()

    async def Login(
        self, request: auth_pb2.LoginRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.LoginResponse:
        self.logins.append(request.username)
        if self.users.get(request.username) != request.password:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid username or password")
        token = f"tok-{len(self.tokens) + 1}-{request.username}"
        self.tokens[token] = request.username
        return auth_pb2.LoginResponse(
            session_id=token, message="Login successful", username=request.username
        )

    async def Logout(
        self, request: auth_pb2.LogoutRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.LogoutResponse:
        self.tokens.pop(request.session_id, None)
        self.logouts.put_nowait(request.session_id)
        return auth_pb2.LogoutResponse(message="Logout successful")


def _listen(server: grpc.aio.Server, credentials: grpc.ServerCredentials | None) -> int:
    if credentials is None:
        return server.add_insecure_port("127.0.0.1:0")
    return server.add_secure_port("127.0.0.1:0", credentials)


@contextlib.asynccontextmanager
async def running_fake(
    credentials: grpc.ServerCredentials | None = None, tokens: dict[str, str] | None = None
) -> AsyncIterator[tuple[FakeChat, int, grpc.aio.Server]]:
    """A FakeChat on 127.0.0.1 (TLS when `credentials` are given; tokens checked if given)."""
    fake = FakeChat(tokens)
    server = grpc.aio.server()
    chat_pb2_grpc.add_ChatServiceServicer_to_server(fake, server)
    port = _listen(server, credentials)
    await server.start()
    try:
        yield fake, port, server
    finally:
        await server.stop(None)


@contextlib.asynccontextmanager
async def running_auth(
    users: dict[str, str], credentials: grpc.ServerCredentials | None = None
) -> AsyncIterator[tuple[FakeAuth, int]]:
    fake = FakeAuth(users)
    server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(fake, server)
    port = _listen(server, credentials)
    await server.start()
    try:
        yield fake, port
    finally:
        await server.stop(None)
