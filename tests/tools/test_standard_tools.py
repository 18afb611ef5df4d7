"""grpcurl, grpc_health_probe and ghz against every Polychat server.

People point the tools they already use at our servers, so these tests use
the real tools (built from the versions pinned in tools/grpctools/go.mod, and
ghz installed from the Go module proxy), the real chat server and the real
Python services, each as a process on a free loopback port.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pykit.testing.ports import free_port
from tests.interop import rawchat, rawfiles
from tests.interop.harness import Proc, wait_serving

REPO = Path(__file__).resolve().parents[2]
GHZ_VERSION = "v0.93.0"
# LoggerService takes events only from known writers: the tools send the key it is given.
WRITE_KEY = "tools-test-write-key"
WRITER_HEADERS = {"logger-write-key": WRITE_KEY, "logger-writer": "tools"}
# The key the chat server and StreamingService sign and check file grants with.
FILE_KEY = "tools-test-file-key-of-32-bytes-or-more"
TOOL_TIMEOUT = 60

# One valid call for every method of every Polychat service, as grpcurl takes
# it: JSON request messages (several for a client stream), and text the
# answer must contain. A method missing here fails test_every_method_is_called.
CALLS: dict[str, tuple[list[dict], str]] = {
    "chat.ChatService/ChatStream": (
        [{"user": "curl", "message": "hi from grpcurl"}, {"kind": "KIND_LEAVE"}],
        "is now known as curl",
    ),
    # An empty room answers "{}": test_grpcurl_lists_members_and_rooms fills one.
    "chat.ChatService/ListMembers": ([{"room": "nobody-here", "pageSize": 10}], "{"),
    "chat.ChatService/ListRooms": ([{"pageSize": 10}], "{"),
    # Without sign-in the server has no moderators: GetRoles answers an empty message.
    "chat.ChatService/GetRoles": ([{"room": "general"}], "{}"),
    # Join streams until its membership leaves; Send and Leave name that membership by the
    # member token of Join's welcome (see membership() below).
    "chat.ChatService/Join": (
        [{"user": "curl-web", "room": "tools-web"}],
        "Welcome, curl-web! You are in room tools-web.",
    ),
    "chat.ChatService/Send": ([{"message": "hi from grpcurl Send"}], "{"),
    "chat.ChatService/Leave": ([{}], "{"),
    # The moderation RPCs go to a second chat server that requires sign-in, where
    # the tools' user (user1) is an admin (see MODERATION below).
    "chat.ChatService/Kick": ([{"room": "tools-mod", "user": "someone", "reason": "grpcurl"}], "{"),
    "chat.ChatService/Mute": (
        [{"room": "tools-mod", "user": "someone", "duration": "600s"}],
        '"until"',
    ),
    "chat.ChatService/Unmute": ([{"room": "tools-mod", "user": "nobody"}], "{"),
    "chat.ChatService/Ban": (
        [{"room": "tools-mod", "user": "banned", "duration": "60s"}],
        '"until"',
    ),
    "chat.ChatService/Unban": ([{"room": "tools-mod", "user": "nobody"}], "{"),
    "chat.ChatService/Op": ([{"room": "tools-mod", "user": "owner"}], "{"),
    "chat.ChatService/SetTopic": ([{"room": "tools-mod", "topic": "tools"}], "{"),
    "chat.ChatService/ListBans": ([{"room": "tools-mod"}], "{"),
    "polychat.file.v1.FileService/SayHello": ([{"name": "grpcurl"}], "Hello, grpcurl!"),
    "polychat.file.v1.FileService/GetServerTime": ([{}], '"formatted"'),
    "polychat.file.v1.FileService/WriteFile": (
        [{"name": "from-grpcurl.txt", "content": "aGk="}],
        '"size": "2"',
    ),
    "polychat.file.v1.FileService/ListFiles": ([{}], '"name": "listed.txt"'),  # see below
    "polychat.random.v1.RandomService/StreamRandomNumbers": (
        [{"min": 1, "max": 6, "count": 2, "interval": "0.01s"}],
        '"sequence": "2"',
    ),
    "polychat.streaming.v1.StreamingService/StreamServerTime": ([], ""),  # endless: see below
    "polychat.streaming.v1.StreamingService/UploadFile": (
        [{"metadata": {"name": "up-grpcurl.txt", "size": 2}}, {"chunk": "aGk="}],
        '"sha256": "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"',
    ),
    "polychat.streaming.v1.StreamingService/Chat": ([{"message": "hi"}], "Client(1)"),
    # A file shared in a chat room, under a grant (see file_request below).
    "polychat.streaming.v1.StreamingService/DownloadFile": ([{}], '"chunk": "aGk="'),
    "chat.ChatService/OfferFile": ([{"name": "curl.txt", "size": 2}], '"uploadGrant"'),
    "chat.ChatService/ShareFile": ([{}], '"sha256": "8f434346648f6b96df89dda901c5176b'),
    "chat.ChatService/GetFile": ([{}], '"downloadGrant"'),
    "polychat.auth.v1.AuthService/Login": (
        [{"username": "user1", "password": "password1"}],
        '"session_id"',
    ),
    "polychat.auth.v1.AuthService/ValidateSession": ([], '"username": "user1"'),  # needs a token
    "polychat.auth.v1.AuthService/Logout": ([], "Logout successful"),  # needs a token
    "polychat.auth.v1.AuthService/RegisterUser": (
        [{"username": "grpcurl-user", "password": "a long password"}],
        '"username": "grpcurl-user"',
    ),
    "polychat.logger.v1.LoggerService/LogEvent": (
        [{"eventType": "GRPCURL", "details": "from grpcurl"}],
        '"id"',
    ),
    "polychat.logger.v1.LoggerService/QueryLogs": ([{"eventType": "GRPCURL"}], "from grpcurl"),
    "polychat.user.v1.UserService/GetUser": ([{"userId": 1}], "Alice Johnson"),
    "polychat.user.v1.UserService/CreateUser": (
        [{"name": "Curl User", "email": "curl@example.com", "age": 30}],
        '"user_id"',
    ),
    "polychat.user.v1.UserService/ListUsers": ([{"limit": 2}], "Bob Smith"),
    "polychat.user.v1.UserService/BatchCreateUsers": (
        [
            {"name": "Batch One", "email": "batch1@example.com", "age": 20},
            {"name": "Batch Two", "email": "batch2@example.com", "age": 21},
        ],
        '"users_created": 2',
    ),
    "polychat.user.v1.UserService/StreamUsers": (
        [{"userId": 1, "message": "hello"}],
        "Server received: hello",
    ),
}

# The methods called on the signed-in chat server, as its admin.
MODERATION = {
    f"chat.ChatService/{name}"
    for name in ("Kick", "Mute", "Unmute", "Ban", "Unban", "Op", "SetTopic", "ListBans")
}
MODERATOR = "user1"

# Unary RPCs and the ghz request that loads each one (ghz takes the proto's own
# snake_case field names; its templates make the writes unique). Login hashes a
# password (argon2) on purpose, so it gets few calls.
GHZ_LOADS: dict[str, tuple[dict, int]] = {
    "chat.ChatService/ListMembers": ({"room": "general"}, 200),
    "chat.ChatService/ListRooms": ({}, 200),
    "chat.ChatService/GetRoles": ({"room": "general"}, 200),
    # One membership: within the server's burst of 40 messages, and one leave.
    "chat.ChatService/Send": ({"member_token": "MEMBER", "message": "load"}, 30),
    "chat.ChatService/Leave": ({"member_token": "MEMBER"}, 1),
    "chat.ChatService/Kick": ({"room": "tools-ghz-mod", "user": "someone"}, 20),
    "chat.ChatService/Mute": ({"room": "tools-ghz-mod", "user": "someone", "duration": "60s"}, 20),
    "chat.ChatService/Unmute": ({"room": "tools-ghz-mod", "user": "someone"}, 20),
    "chat.ChatService/Ban": ({"room": "tools-ghz-mod", "user": "someone", "duration": "60s"}, 20),
    "chat.ChatService/Unban": ({"room": "tools-ghz-mod", "user": "someone"}, 20),
    "chat.ChatService/Op": ({"room": "tools-ghz-mod", "user": "owner"}, 20),
    "chat.ChatService/SetTopic": ({"room": "tools-ghz-mod", "topic": "load"}, 20),
    "chat.ChatService/ListBans": ({"room": "tools-ghz-mod"}, 50),
    # Each offer takes a new file id; a receipt is shared once; a file is granted often.
    "chat.ChatService/OfferFile": ({"member_token": "MEMBER", "name": "ghz.txt", "size": 2}, 50),
    "chat.ChatService/ShareFile": ({"member_token": "MEMBER", "receipt": "RECEIPT"}, 1),
    "chat.ChatService/GetFile": ({"member_token": "MEMBER", "file_id": "FILE"}, 100),
    "polychat.file.v1.FileService/SayHello": ({"name": "ghz"}, 200),
    "polychat.file.v1.FileService/GetServerTime": ({}, 200),
    "polychat.file.v1.FileService/WriteFile": (
        {"name": "ghz-{{.RequestNumber}}-{{.TimestampUnix}}.txt", "content": "aGk="},
        100,
    ),
    "polychat.file.v1.FileService/ListFiles": ({}, 100),
    "polychat.auth.v1.AuthService/Login": ({"username": "user1", "password": "password1"}, 10),
    "polychat.auth.v1.AuthService/ValidateSession": ({"session_id": "TOKEN"}, 200),
    "polychat.auth.v1.AuthService/Logout": ({"session_id": "TOKEN"}, 50),
    "polychat.auth.v1.AuthService/RegisterUser": (
        {"username": "ghz-{{.RequestNumber}}-{{.TimestampUnix}}", "password": "a long password"},
        10,
    ),
    "polychat.logger.v1.LoggerService/LogEvent": ({"event_type": "GHZ", "details": "load"}, 200),
    "polychat.logger.v1.LoggerService/QueryLogs": ({"limit": 5}, 200),
    "polychat.user.v1.UserService/GetUser": ({"user_id": 1}, 200),
    "polychat.user.v1.UserService/CreateUser": (
        {"name": "Ghz", "email": "ghz{{.RequestNumber}}.{{.TimestampUnix}}@example.com", "age": 9},
        100,
    ),
}


@dataclass
class Tools:
    grpcurl: Path
    probe: Path
    ghz: Path


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Tools:
    """Build grpcurl and grpc_health_probe at their pinned versions; install ghz."""
    out = tmp_path_factory.mktemp("tools")
    subprocess.run(
        [
            "go",
            "build",
            "-o",
            str(out) + "/",
            "github.com/fullstorydev/grpcurl/cmd/grpcurl",
            "github.com/grpc-ecosystem/grpc-health-probe",
        ],
        cwd=REPO / "tools" / "grpctools",
        check=True,
    )
    # ghz needs the older grpc its own go.mod asks for, so it is installed alone.
    subprocess.run(
        ["go", "install", f"github.com/bojand/ghz/cmd/ghz@{GHZ_VERSION}"],
        env={**os.environ, "GOBIN": str(out)},
        check=True,
    )
    return Tools(out / "grpcurl", out / "grpc-health-probe", out / "ghz")


@dataclass
class Servers:
    """Where each service listens."""

    address: dict[str, str]  # full service name -> host:port
    moderated: str  # the chat server that requires sign-in, with MODERATOR its admin


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The chat server and all six Python services, on free loopback ports."""
    data = tmp_path_factory.mktemp("tools-data")
    bin_dir = tmp_path_factory.mktemp("tools-bin")
    key_file = data / "file.key"
    key_file.write_text(FILE_KEY + "\n")
    subprocess.run(
        ["go", "build", "-o", str(bin_dir / "chat-server"), "./server"], cwd=REPO, check=True
    )
    ports = {
        name: free_port()
        for name in ("chat", "moderated", "file", "random", "logger", "auth", "streaming", "user")
    }
    addr = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    procs = [
        Proc(
            "chat-server",
            [
                str(bin_dir / "chat-server"),
                "-addr",
                addr["chat"],
                "-data-dir",
                str(data),
                "-metrics-addr",
                "",
                "-file-key-file",
                str(key_file),
            ],
            cwd=REPO,
        ),
        Proc(
            "signed-in chat-server",
            [
                str(bin_dir / "chat-server"),
                "-addr",
                addr["moderated"],
                "-data-dir",
                str(tmp_path_factory.mktemp("tools-moderated")),
                "-metrics-addr",
                "",
                "-web-addr",
                "",
                "-auth-server",
                addr["auth"],
                "-admins",
                MODERATOR,
            ],
            cwd=REPO,
        ),
        Proc(
            "pyservices",
            [
                sys.executable,
                "-m",
                "pyservices",
                "--data-dir",
                str(data),
                "--metrics-addr",
                "",
                *(
                    arg
                    for name in ("file", "random", "logger", "auth", "streaming", "user")
                    for arg in (f"--{name}-addr", addr[name])
                ),
            ],
            cwd=REPO,
            env={"LOGGER_WRITE_KEY": WRITE_KEY, "STREAMING_FILE_KEY_FILE": str(key_file)},
        ),
    ]
    try:
        for address in addr.values():
            wait_serving(address, procs)
        yield Servers(
            {
                "chat.ChatService": addr["chat"],
                "polychat.file.v1.FileService": addr["file"],
                "polychat.random.v1.RandomService": addr["random"],
                "polychat.logger.v1.LoggerService": addr["logger"],
                "polychat.auth.v1.AuthService": addr["auth"],
                "polychat.streaming.v1.StreamingService": addr["streaming"],
                "polychat.user.v1.UserService": addr["user"],
            },
            addr["moderated"],
        )
    finally:
        for proc in procs:
            proc.stop()


