"""A small in-process ChatService that behaves like the protocol doc says, for tests.

Also a fake AuthService (Login only) and a chat server that, like the Go server started with
`-auth-server`, wants a valid `authorization: Bearer <token>` and names the member after it.

Resuming, as docs/chat-protocol.md describes it: every message carries the fake's epoch, text
messages get a per-room seq and are kept, the welcome carries a resume token that gives a
reconnecting member its name back (`resumed`), `chat-resume-from` with the current epoch
replays the texts after the given seq (another epoch: a reset notice and the history block),
and a client_msg_id is relayed once per member. Tests can refuse new streams, drop a stream,
or swallow a text as if the connection broke while it was on its way. Actions are relayed and
kept like text, private messages go to their recipient and back to the sender, and
ListMembers and ListRooms answer from the members connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
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
    # The client_msg_ids relayed for this membership (kept across a resume).
    relayed_ids: set[str] = field(default_factory=set)


class FakeChat(chat_pb2_grpc.ChatServiceServicer):
    """Rooms with join/leave notices and no echo; records what clients send."""

    def __init__(self, tokens: dict[str, str] | None = None, epoch: str = "e0") -> None:
        # token -> username; when set, a stream without a valid token is UNAUTHENTICATED.
        self.tokens = tokens
        self.epoch = epoch
        self.members: list[Member] = []
        self.received: asyncio.Queue[tuple[str, chat_pb2.ChatMessage]] = asyncio.Queue()
        # Texts the fake relayed to the room (once per client_msg_id and member).
        self.relayed: asyncio.Queue[tuple[str, chat_pb2.ChatMessage]] = asyncio.Queue()
        self.joined: asyncio.Queue[Member] = asyncio.Queue()
        self.left: asyncio.Queue[str] = asyncio.Queue()
        # The metadata of every stream opened, refused ones included.
        self.attempts: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        # When set, every new stream is refused with this status.
        self.refuse: tuple[grpc.StatusCode, str] | None = None
        # When set, the next text is taken but not relayed, and its stream is dropped.
        self.swallow_next = False
        # Trailing metadata for the next stream ended with an error status (`end`).
        self.trailers: tuple[tuple[str, str | bytes], ...] = ()
        # When set, a resume replays the whole history, as a careless server might.
        self.replay_all = False
        # When set, a resume gets the history block instead, as from a server without resume.
        self.ignore_resume_from = False
        # Resume tokens handed out, in order; none when off (as from an older server).
        self.issue_tokens = True
        self.issued: list[str] = []
        self.history: dict[str, list[chat_pb2.ChatMessage]] = {}
        # When set, a fresh join gets the room's history block, as from the real server.
        self.history_on_join = False
        # The metadata of every ListMembers and ListRooms call.
        self.presence_calls: list[dict[str, str]] = []
        self._resume: dict[str, Member] = {}  # resume token -> the membership it resumes
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
            epoch=self.epoch,
        )
        msg.sent_at.GetCurrentTime()
        return msg

    def keep(self, msg: chat_pb2.ChatMessage) -> chat_pb2.ChatMessage:
        """Give a text message the next id, its room's next seq and the epoch; keep it."""
        self._next_id += 1
        kept = self.history.setdefault(msg.room or "general", [])
        msg.id, msg.epoch, msg.seq = self._next_id, self.epoch, len(kept) + 1
        if msg.kind != Kind.KIND_ACTION:
            msg.kind = Kind.KIND_TEXT
        kept.append(msg)
        return msg

    def say(self, user: str, text: str, room: str = "general") -> chat_pb2.ChatMessage:
        """A member of another client says `text`: kept and sent to the room."""
        msg = self.keep(
            chat_pb2.ChatMessage(user=user, message=text, room=room, timestamp=int(time.time()))
        )
        self.broadcast(msg)
        return msg

    def _whisper(self, sender: Member, req: chat_pb2.ChatMessage) -> None:
        """A private message: to the member of the sender's room named, and its echo."""
        to = next(
            (m for m in self.members if m.room == sender.room and m.name == req.recipient), None
        )
        if to is None:
            sender.outbox.put_nowait(
                self.notice(
                    Kind.KIND_SYSTEM,
                    f'Nobody named "{req.recipient}" is in room {sender.room}; '
                    "the private message was not sent",
                    sender.room,
                )
            )
            return
        self._next_id += 1
        copies = [(sender, f"[private to {to.name}] {req.message}")]
        if to is not sender:
            copies.insert(0, (to, f"[private from {sender.name}] {req.message}"))
        for member, text in copies:
            member.outbox.put_nowait(
                chat_pb2.ChatMessage(
                    user=sender.name,
                    message=text,
                    room=sender.room,
                    kind=Kind.KIND_PRIVATE,
                    recipient=to.name,
                    id=self._next_id,
                    epoch=self.epoch,
                    client_msg_id=req.client_msg_id,
                )
            )

    async def ListMembers(
        self, request: chat_pb2.ListMembersRequest, context: grpc.aio.ServicerContext
    ) -> chat_pb2.ListMembersResponse:
        await self._presence_call(context)
        room = request.room or "general"
        names = sorted(m.name for m in self.members if m.room == room)
        return chat_pb2.ListMembersResponse(
            members=[chat_pb2.Member(name=n) for n in names], total=len(names)
        )

    async def ListRooms(
        self, request: chat_pb2.ListRoomsRequest, context: grpc.aio.ServicerContext
    ) -> chat_pb2.ListRoomsResponse:
        await self._presence_call(context)
        counts: dict[str, int] = {}
        for m in self.members:
            counts[m.room] = counts.get(m.room, 0) + 1
        return chat_pb2.ListRoomsResponse(
            rooms=[chat_pb2.Room(name=r, member_count=n) for r, n in sorted(counts.items())],
            total=len(counts),
        )

    async def _presence_call(self, context: grpc.aio.ServicerContext) -> None:
        """Record the call's metadata; refuse it without a valid token when tokens are set."""
        md = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
        self.presence_calls.append(md)
        if self.tokens is not None:
            scheme, _, token = md.get("authorization", "").partition(" ")
            if scheme != "Bearer" or token not in self.tokens:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "sign in first")

    def drop(self, member: Member, details: str = "Socket closed") -> None:
        """End a member's stream as a lost connection does (UNAVAILABLE)."""
        self.end(member, grpc.StatusCode.UNAVAILABLE, details)

    async def _greet(
        self, context: grpc.aio.ServicerContext, member: Member, resumed: bool, md: dict[str, str]
    ) -> None:
        """The welcome (with a resume token), then a replay or the history block."""
        token = secrets.token_hex(16)
        self._resume[token] = member
        self.issued.append(token)
        text = (
            f"Welcome back, {member.name}! You are in room {member.room}."
            if resumed
            else f"Welcome, {member.name}! You are in room {member.room}."
        )
        welcome = self.notice(Kind.KIND_SYSTEM, text, member.room)
        if self.issue_tokens:
            welcome.resume_token, welcome.resumed = token, resumed
        # The history as it stood when the member joined, as the real server's is: a text said
        # once the welcome is out reaches the member live, not also inside this block.
        history = list(self.history.get(member.room, []))
        await context.write(welcome)
        resume_from = md.get("chat-resume-from")
        if resume_from is None:
            if self.history_on_join:
                await self._history_block(context, history, member.room)
            return
        if self.ignore_resume_from:
            await self._history_block(context, history, member.room)
            return
        epoch, _, seq = resume_from.partition(":")
        if epoch == self.epoch:
            for msg in history:
                if msg.seq > int(seq) or self.replay_all:
                    await context.write(msg)
            return
        await context.write(
            self.notice(Kind.KIND_SYSTEM, "The server's history was reset; showing recent messages")
        )
        await self._history_block(context, history, member.room)

    async def _history_block(
        self,
        context: grpc.aio.ServicerContext,
        history: list[chat_pb2.ChatMessage],
        room: str = "general",
    ) -> None:
        if history:
            await context.write(
                self.notice(Kind.KIND_HISTORY_START, "--- Recent messages ---", room)
            )
            for msg in history:
                await context.write(msg)
            await context.write(self.notice(Kind.KIND_HISTORY_END, "--- End of history ---", room))

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
        self.attempts.put_nowait(md)
        if self.refuse is not None:
            await context.abort(*self.refuse)
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
        earlier = self._resume.pop(md.get("chat-resume-token", ""), None)
        resumed = earlier is not None
        member = Member(name, room, md)
        if earlier is not None:
            member.name, member.room, member.relayed_ids = (
                earlier.name,
                earlier.room,
                earlier.relayed_ids,
            )
            room = member.room
        self.members.append(member)
        await self._greet(context, member, resumed, md)
        if not resumed:
            self.broadcast(
                self.notice(Kind.KIND_JOIN, f"{member.name} joined the room", room),
                exclude=member,
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
                if self.swallow_next:
                    self.swallow_next = False
                    self.drop(member)
                    return
                seen = member.relayed_ids
                if req.client_msg_id in seen:
                    continue
                if req.client_msg_id:
                    seen.add(req.client_msg_id)
                if req.kind == Kind.KIND_PRIVATE:
                    self._whisper(member, req)
                elif req.message.strip():
                    out = chat_pb2.ChatMessage()
                    out.CopyFrom(req)
                    out.user, out.room = member.name, room
                    if out.kind == Kind.KIND_ACTION:
                        out.message = f"* {member.name} {req.message}"
                    self.keep(out)
                    await self.relayed.put((member.name, out))
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
            if self.trailers:
                context.set_trailing_metadata(self.trailers)
                self.trailers = ()
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


def _listen(
    server: grpc.aio.Server, credentials: grpc.ServerCredentials | None, port: int = 0
) -> int:
    if credentials is None:
        return server.add_insecure_port(f"127.0.0.1:{port}")
    return server.add_secure_port(f"127.0.0.1:{port}", credentials)


@contextlib.asynccontextmanager
async def running_fake(
    credentials: grpc.ServerCredentials | None = None,
    tokens: dict[str, str] | None = None,
    fake: FakeChat | None = None,
    port: int = 0,
) -> AsyncIterator[tuple[FakeChat, int, grpc.aio.Server]]:
    """A FakeChat on 127.0.0.1 (TLS when `credentials` are given; tokens checked if given).

    Given an earlier `fake` and its `port`, it is that server started again, state and all.
    """
    fake = fake or FakeChat(tokens)
    server = grpc.aio.server()
    chat_pb2_grpc.add_ChatServiceServicer_to_server(fake, server)
    port = _listen(server, credentials, port)
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
