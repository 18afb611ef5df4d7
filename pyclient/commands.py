"""What a typed line asks for: text to send, or a command (`/help`, `/who`, `/msg` ...).

The Go client's parser (client/chatclient/commands.go) is the same;
client/chatclient/testdata/commands.json holds the cases both are checked against.
A line that does not start with "/" (after spaces) is text, sent as typed; "//" sends the rest
of the line after the first "/"; "/name ..." is a command, its name in any case. An unknown
command, or one without what it needs, is answered locally and never sent.
"""

from __future__ import annotations

import re
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
    KICK = "kick"  # end the memberships of `arg`; `text` is the reason
    MUTE = "mute"  # refuse `arg`'s messages for `seconds`; `text` is the reason
    UNMUTE = "unmute"  # lift `arg`'s mute
    BAN = "ban"  # keep `arg` out for `seconds` (0: until unbanned); `text` is the reason
    UNBAN = "unban"  # lift `arg`'s ban
    OP = "op"  # make `arg` an owner of the room
    TOPIC = "topic"  # set the room's topic to `text` ("" clears it)
    MODS = "mods"  # who moderates the room, and its topic
    BANS = "bans"  # the room's bans
    SEND = "send"  # share the file at path `arg` (pyclient/files.py)
    GET = "get"  # download file `arg` into the folder `text`, replacing a file if `overwrite`


# The commands carried out with the moderation RPCs.
MODERATION = frozenset(
    {
        Kind.KICK,
        Kind.MUTE,
        Kind.UNMUTE,
        Kind.BAN,
        Kind.UNBAN,
        Kind.OP,
        Kind.TOPIC,
        Kind.MODS,
        Kind.BANS,
    }
)


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
    "Moderators (signed in, room owners and admins):",
    "/kick NAME [WHY]  end NAME's connections to this room",
    "/mute NAME TIME [WHY]  refuse NAME's messages for TIME (10m, 1h30m, 2d)",
    "/unmute NAME      lift a mute",
    "/ban NAME [TIME] [WHY]  keep NAME out of this room (for TIME, or until /unban)",
    "/unban NAME       lift a ban",
    "/op NAME          make NAME an owner of this room",
    "/topic [TEXT]     set this room's topic (shown on join); alone, clear it",
    "/mods             who moderates this room, and its topic",
    "/bans             this room's bans",
)

# /send and /get, shown after HELP_LINES (the page has no file commands, so they are not
# among the shared cases).
FILE_HELP_LINES = (
    "/send PATH        share the file at PATH with the room",
    "/get ID [DEST]    download shared file ID into folder DEST (default: here, made if missing); "
    "--overwrite replaces a file",
)

# What separates a command's words: space and tab only, as in the Go client.
_BLANKS = " \t"


@dataclass(frozen=True)
class Command:
    kind: Kind
    arg: str = ""
    text: str = ""
    seconds: int = 0  # how long a /mute or /ban lasts (0: a ban until /unban)
    overwrite: bool = False  # /get --overwrite


_MUTE_USAGE = "/mute NAME TIME [WHY], TIME like 10m, 1h30m or 2d"
_BAN_USAGE = "/ban NAME [TIME] [WHY], TIME like 10m, 1h30m or 2d"
_ONE_NAME = {"unmute": Kind.UNMUTE, "unban": Kind.UNBAN, "op": Kind.OP}


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
    moderation = _moderation(name, rest)
    if moderation is not None:
        return moderation

    if name == "send":
        return Command(Kind.SEND, arg=rest) if rest else _usage("/send PATH")
    if name == "get":
        return _parse_get(rest)
    return Command(Kind.INVALID, text=f"unknown command /{word}; /help lists them")


def _moderation(name: str, rest: str) -> Command | None:
    """The moderation command `name` with `rest`; None when `name` is not one."""
    if name == "kick":
        target, why = _split_first(rest)
        return Command(Kind.KICK, arg=target, text=why) if target else _usage("/kick NAME [WHY]")
    if name in _ONE_NAME:
        target, extra = _split_first(rest)
        if not target or extra:
            return _usage(f"/{name} NAME")
        return Command(_ONE_NAME[name], arg=target)
    if name == "mute":
        target, after = _split_first(rest)
        first, why = _split_first(after)
        seconds = parse_duration(first)
        if not target or seconds is None:
            return _usage(_MUTE_USAGE)
        return Command(Kind.MUTE, arg=target, text=why, seconds=seconds)
    if name == "ban":
        target, after = _split_first(rest)
        if not target:
            return _usage(_BAN_USAGE)
        first, why = _split_first(after)
        seconds = parse_duration(first)
        if seconds is not None:
            return Command(Kind.BAN, arg=target, text=why, seconds=seconds)
        return Command(Kind.BAN, arg=target, text=after)
    if name == "topic":
        return Command(Kind.TOPIC, text=rest)
    if name in ("mods", "bans"):
        return _usage(f"/{name}") if rest else Command(Kind(name))
    return None


def _split_first(s: str) -> tuple[str, str]:
    """(NAME, REST) from `NAME REST` or `"NAME WITH SPACES" REST`, either possibly empty.

    A quote that does not close, or is followed by more than blanks, leaves both empty.
    """
    if s.startswith('"'):
        name, quote, rest = s[1:].partition('"')
        if not quote or (rest and rest[0] not in _BLANKS):
            return "", ""
        return name.strip(_BLANKS), rest.strip(_BLANKS)
    cut = next((i for i, ch in enumerate(s) if ch in _BLANKS), -1)
    if cut < 0:
        return s, ""
    return s[:cut], s[cut + 1 :].strip(_BLANKS)


# A duration as the commands take it: days, hours, minutes, seconds, in that order.
_DURATION = re.compile(r"(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?")


def parse_duration(text: str) -> int | None:
    """Seconds in `text` ("10m", "1h30m", "2d", any case); None unless it is one of 1s or more."""
    match = _DURATION.fullmatch(text.lower()) if text.isascii() else None
    if not text or match is None:
        return None
    seconds = sum(
        int(part) * unit
        for part, unit in zip(match.groups(), (86400, 3600, 60, 1), strict=True)
        if part
    )
    return seconds or None


def _split_name(rest: str) -> tuple[str, str] | None:
    """(NAME, TEXT) from `NAME TEXT` or `"NAME WITH SPACES" TEXT`; None if either is missing."""
    name, text = _split_first(rest)
    return (name, text) if name and text else None


def _parse_get(rest: str) -> Command:
    """`/get ID [DEST] [--overwrite]`, as the Go client parses it."""
    words = [w for w in rest.replace("\t", " ").split(" ") if w]
    overwrite = "--overwrite" in words
    words = [w for w in words if w != "--overwrite"]
    if not words or len(words) > 2:
        return _usage("/get ID [DEST] [--overwrite]")
    if not (words[0].isascii() and words[0].isdigit()) or int(words[0]) >= 1 << 64:
        return _usage("/get ID [DEST]: ID is the number the share notice gives (/get 17)")
    return Command(
        Kind.GET, arg=words[0], text=words[1] if len(words) == 2 else "", overwrite=overwrite
    )


def is_quit(line: str) -> bool:
    """Whether `line` asks to leave: /quit, /exit or /q, in any case."""
    return parse(line).kind == Kind.QUIT
