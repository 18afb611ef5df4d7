"""The moderation commands' requests and answer lines, as the Go client words them."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from polychat.chat import chat_pb2

from pyclient.commands import parse
from pyclient.moderation import answer, bans_line, request, roles_line


def test_requests_name_the_room_the_user_and_the_duration() -> None:
    method, req = request("red", parse('/mute "Bob Smith" 1h30m calm down'))
    assert method == "Mute"
    assert req == chat_pb2.MuteRequest(
        room="red", user="Bob Smith", reason="calm down", duration={"seconds": 5400}
    )
    method, req = request("red", parse("/ban bob spam"))
    assert method == "Ban"
    assert isinstance(req, chat_pb2.BanRequest)
    assert not req.HasField("duration")
    assert req.reason == "spam"
    assert request("red", parse("/topic"))[1] == chat_pb2.SetTopicRequest(room="red")
    assert request("red", parse("/bans")) == ("ListBans", chat_pb2.ListBansRequest(room="red"))


def test_answers_say_only_what_the_notice_does_not() -> None:
    assert answer("red", parse("/kick bob"), chat_pb2.KickResponse(memberships=1)) == ""
    assert answer("red", parse("/unmute bob"), chat_pb2.UnmuteResponse()) == (
        "bob is not muted in red"
    )
    assert answer("red", parse("/unban bob"), chat_pb2.UnbanResponse(was_banned=True)) == ""
    assert answer("red", parse("/op bob"), chat_pb2.OpResponse()) == "bob already owns red"


def test_roles_line() -> None:
    assert roles_line("general", chat_pb2.GetRolesResponse()) == (
        "This server has no moderators: it does not require sign-in"
    )
    roles = chat_pb2.GetRolesResponse(
        moderation=True, admins=["Root"], owners=["Alice"], can_moderate=True, topic="release"
    )
    assert roles_line("general", roles) == (
        "Admins: Root. Owners of general: Alice. You moderate general. Topic: release"
    )
    assert roles_line("red", chat_pb2.GetRolesResponse(moderation=True)) == (
        "Admins: none. Owners of red: none"
    )


def test_bans_line() -> None:
    assert bans_line("red", chat_pb2.ListBansResponse()) == "Nobody is banned from red"
    bans = chat_pb2.ListBansResponse(
        bans=[
            chat_pb2.RoomBan(user="Bob", by="Alice", reason="spam"),
            chat_pb2.RoomBan(user="Carl", by="Alice", until=Timestamp(seconds=1_900_000_000)),
        ]
    )
    line = bans_line("general", bans)
    assert line.startswith("Banned from general: Bob (by Alice: spam), Carl (by Alice until 20")
