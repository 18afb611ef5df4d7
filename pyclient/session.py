"""One ChatStream to a Polychat server: open it, send lines, receive messages, leave."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
from google.protobuf.message import Message
from polychat.chat import chat_pb2, chat_pb2_grpc

from pyclient.reasons import short_reason
from pyclient.retryinfo import retry_delay
from pykit.callstatus import ServerStatus
from pykit.channels import ChannelOptions, ClientTLS, explain_unavailable, open_channel
from pykit.chatwire import (
    AUTHORIZATION_KEY,
    RESUME_FROM_KEY,
    RESUME_TOKEN_KEY,
    ROOM_KEY,
    USER_KEY,
)
from pykit.text import sanitize

_State = grpc.ChannelConnectivity

# With reconnecting on: ping the server after 20 s of silence and give up on the connection
# 10 s later, so that one that died silently is noticed within half a minute (the chat server
# allows a ping every 10 s), as the Go client does.
KEEPALIVE: ChannelOptions = (
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
)


class ChatError(Exception):
    """A failure shown to the user as exactly this one line on stderr (exit status 1).

    A stream that ends this way may be worth opening again (`retry`): everything but a refused
    sign-in, a request the server rejects, or a resume credential of someone else. `reason`
    says briefly why, for the "connection lost" line; `wait` is the seconds the server asked
    the client to stay away (0 when it named none).
    """

    def __init__(
        self,
        line: str,
        *,
        retry: bool = False,
        reason: str = "",
        wait: float = 0.0,
        code: grpc.StatusCode | None = None,
    ) -> None:
        super().__init__(line)
        self.retry = retry
        self.reason = reason or line
        self.wait = wait
        self.code = code


# Reconnecting cannot fix these: the server refused who we are or what we asked for.
FINAL_CODES = frozenset(
    {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.PERMISSION_DENIED,
    }
)


def _metadata_safe(value: str) -> bool:
    """gRPC (non -bin) metadata values must be printable ASCII."""
    return all(" " <= c <= "~" for c in value)


def check_identity(name: str | None, room: str) -> None:
    """Reject a name or room the server would refuse or gRPC cannot carry; raise ChatError."""
    if name is not None and any(not c.isprintable() for c in name):
        raise ChatError("error: the username may not contain control characters")
    if not _metadata_safe(room):
        raise ChatError(f"error: room {sanitize(room)!r}: room names must be printable ASCII")


def check_token(token: str) -> str:
    """A session token as given (surrounding spaces removed); ChatError if gRPC cannot carry it."""
    token = token.strip()
    if not token:
        raise ChatError("error: sign-in failed: the token is empty")
    if not _metadata_safe(token) or " " in token:
        raise ChatError(
            "error: sign-in failed: a token is printable ASCII without spaces; check --token"
        )
    return token


# How grpcio words an UNAVAILABLE status that it made itself because the connection
# failed, as opposed to one the server sent (lower case, matched anywhere).
_TRANSPORT_FAILURES = (
    "socket closed",
    "connection reset",
    "connection refused",
    "connection closed",
    "broken pipe",
    "goaway",
    "cancelling all calls",
    "keepalive",
    "failed to connect",
    "stream removed",
    "transport closed",
    "endpoint",
    "fd shutdown",
    "handshake",
)


def _is_transport_failure(details: str) -> bool:
    lowered = details.lower()
    return not lowered or any(f in lowered for f in _TRANSPORT_FAILURES)


def closed_stream() -> ChatError:
    """The server ended the stream with OK although we had not left."""
    return ChatError(
        "disconnected: server closed the stream", retry=True, reason="server closed the stream"
    )


_EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED


def _call_failed(err: grpc.aio.AioRpcError) -> ChatError:
    """A unary call the server did not answer: the reason in its words, or the code."""
    details = err.details() or ""
    if err.code() == grpc.StatusCode.UNAVAILABLE and _is_transport_failure(details):
        details = short_reason(details)
    reason = sanitize(details) or err.code().name
    return ChatError(f"error: {reason}", reason=reason, code=err.code())


class ChatSession:
    """A member's stream in one room.

    `open()` waits (bounded) for the server, then opens the stream with the join metadata;
    `messages()` yields what the server sends and raises ChatError when the stream ends other
    than by our leaving; `send()` sends one text line; `leave()` half-closes the stream.
    """

    def __init__(
        self,
        target: str,
        name: str | None,
        room: str,
        *,
        connect_timeout: float = 5.0,
        display_address: str | None = None,
        tls: ClientTLS | None = None,
        token: str | None = None,
        resume_token: str | None = None,
        resume_from: str | None = None,
        channel_options: ChannelOptions = (),
    ) -> None:
        self.target = target
        self.tls = tls or ClientTLS()
        self.token = token
        self.name = name or ""
        self.room = room
        self.connect_timeout = connect_timeout
        self.address = display_address or target
        # Resuming an earlier membership: the last welcome's credential, "<epoch>:<seq>".
        self.resume_token = resume_token
        self.resume_from = resume_from
        self.channel_options = channel_options
        self._channel: grpc.aio.Channel | None = None
        self._call: grpc.aio.StreamStreamCall | None = None
        self._server_status: ServerStatus | None = None
        self._connected = False  # the channel was ready, or a message arrived
        self._leaving = False
        # gRPC allows one write in flight per call: a second is refused (TOO_MANY_OPERATIONS),
        # so a leave that comes while a message is being sent waits for it instead of failing.
        self._writing = asyncio.Lock()
        self._first: chat_pb2.ChatMessage | None = None

    def _unreachable(self, detail: str) -> ChatError:
        explained = explain_unavailable(detail, self.tls.enabled)
        detail = sanitize(short_reason(detail) if explained == detail else explained)
        return ChatError(
            f"error: cannot reach chat server at {self.address}: {detail}",
            retry=True,
            reason=detail,
        )

    async def _wait_for_channel(self, channel: grpc.aio.Channel) -> bool:
        """True once the channel is ready, False as soon as it has failed to connect."""
        state = channel.get_state(try_to_connect=True)
        while state not in (_State.READY, _State.TRANSIENT_FAILURE, _State.SHUTDOWN):
            await channel.wait_for_state_change(state)
            state = channel.get_state(try_to_connect=True)
        return state == _State.READY

    async def open(self) -> None:
        """Connect and open the stream. Raises ChatError if the server cannot be reached."""
        self._channel = open_channel(self.target, self.tls, self.channel_options)
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
        # that comes as the awaited call completes, and leaving must cancel an open at once.
        try:
            async with asyncio.timeout(self.connect_timeout):
                self._connected = await self._wait_for_channel(self._channel)
        except TimeoutError:
            raise self._unreachable(
                f"no connection after {self.connect_timeout:g} s (is the server running?)"
            ) from None
        metadata: list[tuple[str, str]] = [(ROOM_KEY, self.room)]
        if self.name and _metadata_safe(self.name):
            metadata.append((USER_KEY, self.name))
        if self.token:
            metadata.append((AUTHORIZATION_KEY, f"Bearer {self.token}"))
        if self.resume_token and _metadata_safe(self.resume_token):
            metadata.append((RESUME_TOKEN_KEY, self.resume_token))
        if self.resume_from and _metadata_safe(self.resume_from):
            metadata.append((RESUME_FROM_KEY, self.resume_from))
        # Names metadata cannot carry (non-ASCII) reach the server in the first message's
        # `user` field instead, as the protocol allows for three-field clients.
        stub = chat_pb2_grpc.ChatServiceStub(self._channel)
        # Not wait_for_ready: if the channel failed, the call fails at once with the reason.
        self._call = stub.ChatStream(metadata=tuple(metadata))
        # Reports why the server ended the stream even if a write of ours raced it.
        self._server_status = ServerStatus.watch(self._call)
        if not self._connected:
            # Learn now whether the server is there, before the user can type or leave.
            try:
                async with asyncio.timeout(self.connect_timeout):
                    first = await self._call.read()
            except TimeoutError:
                raise self._unreachable(
                    f"no answer after {self.connect_timeout:g} s (is the server running?)"
                ) from None
            except grpc.aio.AioRpcError as err:
                raise self._error_for(err) from None
            if first is grpc.aio.EOF:
                raise closed_stream()
            self._connected = True
            self._first = first

    def _error_for(self, err: grpc.aio.AioRpcError) -> ChatError:
        if self._server_status is not None:
            err = self._server_status.error(err)
        details = sanitize(err.details() or "")
        code = err.code()
        reason = details or code.name
        if code in FINAL_CODES:
            if code == grpc.StatusCode.UNAUTHENTICATED:
                # The chat server wants a valid session: none was given, or it is invalid or
                # expired.
                return ChatError(f"error: sign-in failed: {details or 'UNAUTHENTICATED'}")
            return ChatError(f"disconnected: {reason}")
        wait = retry_delay(err.trailing_metadata()) if code == _EXHAUSTED else 0.0
        if code == grpc.StatusCode.UNAVAILABLE:
            if not self._connected:
                return self._unreachable(err.details() or "unavailable")
            if _is_transport_failure(details):
                reason = short_reason(details)
                return ChatError(
                    f"error: lost connection to chat server at {self.address}: {reason}",
                    retry=True,
                    reason=reason,
                )
            # Otherwise the server itself ended the stream, e.g. "server is shutting down".
        if code == grpc.StatusCode.UNKNOWN and not self._connected:
            return self._unreachable(details or "unknown error")
        return ChatError(f"disconnected: {reason}", retry=True, reason=reason, wait=wait, code=code)

    async def messages(self) -> AsyncIterator[chat_pb2.ChatMessage]:
        """Yield the server's messages until the stream ends.

        Returns quietly if the stream ends after `leave()`; otherwise raises ChatError.
        """
        assert self._call is not None, "open() first"
        if self._first is not None:
            first, self._first = self._first, None
            if first.room:
                self.room = first.room
            yield first
        while True:
            try:
                msg = await self._call.read()
            except grpc.aio.AioRpcError as err:
                if self._leaving:
                    return
                raise self._error_for(err) from None
            if msg is grpc.aio.EOF:
                if self._leaving:
                    return
                raise closed_stream()
            self._connected = True
            if msg.room:
                # As the server names it (spaces collapsed): what our messages must carry.
                self.room = msg.room
            yield msg

    async def send(
        self,
        text: str,
        client_msg_id: str = "",
        *,
        kind: chat_pb2.ChatMessage.Kind.ValueType = chat_pb2.ChatMessage.KIND_TEXT,
        recipient: str = "",
    ) -> bool:
        """Send one message: text, an action, or a private message to `recipient`.

        False if the stream has already ended (messages() says why). `client_msg_id` names the
        line, so that the server relays it once however often it is sent.
        """
        assert self._call is not None, "open() first"
        msg = chat_pb2.ChatMessage(
            user=self.name,
            message=text,
            timestamp=int(time.time()),
            room=self.room,
            kind=kind,
            client_msg_id=client_msg_id,
            recipient=recipient,
        )
        msg.client_sent_at.GetCurrentTime()
        try:
            async with self._writing:
                await self._call.write(msg)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            return False
        return True

    async def leave(self) -> None:
        """Ask to leave; the server tells the room, after anything we sent, and ends the stream."""
        self._leaving = True
        if self._call is None:
            return
        try:
            async with self._writing:
                await self._call.write(chat_pb2.ChatMessage(kind=chat_pb2.ChatMessage.KIND_LEAVE))
                await self._call.done_writing()
        except Exception:
            pass

    async def list_members(self, room: str) -> chat_pb2.ListMembersResponse:
        """The first page of `room`'s members, asked over this session's channel.

        Raises ChatError (its `reason` says why) when the server cannot answer.
        """
        request = chat_pb2.ListMembersRequest(room=room)
        try:
            return await self._stub().ListMembers(
                request, metadata=self._auth(), timeout=self.connect_timeout
            )
        except grpc.aio.AioRpcError as err:
            raise _call_failed(err) from None

    async def list_rooms(self) -> chat_pb2.ListRoomsResponse:
        """The first page of the rooms with members; ChatError when the server cannot answer."""
        request = chat_pb2.ListRoomsRequest()
        try:
            return await self._stub().ListRooms(
                request, metadata=self._auth(), timeout=self.connect_timeout
            )
        except grpc.aio.AioRpcError as err:
            raise _call_failed(err) from None

    async def call(self, method: str, request: Message) -> Message:
        """Call the unary ChatService RPC `method` with `request` over this session's channel.

        Raises ChatError (its `reason` says why) when the server refuses or cannot answer.
        """
        try:
            return await getattr(self._stub(), method)(
                request, metadata=self._auth(), timeout=self.connect_timeout
            )
        except grpc.aio.AioRpcError as err:
            raise _call_failed(err) from None

    def _stub(self) -> chat_pb2_grpc.ChatServiceStub:
        assert self._channel is not None, "open() first"
        return chat_pb2_grpc.ChatServiceStub(self._channel)

    def _auth(self) -> tuple[tuple[str, str], ...]:
        """The session token as call metadata, as the stream carries it."""
        return ((AUTHORIZATION_KEY, f"Bearer {self.token}"),) if self.token else ()

    async def close(self) -> None:
        """Cancel the stream if it is still open and close the channel."""
        self._leaving = True
        if self._call is not None and not self._call.done():
            self._call.cancel()
        if self._channel is not None:
            await self._channel.close()
