"""The chat room: members named Client(N), bounded per-member queues, no slow-client stalls.

Everything here runs on the event loop and never awaits, so the room needs no
lock and a broadcast never waits for any member's network.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from google.protobuf import timestamp_pb2
from polychat.streaming.v1 import streaming_pb2
from prometheus_client import Counter, Gauge

log = logging.getLogger("pyservices.streaming.chat")

CHAT_MEMBERS = Gauge(
    "polychat_streaming_chat_members", "Members in StreamingService's chat right now."
)
CHAT_DROPPED = Counter(
    "polychat_streaming_chat_dropped",
    "StreamingService chat members disconnected because they fell behind.",
)

Kind = streaming_pb2.ChatResponse.Kind
SYSTEM_USER = "system"
MAX_MESSAGE_CHARS = 4096


@dataclass(eq=False)
class Member:
    """One chat stream. Its queue holds events to send; `None` in it means "stop"."""

    number: int
    name: str
    limit: int
    queue: asyncio.Queue[streaming_pb2.ChatResponse | None] = field(init=False)
    dropped: bool = False
    ended: bool = False

    def __post_init__(self) -> None:
        # One slot more than the limit, kept free for the end marker.
        self.queue = asyncio.Queue(maxsize=self.limit + 1)

    def offer(self, event: streaming_pb2.ChatResponse) -> bool:
        """Queue `event` unless the member is over its limit (then False)."""
        if self.ended:
            return True
        if self.queue.qsize() >= self.limit:
            return False
        self.queue.put_nowait(event)
        return True

    def end(self, discard_pending: bool = False) -> None:
        """Tell the member's writer to stop, after what is queued unless discarded."""
        if self.ended:
            return
        self.ended = True
        if discard_pending:
            while not self.queue.empty():
                self.queue.get_nowait()
        self.queue.put_nowait(None)


def _event(user: str, text: str, kind: int) -> streaming_pb2.ChatResponse:
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(time.time_ns())
    return streaming_pb2.ChatResponse(user=user, message=text, timestamp=ts, kind=kind)


class ChatRoom:
    def __init__(self, queue_limit: int) -> None:
        self._queue_limit = queue_limit
        self._members: dict[int, Member] = {}
        self._joined = 0

    @property
    def queue_limit(self) -> int:
        return self._queue_limit

    def members(self) -> list[str]:
        return [m.name for m in self._members.values()]

    def join(self) -> Member:
        """Add a member; everyone, the newcomer first of all, hears that it joined."""
        self._joined += 1
        member = Member(self._joined, f"Client({self._joined})", self._queue_limit)
        self._members[member.number] = member
        CHAT_MEMBERS.inc()
        log.info("chat join member=%s members=%d", member.name, len(self._members))
        self._broadcast(_event(member.name, f"{member.name} has joined the chat", Kind.KIND_JOIN))
        return member

    def say(self, member: Member, text: str) -> None:
        """Relay `text` from `member` to every other member."""
        if member.number not in self._members or not text.strip():
            return
        if len(text) > MAX_MESSAGE_CHARS:
            notice = f"Message not sent: longer than {MAX_MESSAGE_CHARS} characters"
            if not member.offer(_event(SYSTEM_USER, notice, Kind.KIND_SYSTEM)):
                self._drop(member)
            return
        self._broadcast(_event(member.name, text, Kind.KIND_TEXT), exclude=member)

    def leave(self, member: Member) -> None:
        """Remove `member` (if still here) and tell the others."""
        if self._members.pop(member.number, None) is None:
            return
        CHAT_MEMBERS.dec()
        member.end()
        log.info("chat leave member=%s members=%d", member.name, len(self._members))
        self._broadcast(_event(member.name, f"{member.name} has left the chat", Kind.KIND_LEAVE))

    def _broadcast(self, event: streaming_pb2.ChatResponse, exclude: Member | None = None) -> None:
        overflowing = [
            m for m in list(self._members.values()) if m is not exclude and not m.offer(event)
        ]
        for member in overflowing:
            self._drop(member)

    def _drop(self, member: Member) -> None:
        """Disconnect a member that cannot keep up; the room goes on without it."""
        if self._members.pop(member.number, None) is None:
            return
        CHAT_MEMBERS.dec()
        CHAT_DROPPED.inc()
        member.dropped = True
        member.end(discard_pending=True)
        log.warning(
            "chat member dropped as too slow member=%s limit=%d", member.name, self.queue_limit
        )
        text = f"{member.name} was disconnected: too slow to keep up"
        self._broadcast(_event(member.name, text, Kind.KIND_LEAVE))
