"""Moderation across languages, with real processes.

The Go chat server requires sign-in (Python AuthService) and sends every moderation action to
the Python LoggerService's audit log; its admin moderates from the Go and the Python client as
a person would type it, and the members are the other client. LoggerService and AuthService run
as separate processes, so that the Logger can be down while the chat server acts.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
from polychat.chat import chat_pb2, chat_pb2_grpc
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from pykit.testing.polling import wait_until
from pykit.testing.ports import free_port
from tests.interop import rawchat
from tests.interop.conftest import REPO, ChatServer, Processes
from tests.interop.harness import Proc, wait_serving

WRITE_KEY = "moderation-interop-write-key"
ADMIN = "boss"
PASSWORD = "a long password"
USERS = (ADMIN, "alice", "bob", "carol")


class Services:
    """LoggerService and AuthService, each a process of its own."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.logger = f"127.0.0.1:{free_port()}"
        self.auth = f"127.0.0.1:{free_port()}"
        self.logger_proc = self._start_logger()
        self.auth_proc = self._service(
            "auth", "--auth-addr", self.auth, "--logger-addr", self.logger
        )
        self._ready(self.auth)
        self.tokens = {user: self._register(user) for user in USERS}

    def _service(self, name: str, *args: str) -> Proc:
        return Proc(
            name,
            [
                sys.executable,
                "-m",
                "pyservices",
                name,
                "--data-dir",
                str(self.tmp_path / name),
                "--metrics-addr",
                "",
                *args,
            ],
            cwd=REPO,
            env={"LOGGER_WRITE_KEY": WRITE_KEY},
        )

    def _start_logger(self) -> Proc:
        proc = self._service("logger", "--logger-addr", self.logger)
        self._ready(self.logger)
        return proc

    @staticmethod
    def _ready(address: str) -> None:
        with grpc.insecure_channel(address) as channel:
            grpc.channel_ready_future(channel).result(timeout=30)

    def stop_logger(self) -> None:
        self.logger_proc.stop()

    def restart_logger(self) -> None:
        self.logger_proc = self._start_logger()

    def _register(self, user: str) -> str:
        with grpc.insecure_channel(self.auth) as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            stub.RegisterUser(auth_pb2.RegisterUserRequest(username=user, password=PASSWORD))
            return stub.Login(auth_pb2.LoginRequest(username=user, password=PASSWORD)).session_id

    def audit(self, event_type: str) -> list[logger_pb2.LogEntry]:
        """The audit log's events of this type."""
        with grpc.insecure_channel(self.logger) as channel:
            reply = logger_pb2_grpc.LoggerServiceStub(channel).QueryLogs(
                logger_pb2.QueryLogsRequest(event_type=event_type, limit=100), timeout=15
            )
        return list(reply.entries)

    def stop(self) -> None:
        self.auth_proc.stop()
        self.logger_proc.stop()


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    stack = Services(tmp_path)
    try:
        yield stack
    finally:
        stack.stop()


def chat_server(procs: Processes, services: Services, port: int = 0) -> ChatServer:
    """The chat server, signed in and audited; with `port`, on that port (a restart)."""
    address = f"127.0.0.1:{port or free_port()}"
    proc = procs.start(
        "chat-server",
        [
            str(procs.go_bin / "chat-server"),
            "-addr",
            address,
            "-data-dir",
            str(procs.tmp_path / "chat-data"),
            "-metrics-addr",
            "",
            "-web-addr",
            "",
            "-auth-server",
            services.auth,
            "-admins",
            ADMIN,
            "-logger-server",
            services.logger,
        ],
        env={"LOGGER_WRITE_KEY": WRITE_KEY},
    )
    wait_serving(address, [proc], "chat.ChatService")
    return ChatServer(proc, address, procs.tmp_path / "chat-data")


def client(procs: Processes, kind: str, server: ChatServer, services: Services, user: str) -> Proc:
    """A Go ("go") or Python ("py") client signed in as `user`, welcomed in general."""
    if kind == "go":
        argv = [str(procs.go_bin / "chat-client"), "-token", services.tokens[user]]
    else:
        argv = [sys.executable, "pyclient/client.py", "--token", services.tokens[user]]
    proc = procs.start(f"{kind}-client {user}", [*argv, user, "general", server.address])
    proc.expect(rf"\*\*\* Welcome, {user}(\(\d+\))?! You are in room general\.")
    return proc


def ended_with(proc: Proc, text: str) -> None:
    """The client exited after saying the server ended its stream with `text`."""
    assert proc.wait() != 0
    said = "\n".join(proc.lines + proc.stderr_lines)
    assert text in said, said


def rpc(server: ChatServer, services: Services, method: str, request: object) -> object:
    """Call a moderation RPC as the admin, as grpcurl would."""
    with grpc.insecure_channel(server.address) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        return getattr(stub, method)(
            request,
            metadata=[("authorization", f"Bearer {services.tokens[ADMIN]}")],
            timeout=15,
        )


