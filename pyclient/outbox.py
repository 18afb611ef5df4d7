"""The lines the server may not have yet, in the order they were typed.

Every typed line gets its own client_msg_id and waits here until it is sent. Lines sent on the
current stream stay "in the air": the server sends no receipt, so when the stream is lost any
of them may have been cut off on the way. After a reconnect, the ones sent in the last minute
(at most 256) go again first, with their own ids: the server relays an id once per member,
across a resume and, for the holder of an expired session's token, across a new membership
too, and drops the copies. Older lines did arrive: a dead connection is noticed well within
that minute. A server that numbers nothing (no epoch) predates client_msg_id and would relay
a line twice, so then only a line whose write never completed is resent. A line the server
replays after the reconnect has arrived and is not resent at all. The Go client follows the
same rule (client/chatclient/outbox.go).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from polychat.chat import chat_pb2

from pykit.chatwire import MAX_PENDING_LINES

# How many of the lines last sent on a stream may be resent after it is lost (the server
# remembers more ids per member than this), and how recent they must be, in seconds.
RESEND_WINDOW = 256
RESEND_AGE = 60.0
# How many ids of its own recent lines the client remembers, to recognise them when the
# server replays them.
OWN_MEMORY = 1024


class OutboxFull(Exception):
    """A line typed while `limit` lines already wait to be sent."""


@dataclass
class Line:
    """One message on its way: text, an action, or a private message to `recipient`."""

    text: str
    client_msg_id: str
    kind: chat_pb2.ChatMessage.Kind.ValueType = chat_pb2.ChatMessage.KIND_TEXT
    recipient: str = ""
    # When it was last sent (the outbox's clock).
    sent_at: float = 0.0
    # Whether it was sent before, on a stream that was lost.
    resent: bool = False
    # Whether its last write completed (gRPC took it; the server may still not have it).
    written: bool = False
    # Typed while disconnected: it goes out paced, with the other queued lines.
    held: bool = False


class Outbox:
    """Lines waiting to be sent and lines in the air. Not thread-safe; one event loop uses it."""

    def __init__(
        self,
        limit: int = MAX_PENDING_LINES,
        *,
        resend_window: int = RESEND_WINDOW,
        resend_age: float = RESEND_AGE,
        own_memory: int = OWN_MEMORY,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self._queued: deque[Line] = deque()
        self._in_air: deque[Line] = deque(maxlen=resend_window)
        self._resend_age = resend_age
        self._clock = clock
        self._numbered = True
        self._own: OrderedDict[str, None] = OrderedDict()
        self._own_memory = own_memory
        self._new_id = new_id

    @property
    def waiting(self) -> int:
        """How many typed lines were never sent."""
        return sum(1 for line in self._queued if not line.resent)

    def add(
        self,
        text: str,
        held: bool = False,
        *,
        kind: chat_pb2.ChatMessage.Kind.ValueType = chat_pb2.ChatMessage.KIND_TEXT,
        recipient: str = "",
    ) -> Line:
        """Queue a typed line under a new id; OutboxFull when `limit` lines already wait.

        `held`: typed while disconnected. `kind` and `recipient` make it an action or a private
        message.
        """
        if self.waiting >= self.limit:
            raise OutboxFull(f"{self.limit} lines are already waiting")
        line = Line(text, self._new_id(), kind=kind, recipient=recipient, held=held)
        self._remember(line.client_msg_id)
        self._queued.append(line)
        return line

    def peek(self) -> Line | None:
        """The next line to send, if any."""
        return self._queued[0] if self._queued else None

    def sending(self, line: Line) -> None:
        """`line` (the one `peek` gave) is being sent now."""
        if self._queued and self._queued[0] is line:
            self._queued.popleft()
        line.sent_at = self._clock()
        line.written = False
        self._in_air.append(line)

    def lost(self, numbered: bool) -> None:
        """The stream ended. `numbered`: the server named an epoch, so it drops repeated ids."""
        self._numbered = numbered

    def reconnected(self) -> None:
        """A new stream is open: put the lines that may not have arrived before the queued ones."""
        since = self._clock() - self._resend_age

        def may_be_lost(line: Line) -> bool:
            if self._numbered:
                return line.sent_at >= since
            return not line.written

        again = [line for line in self._in_air if may_be_lost(line)]
        for line in again:
            line.resent = True
        self._queued.extendleft(reversed(again))
        self._in_air.clear()

    def settled(self) -> None:
        """The server has every line sent on the stream: it ended it after a leave behind them."""
        self._in_air.clear()

    def arrived(self, client_msg_id: str) -> None:
        """The server has our line `client_msg_id` (it replayed it): never send it again."""
        for lines in (self._queued, self._in_air):
            for line in lines:
                if line.client_msg_id == client_msg_id:
                    lines.remove(line)
                    break

    def is_own(self, client_msg_id: str) -> bool:
        """Whether `client_msg_id` names one of our recent lines."""
        return bool(client_msg_id) and client_msg_id in self._own

    def drop_queued(self) -> int:
        """Forget the lines still waiting (we are leaving); how many were never sent."""
        count = self.waiting
        self._queued.clear()
        return count

    def _remember(self, client_msg_id: str) -> None:
        self._own[client_msg_id] = None
        while len(self._own) > self._own_memory:
            self._own.popitem(last=False)
