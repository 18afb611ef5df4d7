"""How /who and /rooms word the server's answers, as the Go client does."""

from __future__ import annotations

from polychat.chat import chat_pb2

from pyclient.presence import members_line, rooms_line


def members(total: int, *names: str) -> chat_pb2.ListMembersResponse:
    return chat_pb2.ListMembersResponse(
        members=[chat_pb2.Member(name=n) for n in names], total=total
    )


def test_members_line() -> None:
    assert members_line("general", members(0)) == "Nobody is in room general"
    assert members_line("red", members(1, "Dave")) == "1 member in room red: Dave"
    assert members_line("general", members(3, "Alice", "Bob", "Carol")) == (
        "3 members in room general: Alice, Bob, Carol"
    )
    # A room larger than a page: the count, and the first page.
    assert members_line("big", members(10000, "a", "b")) == (
        "10000 members in room big; the first 2: a, b"
    )
    assert members_line("x", members(1, "Ev\x1bil")) == "1 member in room x: Ev\\x1bil"


def test_rooms_line() -> None:
    assert rooms_line(chat_pb2.ListRoomsResponse()) == "No room has members"
    rooms = [
        chat_pb2.Room(name="general", member_count=3),
        chat_pb2.Room(name="red", member_count=1),
    ]
    assert rooms_line(chat_pb2.ListRoomsResponse(rooms=rooms, total=2)) == (
        "2 rooms: general (3), red (1)"
    )
    assert rooms_line(chat_pb2.ListRoomsResponse(rooms=rooms[:1], total=250)) == (
        "250 rooms; the first 1: general (3)"
    )
