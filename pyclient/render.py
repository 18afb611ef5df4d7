"""How a received ChatMessage is shown, with anything a terminal obeys neutralised.

The rules are those of docs/chat-protocol.md ("How clients show it"); the Go client renders
the same way, and client/chatclient/testdata/render.json holds cases both are checked against.
"""

from __future__ import annotations

import time

from polychat.chat import chat_pb2

from pykit.text import sanitize

Kind = chat_pb2.ChatMessage.Kind

# Starts each continuation line of a message of several lines.
INDENT = "    "

# The server words these kinds in full ("* Bob waves", "[private from Bob] hi",
# "Bob shared a.pdf (1.2 MB, sha256 ab12cd34…) — /get 17").
_WORDED = (
    Kind.KIND_HISTORY_START,
    Kind.KIND_HISTORY_END,
    Kind.KIND_ACTION,
    Kind.KIND_PRIVATE,
    Kind.KIND_FILE,
)


def clock(timestamp: int) -> str:
    """Local HH:MM:SS of a Unix time in seconds; `--:--:--` if it is not a representable time."""
    try:
        return time.strftime("%H:%M:%S", time.localtime(timestamp))
    except (OverflowError, OSError, ValueError):
        return "--:--:--"


def continued(prefix: str, text: str) -> str:
    """`prefix` and the first line of `text`, then each later line after INDENT.

    Lines end at "\\n" or "\\r\\n"; every other control character, a lone "\\r" included, is
    shown escaped, so only the line breaks reach the terminal.
    """
    lines = text.split("\n")
    shown = [sanitize(line.removesuffix("\r")) for line in lines[:-1]]
    shown.append(sanitize(lines[-1]))
    return prefix + ("\n" + INDENT).join(shown)


def render(msg: chat_pb2.ChatMessage) -> str:
    """How `msg` is shown: one line, or more for a text of several lines."""
    kind = msg.kind
    if kind in (Kind.KIND_JOIN, Kind.KIND_LEAVE):
        return continued(f"[{clock(msg.timestamp)}] >>> ", msg.message)
    if kind in (Kind.KIND_SYSTEM, Kind.KIND_MODERATION, Kind.KIND_REFUSED):
        return continued(f"[{clock(msg.timestamp)}] *** ", msg.message)
    if kind in _WORDED:
        return continued("", msg.message)
    # KIND_TEXT, KIND_UNSPECIFIED, and kinds newer than this client: show as text.
    return continued(f"[{sanitize(msg.user)}]: ", msg.message)


def status(text: str, now: float | None = None) -> str:
    """A line of the client's own, shown like a server notice: `[14:30:25] *** Reconnected`."""
    return f"[{clock(int(time.time() if now is None else now))}] *** {text}"
