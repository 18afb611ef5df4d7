"""How a received ChatMessage is shown: one line, with anything a terminal obeys neutralised.

The rules are those of docs/chat-protocol.md ("How clients show it").
"""

from __future__ import annotations

import re
import time

from polychat.chat import chat_pb2

Kind = chat_pb2.ChatMessage.Kind

# C0 controls (newline and tab included), DEL, C1 controls, and the bidirectional
# embeddings/overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def sanitize(text: str) -> str:
    """Replace every control or bidi-override character by a visible escape (`\\x1b`, `\\u202e`)."""
    return _UNSAFE.sub(_escape, text)


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
