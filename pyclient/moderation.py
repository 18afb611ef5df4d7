"""The moderation commands (/kick, /mute, /ban, /topic, /mods ...), as the Go client does them.

Each calls a moderation RPC for the session's room. What the room is told comes as a notice;
the line returned says only what the notice does not: a refusal, that nothing changed, and the
answers of /mods and /bans.
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from polychat.chat import chat_pb2

from pyclient.commands import Command, Kind
from pyclient.session import ChatError, ChatSession

# What a moderation command could not do, by command.
_VERBS = {
    Kind.KICK: "kick",
    Kind.MUTE: "mute",
    Kind.UNMUTE: "unmute",
    Kind.BAN: "ban",
    Kind.UNBAN: "unban",
    Kind.OP: "make an owner",
    Kind.TOPIC: "set the topic",
    Kind.MODS: "list the moderators",
    Kind.BANS: "list the bans",
}


async def run(session: ChatSession, room: str, command: Command) -> str:
    """Carry out `command` in `room`; the line to show, "" for none."""
    method, req = request(room, command)
    try:
        resp = await session.call(method, req)
    except ChatError as err:
        return f"Cannot {_VERBS[command.kind]}: {err.reason}"
    return answer(room, command, resp)


def request(room: str, command: Command) -> tuple[str, Message]:
    """The RPC that carries out `command` in `room`, and its request."""
    user, why = command.arg, command.text
    duration = Duration(seconds=command.seconds) if command.seconds else None
    match command.kind:
        case Kind.KICK:
            return "Kick", chat_pb2.KickRequest(room=room, user=user, reason=why)
        case Kind.MUTE:
            return "Mute", chat_pb2.MuteRequest(room=room, user=user, reason=why, duration=duration)
        case Kind.UNMUTE:
            return "Unmute", chat_pb2.UnmuteRequest(room=room, user=user)
        case Kind.BAN:
            return "Ban", chat_pb2.BanRequest(room=room, user=user, reason=why, duration=duration)
        case Kind.UNBAN:
            return "Unban", chat_pb2.UnbanRequest(room=room, user=user)
        case Kind.OP:
            return "Op", chat_pb2.OpRequest(room=room, user=user)
        case Kind.TOPIC:
            return "SetTopic", chat_pb2.SetTopicRequest(room=room, topic=why)
        case Kind.MODS:
            return "GetRoles", chat_pb2.GetRolesRequest(room=room)
        case Kind.BANS:
            return "ListBans", chat_pb2.ListBansRequest(room=room)
    raise ValueError(f"{command.kind} is not a moderation command")


def answer(room: str, command: Command, resp: Message) -> str:
    """The line that shows `resp`, the answer to `command` in `room`; "" for none."""
    user = command.arg
    if isinstance(resp, chat_pb2.UnmuteResponse) and not resp.was_muted:
        return f"{user} is not muted in {room}"
    if isinstance(resp, chat_pb2.UnbanResponse) and not resp.was_banned:
        return f"{user} is not banned from {room}"
    if isinstance(resp, chat_pb2.OpResponse) and not resp.granted:
        return f"{user} already owns {room}"
    if isinstance(resp, chat_pb2.GetRolesResponse):
        return roles_line(room, resp)
    if isinstance(resp, chat_pb2.ListBansResponse):
        return bans_line(room, resp)
    return ""


def roles_line(room: str, resp: chat_pb2.GetRolesResponse) -> str:
    """`Admins: alice. Owners of general: bob. You moderate general. Topic: ...`"""
    if not resp.moderation:
        return "This server has no moderators: it does not require sign-in"

    def listed(names: list[str]) -> str:
        return ", ".join(names) if names else "none"

    parts = [
        f"Admins: {listed(list(resp.admins))}",
        f"Owners of {room}: {listed(list(resp.owners))}",
    ]
    if resp.can_moderate:
        parts.append(f"You moderate {room}")
    if resp.topic:
        parts.append(f"Topic: {resp.topic}")
    return ". ".join(parts)


def bans_line(room: str, resp: chat_pb2.ListBansResponse) -> str:
    """`Banned from general: bob (by alice until 2026-01-02 15:04: spam)`"""
    if not resp.bans:
        return f"Nobody is banned from {room}"
    items = []
    for ban in resp.bans:
        about = f"by {ban.by}"
        if ban.HasField("until"):
            until = datetime.fromtimestamp(ban.until.seconds, UTC).astimezone()
            about += f" until {until:%Y-%m-%d %H:%M}"
        if ban.reason:
            about += f": {ban.reason}"
        items.append(f"{ban.user} ({about})")
    return f"Banned from {room}: " + ", ".join(items)
