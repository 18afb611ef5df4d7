"""What a typed line asks for: text to send, or a command (`/help`, `/who`, `/msg` ...).

The Go client's parser (client/chatclient/commands.go) is the same;
client/chatclient/testdata/commands.json holds the cases both are checked against.
A line that does not start with "/" (after spaces) is text, sent as typed; "//" sends the rest
of the line after the first "/"; "/name ..." is a command, its name in any case. An unknown
command, or one without what it needs, is answered locally and never sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """What a typed line asks for; the values are the names the shared cases use."""

    EMPTY = "empty"  # nothing but spaces
    TEXT = "text"  # send `text` to the room
    ACTION = "action"  # send `text` as an action (/me)
    PRIVATE = "private"  # send `text` to the member `arg` only (/msg)
    JOIN = "join"  # move to the room `arg`
    WHO = "who"  # list the members of the room `arg`, or of this room
    ROOMS = "rooms"  # list the rooms with members
    HELP = "help"  # list the commands
    QUIT = "quit"  # leave the chat
    INVALID = "invalid"  # cannot be carried out: `text` says why


SENT = frozenset({Kind.TEXT, Kind.ACTION, Kind.PRIVATE})

HELP_LINES = (
    "Commands:",
    "/help             this list",
    "/who [ROOM]       who is in this room (or in ROOM)",
    "/rooms            the rooms with people in them, and how many",
    "/join ROOM        leave this room for ROOM",
    "/me ACTION        an action: /me waves shows * Alice waves",
    '/msg NAME TEXT    a private message only NAME sees ("NAME" in quotes if it has spaces)',
    "/quit             leave the chat (also /exit, /q)",
    "//TEXT            send TEXT that starts with /",
)

# What separates a command's words: space and tab only, as in the Go client.
_BLANKS = " \t"


@dataclass(frozen=True)
class Command:
    kind: Kind
    arg: str = ""
    text: str = ""


def _usage(usage: str) -> Command:
    return Command(Kind.INVALID, text=f"usage: {usage}")


def parse(line: str) -> Command:
    """What `line`, as typed, asks for."""
    trimmed = line.lstrip(_BLANKS)
    if not trimmed.strip(_BLANKS):
        return Command(Kind.EMPTY)
    if trimmed.startswith("//"):
        return Command(Kind.TEXT, text=trimmed[1:])
    if not trimmed.startswith("/"):
        return Command(Kind.TEXT, text=line)
    word, rest = trimmed[1:], ""
    cut = next((i for i, ch in enumerate(word) if ch in _BLANKS), -1)
    if cut >= 0:
        word, rest = word[:cut], word[cut + 1 :].strip(_BLANKS)
    name = word.lower()
    if name == "help":
        return Command(Kind.HELP)
    if name in ("quit", "exit", "q"):
        return _usage("/quit") if rest else Command(Kind.QUIT)
    if name == "who":
        return Command(Kind.WHO, arg=rest)
    if name == "rooms":
        return _usage("/rooms") if rest else Command(Kind.ROOMS)
    if name == "join":
        return Command(Kind.JOIN, arg=rest) if rest else _usage("/join ROOM")
    if name == "me":
        return Command(Kind.ACTION, text=rest) if rest else _usage("/me ACTION")
    if name == "msg":
        split = _split_name(rest)
        if split is None:
            return _usage("/msg NAME TEXT")
        return Command(Kind.PRIVATE, arg=split[0], text=split[1])
    return Command(Kind.INVALID, text=f"unknown command /{word}; /help lists them")


def _split_name(rest: str) -> tuple[str, str] | None:
    """(NAME, TEXT) from `NAME TEXT` or `"NAME WITH SPACES" TEXT`; None if either is missing."""
    if rest.startswith('"'):
        name, quote, text = rest[1:].partition('"')
        if not quote or (text and text[0] not in _BLANKS):
            return None
    else:
        cut = next((i for i, ch in enumerate(rest) if ch in _BLANKS), -1)
        name, text = (rest, "") if cut < 0 else (rest[:cut], rest[cut + 1 :])
    name, text = name.strip(_BLANKS), text.strip(_BLANKS)
    return (name, text) if name and text else None


def is_quit(line: str) -> bool:
    """Whether `line` asks to leave: /quit, /exit or /q, in any case."""
    return parse(line).kind == Kind.QUIT
