"""How the answers of ListMembers and ListRooms are shown (/who, /rooms), as the Go client does."""

from __future__ import annotations

from polychat.chat import chat_pb2

from pykit.text import sanitize


def _counted(n: int, one: str, many: str) -> str:
    return f"1 {one}" if n == 1 else f"{n} {many}"


def _listed(items: list[str], total: int) -> str:
    """`: a, b` for all of `total`, or `; the first 2: a, b` for a first page."""
    if len(items) < total:
        return f"; the first {len(items)}: " + ", ".join(items)
    return ": " + ", ".join(items)


def members_line(room: str, resp: chat_pb2.ListMembersResponse) -> str:
    """`3 members in room general: Alice, Bob, Carol` (or the first page of a large room)."""
    if resp.total == 0:
        return sanitize(f"Nobody is in room {room}")
    names = [m.name for m in resp.members]
    return sanitize(
        f"{_counted(resp.total, 'member', 'members')} in room {room}{_listed(names, resp.total)}"
    )


def rooms_line(resp: chat_pb2.ListRoomsResponse) -> str:
    """`2 rooms: general (3), red (1)` (or the first page of many)."""
    if resp.total == 0:
        return "No room has members"
    rooms = [f"{r.name} ({r.member_count})" for r in resp.rooms]
    return sanitize(f"{_counted(resp.total, 'room', 'rooms')}{_listed(rooms, resp.total)}")