def grpcurl(
    tools: Tools, *args: str, data: list[dict] | None = None, timeout: float = TOOL_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    argv = [str(tools.grpcurl), "-plaintext"]
    for key, value in WRITER_HEADERS.items():
        argv += ["-H", f"{key}: {value}"]
    if data is not None:
        argv += ["-d", "@"]
    return subprocess.run(
        [*argv, *args],
        input="\n".join(json.dumps(d) for d in data) if data is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_health_probe_reports_serving(tools: Tools, servers: Servers) -> None:
    for service, address in servers.address.items():
        for name in ("", service):
            result = subprocess.run(
                [
                    str(tools.probe),
                    f"-addr={address}",
                    f"-service={name}",
                    "-connect-timeout=5s",
                    "-rpc-timeout=5s",
                ],
                capture_output=True,
                text=True,
                timeout=TOOL_TIMEOUT,
                check=False,
            )
            assert result.returncode == 0, (service, name, result.stdout, result.stderr)
            assert "SERVING" in result.stdout + result.stderr


def test_grpcurl_lists_every_service(tools: Tools, servers: Servers) -> None:
    for service, address in servers.address.items():
        result = grpcurl(tools, address, "list")
        assert result.returncode == 0, result.stderr
        listed = set(result.stdout.split())
        assert service in listed
        assert "grpc.health.v1.Health" in listed


def methods(tools: Tools, servers: Servers) -> list[str]:
    """Every method of every Polychat service, as reflection describes them."""
    found = []
    for service, address in servers.address.items():
        result = grpcurl(tools, address, "list", service)
        assert result.returncode == 0, result.stderr
        found += [
            line.strip().replace(f"{service}.", f"{service}/")
            for line in result.stdout.splitlines()
            if line.strip()
        ]
    return found


def test_every_method_is_called(tools: Tools, servers: Servers) -> None:
    assert sorted(methods(tools, servers)) == sorted(CALLS)


def login(tools: Tools, servers: Servers) -> str:
    address = servers.address["polychat.auth.v1.AuthService"]
    result = grpcurl(
        tools,
        address,
        "polychat.auth.v1.AuthService/Login",
        data=[{"username": "user1", "password": "password1"}],
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["session_id"]


# The methods that need a membership opened with Join.
MEMBERSHIP = ("chat.ChatService/Join", "chat.ChatService/Send", "chat.ChatService/Leave")


def membership(tools: Tools, address: str, method: str) -> None:
    """Join with grpcurl, call `method` with grpcurl, then Leave: the Join call ends OK."""
    data, expected = CALLS[method]
    request = json.dumps(CALLS[MEMBERSHIP[0]][0][0])
    join = Proc(
        "grpcurl Join",
        [str(tools.grpcurl), "-plaintext", "-d", request, address, MEMBERSHIP[0]],
        cwd=REPO,
    )
    try:
        token = json.loads("{" + join.expect(r'^\s*"memberToken": ').rstrip(",") + "}")
        if method != MEMBERSHIP[0]:
            result = grpcurl(tools, address, method, data=[{**data[0], **token}])
            assert result.returncode == 0, (result.stdout, result.stderr)
            assert expected in result.stdout, result.stdout
        if method != MEMBERSHIP[2]:
            left = grpcurl(tools, address, MEMBERSHIP[2], data=[token])
            assert left.returncode == 0, left.stderr
        assert join.wait() == 0, join.stderr_lines
        assert expected in "\n".join(join.lines) or method != MEMBERSHIP[0], join.lines
    finally:
        join.stop()


@pytest.mark.parametrize("method", sorted(CALLS))
def test_grpcurl_calls_through_reflection(tools: Tools, servers: Servers, method: str) -> None:
    service = method.split("/")[0]
    address = servers.address[service]
    data, expected = CALLS[method]
    if method in MEMBERSHIP:
        membership(tools, address, method)
        return
    if method.endswith(("/ValidateSession", "/Logout")):
        data = [{"sessionId": login(tools, servers)}]
    if method in MODERATION:
        token = login(tools, servers)
        result = grpcurl(
            tools, "-H", f"authorization: Bearer {token}", servers.moderated, method, data=data
        )
        assert result.returncode == 0, (result.stdout, result.stderr)
        assert expected in result.stdout, result.stdout
        return
    if method.endswith("/ListFiles"):
        written = grpcurl(
            tools,
            address,
            "polychat.file.v1.FileService/WriteFile",
            data=[{"name": "listed.txt", "content": "aGk=", "overwrite": True}],
        )
        assert written.returncode == 0, written.stderr
    if method in FILE_METHODS:
        member = rawchat.join_rpc(servers.address["chat.ChatService"], "curl", room="tools-files")
        try:
            data = [{**data[0], **file_request(servers, method, member)}]
            result = grpcurl(tools, address, method, data=data)
        finally:
            member.close()
        assert result.returncode == 0, (result.stdout, result.stderr)
        assert expected in result.stdout, result.stdout
        return
    if method.endswith("/StreamServerTime"):
        # It streams until the caller stops; grpcurl stops at -max-time.
        result = grpcurl(tools, "-max-time", "1.5", address, method, data=[{"interval": "0.1s"}])
        assert '"formatted"' in result.stdout, result.stderr
        assert "DeadlineExceeded" in result.stderr
        return
    result = grpcurl(tools, address, method, data=data)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert expected in result.stdout, result.stdout


def test_grpcurl_moderation_needs_a_moderator(tools: Tools, servers: Servers) -> None:
    """A signed-in user who moderates nothing is refused; an anonymous server has no moderators."""
    auth = servers.address["polychat.auth.v1.AuthService"]
    account = {"username": "tools-member", "password": "a long password"}
    registered = grpcurl(tools, auth, "polychat.auth.v1.AuthService/RegisterUser", data=[account])
    assert registered.returncode == 0, registered.stderr
    signed_in = grpcurl(tools, auth, "polychat.auth.v1.AuthService/Login", data=[account])
    assert signed_in.returncode == 0, signed_in.stderr
    token = json.loads(signed_in.stdout)["session_id"]
    kick = [{"room": "tools-mod", "user": "someone"}]
    refused = grpcurl(
        tools,
        "-H",
        f"authorization: Bearer {token}",
        servers.moderated,
        "chat.ChatService/Kick",
        data=kick,
    )
    assert refused.returncode != 0
    assert "PermissionDenied" in refused.stderr
    assert "only the owners of room tools-mod and the server's admins may kick" in refused.stderr
    anonymous = grpcurl(
        tools, servers.address["chat.ChatService"], "chat.ChatService/Kick", data=kick
    )
    assert anonymous.returncode != 0
    assert "FailedPrecondition" in anonymous.stderr
    assert "this server has no moderators" in anonymous.stderr


# The file RPCs and what each needs prepared: a member of the chat and, but
# for an offer, a file uploaded (ShareFile) or shared (GetFile, DownloadFile).
FILE_METHODS = (
    "chat.ChatService/OfferFile",
    "chat.ChatService/ShareFile",
    "chat.ChatService/GetFile",
    "polychat.streaming.v1.StreamingService/DownloadFile",
)


def file_request(servers: Servers, method: str, member: rawchat.JoinedMember) -> dict:
    """The request of a file RPC for `member`, with what it needs done first."""
    chat = servers.address["chat.ChatService"]
    streaming = servers.address["polychat.streaming.v1.StreamingService"]
    token = member.welcomed().member_token
    if method.endswith("/OfferFile"):
        return {"memberToken": token}
    receipt = rawfiles.offer_and_upload(chat, streaming, token, "curl.txt", b"hi")
    if method.endswith("/ShareFile"):
        return {"memberToken": token, "receipt": receipt}
    shared = rawfiles.share(chat, token, receipt).file
    if method.endswith("/GetFile"):
        return {"memberToken": token, "fileId": shared.id}
    return {"grant": rawfiles.get(chat, token, shared.id).download_grant}


def test_grpcurl_lists_members_and_rooms(tools: Tools, servers: Servers) -> None:
    """Presence is a plain unary RPC: grpcurl pages through it, and a bad token is refused."""
    address = servers.address["chat.ChatService"]
    members = [rawchat.join(address, name, room="tools-room") for name in ("zoe", "Adam", "mia")]
    try:
        for member in members:
            member.expect(rawchat.SYSTEM)  # welcomed: a member
        first = grpcurl(
            tools,
            address,
            "chat.ChatService/ListMembers",
            data=[{"room": "tools-room", "pageSize": 2}],
        )
        assert first.returncode == 0, first.stderr
        page = json.loads(first.stdout)
        assert [m["name"] for m in page["members"]] == ["Adam", "mia"]
        assert page["total"] == 3
        second = grpcurl(
            tools,
            address,
            "chat.ChatService/ListMembers",
            data=[{"room": "tools-room", "pageToken": page["nextPageToken"]}],
        )
        assert second.returncode == 0, second.stderr
        assert [m["name"] for m in json.loads(second.stdout)["members"]] == ["zoe"]

        rooms = grpcurl(tools, address, "chat.ChatService/ListRooms", data=[{}])
        assert rooms.returncode == 0, rooms.stderr
        assert {"name": "tools-room", "memberCount": 3} in json.loads(rooms.stdout)["rooms"]

        bad = grpcurl(tools, address, "chat.ChatService/ListRooms", data=[{"pageToken": "bogus"}])
        assert bad.returncode != 0
        assert "InvalidArgument" in bad.stderr
        assert "page_token is not one this server gave for this list" in bad.stderr
    finally:
        for member in members:
            member.close()


@pytest.mark.parametrize("method", sorted(GHZ_LOADS))
def test_ghz_loads_every_unary_rpc(tools: Tools, servers: Servers, method: str) -> None:
    service = method.split("/")[0]
    data, total = GHZ_LOADS[method]
    if data.get("session_id") == "TOKEN":
        data = {"session_id": login(tools, servers)}
    address = servers.address[service]
    headers = WRITER_HEADERS
    if method in MODERATION:
        address = servers.moderated
        headers = {**headers, "authorization": f"Bearer {login(tools, servers)}"}
    member = None
    if data.get("member_token") == "MEMBER":
        # A membership opened over the generated Python stubs.
        member = rawchat.join_rpc(servers.address[service], "ghz", room="tools-ghz")
        data = {**data, "member_token": member.welcomed().member_token}
        if method in FILE_METHODS:
            prepared = file_request(servers, method, member)
            if "receipt" in prepared:
                data["receipt"] = prepared["receipt"]
            if "fileId" in prepared:
                data["file_id"] = prepared["fileId"]
    result = subprocess.run(
        [
            str(tools.ghz),
            "--insecure",
            "--call",
            method.replace("/", "."),
            "-d",
            json.dumps(data),
            "-n",
            str(total),
            "-c",
            "5",
            "--format",
            "json",
            "--metadata",
            json.dumps(headers),
            address,
        ],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        check=False,
    )
    if member is not None:
        member.close()
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["count"] == total
    assert report.get("statusCodeDistribution") == {"OK": total}, report.get("errorDistribution")


def test_every_unary_rpc_is_loaded(tools: Tools, servers: Servers) -> None:
    streaming = {
        "ChatStream",
        "Join",
        "StreamRandomNumbers",
        "StreamServerTime",
        "UploadFile",
        "DownloadFile",
        "Chat",
        "ListUsers",
        "BatchCreateUsers",
        "StreamUsers",
    }
    unary = {m for m in methods(tools, servers) if m.split("/")[1] not in streaming}
    assert unary == set(GHZ_LOADS)
