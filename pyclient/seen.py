"""Which received messages are new: none is shown twice, across reconnects too.

The server's ids only mean something within one epoch (one incarnation of its message store),
and increase within it. So a text message (it has a seq) is new when its id is above the last
text id shown; a notice (seq 0) when its id is not among the last few shown. A message of
another epoch means the store was replaced: everything remembered is forgotten. A server that
sends no epoch (an older one) gets no filtering at all: nothing says its ids can be trusted
after a reconnect.
"""

from __future__ import annotations

from collections import OrderedDict

from polychat.chat import chat_pb2

NOTICE_MEMORY = 256


class SeenFilter:
    """Remembers what was shown in one room, and says where to resume from."""

    def __init__(self, notice_memory: int = NOTICE_MEMORY) -> None:
        self.epoch = ""
        # The last text seq shown: the server replays what comes after it.
        self.last_seq = 0
        self._last_text_id = 0
        self._notices: OrderedDict[int, None] = OrderedDict()
        self._notice_memory = notice_memory

    def admit(self, msg: chat_pb2.ChatMessage) -> bool:
        """Whether `msg` is new; if so it is remembered as shown."""
        if not msg.epoch:
            return True
        if msg.epoch != self.epoch:
            self._forget(msg.epoch)
        if msg.id == 0:
            return True
        if msg.seq > 0:
            if msg.id <= self._last_text_id:
                return False
            self._last_text_id = msg.id
            self.last_seq = max(self.last_seq, msg.seq)
            return True
        if msg.id in self._notices:
            return False
        self._notices[msg.id] = None
        while len(self._notices) > self._notice_memory:
            self._notices.popitem(last=False)
        return True

    def resume_from(self) -> str | None:
        """The `chat-resume-from` value, `<epoch>:<seq>`, or None before any epoch is known."""
        return f"{self.epoch}:{self.last_seq}" if self.epoch else None

    def _forget(self, epoch: str) -> None:
        self.epoch = epoch
        self.last_seq = 0
        self._last_text_id = 0
        self._notices.clear()
