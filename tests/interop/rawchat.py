"""A chat member over the generated polychat.chat stubs, with nothing of pyclient in between.

Each `RawMember` is one ChatStream: what it sends goes through a queue, what it
receives is collected by a thread, and every wait is bounded and ends on an
event (a message arriving or the stream ending), never on a sleep.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import grpc
from polychat.chat import chat_pb2, chat_pb2_grpc

from tests.interop.harness import DEFAULT_TIMEOUT

Msg = chat_pb2.ChatMessage
TEXT = Msg.KIND_TEXT
JOIN = Msg.KIND_JOIN
LEAVE = Msg.KIND_LEAVE
SYSTEM = Msg.KIND_SYSTEM
HISTORY_START = Msg.KIND_HISTORY_START
HISTORY_END = Msg.KIND_HISTORY_END

_CLOSE = object()


class _Receiver:
    """What a stream of chat messages delivers, collected by a thread."""

    def __init__(self, address: str) -> None:
        self._channel = grpc.insecure_channel(address)
        self._stub = chat_pb2_grpc.ChatServiceStub(self._channel)
        self.received: queue.Queue[Msg] = queue.Queue()
        self.ended = threading.Event()
        self.error: grpc.RpcError | None = None
        self.welcome: Msg | None = None

    def _start(self, call: grpc.Call) -> None:
        self._call = call
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for msg in self._call:
                self.received.put(msg)
        except grpc.RpcError as err:
            self.error = err
        finally:
            self.ended.set()

    def next(self, timeout: float = DEFAULT_TIMEOUT) -> Msg:
        """The next message received; fails if none comes in time or the stream ends first."""
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no message within {timeout}s (stream ended: {self.ended.is_set()}, "
                f"error: {self.error})"
            ) from None

    def expect(self, kind: int, text: str | None = None) -> Msg:
        msg = self.next()
        assert msg.kind == kind and (text is None or msg.message == text), (
            f"got {Msg.Kind.Name(msg.kind)} {msg.message!r} from {msg.user!r}, "
            f"want {Msg.Kind.Name(kind)} {text!r}"
        )
        return msg

    def expect_text(self, user: str, text: str) -> Msg:
        msg = self.expect(TEXT, text)
        assert msg.user == user, f"{text!r} came from {msg.user!r}, want {user!r}"
        return msg

    def wait_end(self, timeout: float = DEFAULT_TIMEOUT) -> grpc.RpcError | None:
        """Wait for the stream to end; returns its error (None when it ended OK)."""
        assert self.ended.wait(timeout), f"stream did not end within {timeout}s"
        return self.error

    def close(self) -> None:
        """Cancel the call (a dropped connection, as the server sees it)."""
        self._call.cancel()
        self.ended.wait(DEFAULT_TIMEOUT)
        self._channel.close()


class RawMember(_Receiver):
    """One chat stream, opened with the given request metadata."""

    def __init__(self, address: str, metadata: list[tuple[str, str]]) -> None:
        super().__init__(address)
        self._outbox: queue.Queue[object] = queue.Queue()
        self._start(self._stub.ChatStream(self._requests(), metadata=metadata))

    def _requests(self) -> Iterator[Msg]:
        while True:
            item = self._outbox.get()
            if item is _CLOSE:
                return
            assert isinstance(item, Msg)
            yield item

    def send(self, text: str, client_msg_id: str = "") -> None:
        self._outbox.put(Msg(message=text, client_msg_id=client_msg_id))

    def close(self) -> None:
        self._outbox.put(_CLOSE)
        super().close()


class JoinedMember(_Receiver):
    """One membership over Join, Send and Leave (the browsers' RPCs)."""

    def __init__(
        self, address: str, request: chat_pb2.JoinRequest, metadata: list[tuple[str, str]]
    ) -> None:
        super().__init__(address)
        self._metadata = metadata
        self._start(self._stub.Join(request, metadata=metadata))

    def welcomed(self) -> Msg:
        """Read up to the welcome, which carries the member token, and return it."""
        while self.welcome is None:
            msg = self.next()
            if msg.member_token:
                self.welcome = msg
        return self.welcome

    def send(self, text: str, **fields: object) -> chat_pb2.SendResponse:
        """Send text (and any other SendRequest fields) for this membership."""
        request = chat_pb2.SendRequest(
            member_token=self.welcomed().member_token, message=text, **fields
        )
        return self._stub.Send(request, metadata=self._metadata, timeout=DEFAULT_TIMEOUT)

    def leave(self) -> chat_pb2.LeaveResponse:
        request = chat_pb2.LeaveRequest(member_token=self.welcomed().member_token)
        return self._stub.Leave(request, metadata=self._metadata, timeout=DEFAULT_TIMEOUT)


def join(
    address: str,
    name: str | None = None,
    *,
    token: str = "",
    resume_from: str = "",
    authorization: str = "",
    room: str = "",
) -> RawMember:
    """Open a stream with the chat metadata given (none of it is required)."""
    md: list[tuple[str, str]] = []
    if name is not None:
        md.append(("chat-user", name))
    if room:
        md.append(("chat-room", room))
    if token:
        md.append(("chat-resume-token", token))
    if resume_from:
        md.append(("chat-resume-from", resume_from))
    if authorization:
        md.append(("authorization", f"Bearer {authorization}"))
    return RawMember(address, md)


def join_rpc(
    address: str, name: str = "", *, room: str = "", authorization: str = ""
) -> JoinedMember:
    """Call Join as name in room and read up to the welcome."""
    md = [("authorization", f"Bearer {authorization}")] if authorization else []
    member = JoinedMember(address, chat_pb2.JoinRequest(user=name, room=room), md)
    member.welcomed()
    return member
