"""How a received ChatMessage is shown: one line, with anything a terminal obeys neutralised.

The rules are those of docs/chat-protocol.md ("How clients show it").
"""

from __future__ import annotations

import time

from polychat.chat import chat_pb2

from pykit.text import sanitize

Kind = chat_pb2.ChatMessage.Kind


def clock(timestamp: int) -> str:
    """Local HH:MM:SS of a Unix time in seconds; `--:--:--` if it is not a representable time."""
    try:
        return time.strftime("%H:%M:%S", time.localtime(timestamp))
    except (OverflowError, OSError, ValueError):
        return "--:--:--"


def render(msg: chat_pb2.ChatMessage) -> str:
    """The single line that shows `msg` on screen."""
    text = sanitize(msg.message)
    kind = msg.kind
    if kind in (Kind.KIND_JOIN, Kind.KIND_LEAVE):
        return f"[{clock(msg.timestamp)}] >>> {text}"
    if kind == Kind.KIND_SYSTEM:
        return f"[{clock(msg.timestamp)}] *** {text}"
    if kind in (Kind.KIND_HISTORY_START, Kind.KIND_HISTORY_END):
        return text
    # KIND_TEXT, KIND_UNSPECIFIED, and kinds newer than this client: show as text.
    return f"[{sanitize(msg.user)}]: {text}"


def status(text: str, now: float | None = None) -> str:
    """A line of the client's own, shown like a server notice: `[14:30:25] *** Reconnected`."""
    return f"[{clock(int(time.time() if now is None else now))}] *** {text}"