def audited_once(services: Services, event_type: str, details: str) -> None:
    """The audit log has the event whose details start with `details` once: wait for it, then
    check it is not doubled. The chat server wrote it with the write key, as `chat`."""

    def found() -> list[logger_pb2.LogEntry]:
        return [e for e in services.audit(event_type) if e.details.startswith(details)]

    async def present() -> bool:
        return bool(found())

    asyncio.run(wait_until(present, within=30, what=f"{event_type} {details} in the audit log"))
    entries = found()
    assert len(entries) == 1, entries
    assert entries[0].writer == "key:chat"


def test_kick_and_a_mute_that_ends(procs: Processes, services: Services) -> None:
    server = chat_server(procs, services)
    admin = client(procs, "go", server, services, ADMIN)
    bob = client(procs, "py", server, services, "bob")
    carol = client(procs, "py", server, services, "carol")
    admin.expect(r">>> carol joined the room$")

    admin.send("/kick bob too loud")
    carol.expect(r"\*\*\* boss kicked bob: too loud$")
    bob.expect(r"\*\*\* boss kicked bob: too loud$")
    ended_with(bob, "kicked from general by boss: too loud")
    audited_once(services, "CHAT_KICK", 'actor=boss target=bob room=general reason="too loud"')

    # A Python admin mutes carol for 2s; her line is refused, her stream goes on.
    py_admin = client(procs, "py", server, services, ADMIN)
    py_admin.send("/mute carol 2s")
    carol.expect(r"\*\*\* boss muted carol for 2s$")
    carol.send("can I talk?")
    refused = carol.expect(r"\*\*\* Not sent: you are muted in general until (.*) UTC$")
    until = re.search(r"until (\S+ \S+) UTC", refused)
    assert until is not None
    ends = datetime.strptime(until.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    # The mute ends on the clock: wait for that moment, not for a message.
    time.sleep(max(0.0, ends.timestamp() + 1 - time.time()))
    carol.send("back again")
    admin.expect(r"^\[carol\]: back again$")
    assert not any("can I talk?" in line for line in admin.lines)
    audited_once(services, "CHAT_MUTE", "actor=boss target=carol room=general until=")


def test_ban_survives_a_restart_and_a_reconnect(procs: Processes, services: Services) -> None:
    port = free_port()  # the server restarts on it
    server = chat_server(procs, services, port)
    admin = client(procs, "py", server, services, ADMIN)
    bob = client(procs, "go", server, services, "bob")
    admin.send("/ban bob spam")
    ended_with(bob, "you are banned from room general until an owner lifts the ban by boss: spam")
    admin.expect(r"\*\*\* boss banned bob: spam$")

    # The ban is kept with the rooms in NATS: it holds after a restart ...
    server.proc.stop()
    server = chat_server(procs, services, port)
    again = procs.start(
        "go-client bob again",
        [
            str(procs.go_bin / "chat-client"),
            "-token",
            services.tokens["bob"],
            "bob",
            "general",
            server.address,
        ],
    )
    ended_with(again, "you are banned from room general")
    # ... and for a raw stream of bob's too.
    raw = rawchat.join(server.address, authorization=services.tokens["bob"])
    err = raw.wait_end()
    raw.close()
    assert err is not None and err.code() == grpc.StatusCode.PERMISSION_DENIED, err

    bans = rpc(server, services, "ListBans", chat_pb2.ListBansRequest(room="general"))
    assert [b.user for b in bans.bans] == ["bob"]  # type: ignore[attr-defined]
    rpc(server, services, "Unban", chat_pb2.UnbanRequest(room="general", user="bob"))
    client(procs, "go", server, services, "bob")
    audited_once(services, "CHAT_BAN", "actor=boss target=bob room=general reason=spam")
    audited_once(services, "CHAT_UNBAN", "actor=boss target=bob room=general")


def test_actions_reach_the_audit_log_once_after_the_logger_was_down(
    procs: Processes, services: Services
) -> None:
    server = chat_server(procs, services)
    services.stop_logger()
    rpc(
        server,
        services,
        "Mute",
        chat_pb2.MuteRequest(room="red", user="alice", duration=Duration(seconds=600)),
    )
    rpc(server, services, "SetTopic", chat_pb2.SetTopicRequest(room="red", topic="quiet"))
    rpc(server, services, "Op", chat_pb2.OpRequest(room="red", user="carol"))
    services.restart_logger()
    audited_once(services, "CHAT_TOPIC", "actor=boss room=red topic=quiet")
    audited_once(services, "CHAT_OP", "actor=boss target=carol room=red")
    audited_once(services, "CHAT_MUTE", "actor=boss target=alice room=red until=")
