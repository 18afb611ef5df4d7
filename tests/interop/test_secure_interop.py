"""Sign-in and mutual TLS across languages, with real processes.

The Go chat server checks sessions with the Python AuthService (which records
them through LoggerService); the Go and Python clients sign in the way a
person would, with the password as their first input line. Certificates come
from the repository's own generator (`go run ./tools/devcerts`).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from pykit.testing.polling import wait_until
from pykit.testing.ports import free_port
from tests.interop.conftest import REPO, ChatServer, Processes
from tests.interop.harness import Proc


def welcomed(proc: Proc, name: str) -> None:
    proc.expect(rf"\*\*\* Welcome, {re.escape(name)}! You are in room general\.")


class AuthStack:
    """LoggerService and AuthService in one Python process."""

    def __init__(self, proc: Proc, auth: str, logger: str) -> None:
        self.proc = proc
        self.auth = auth
        self.logger = logger

    def login(self, username: str = "user1", password: str = "password1") -> str:
        with grpc.insecure_channel(self.auth) as channel:
            reply = auth_pb2_grpc.AuthServiceStub(channel).Login(
                auth_pb2.LoginRequest(username=username, password=password), timeout=15
            )
        return reply.session_id

    def events(self, event_type: str) -> list[str]:
        with grpc.insecure_channel(self.logger) as channel:
            reply = logger_pb2_grpc.LoggerServiceStub(channel).QueryLogs(
                logger_pb2.QueryLogsRequest(event_type=event_type, limit=100), timeout=15
            )
        return [entry.details for entry in reply.entries]


@pytest.fixture
def auth_stack(tmp_path: Path) -> Iterator[AuthStack]:
    auth, logger = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    proc = Proc(
        "auth+logger",
        [
            sys.executable,
            "-m",
            "pyservices",
            "logger",
            "auth",
            "--data-dir",
            str(tmp_path / "py"),
            "--auth-addr",
            auth,
            "--logger-addr",
            logger,
            "--metrics-addr",
            "",
        ],
        cwd=REPO,
    )
    try:
        for address in (auth, logger):
            with grpc.insecure_channel(address) as channel:
                grpc.channel_ready_future(channel).result(timeout=30)
        yield AuthStack(proc, auth, logger)
    finally:
        proc.stop()


@pytest.fixture
def signin_server(procs: Processes, auth_stack: AuthStack) -> ChatServer:
    return procs.server("-auth-server", auth_stack.auth, "-metrics-addr", "")


def go_login(procs: Processes, server: ChatServer, stack: AuthStack, name: str) -> Proc:
    return procs.start(
        f"go-client {name}",
        [
            str(procs.go_bin / "chat-client"),
            "-login",
            "-auth-server",
            stack.auth,
            name,
            "general",
            server.address,
        ],
    )


def py_login(procs: Processes, server: ChatServer, stack: AuthStack, name: str) -> Proc:
    return procs.start(
        f"py-client {name}",
        [
            sys.executable,
            "pyclient/client.py",
            "--login",
            "--auth-server",
            stack.auth,
            name,
            "general",
            server.address,
        ],
    )


def test_both_clients_sign_in_and_chat(
    procs: Processes, signin_server: ChatServer, auth_stack: AuthStack
) -> None:
    go = go_login(procs, signin_server, auth_stack, "user1")
    go.send("password1")
    welcomed(go, "user1")
    py = py_login(procs, signin_server, auth_stack, "user1")
    py.send("password1")
    # The same account twice stays distinguishable.
    welcomed(py, "user1(2)")
    go.expect(r">>> user1\(2\) joined the room$")
    py.send("signed in from Python")
    go.expect(r"^\[user1\(2\)\]: signed in from Python$")
    go.send("signed in from Go")
    py.expect(r"^\[user1\]: signed in from Go$")
    # Presence asks with the same session token as the chat stream.
    for client in (go, py):
        client.send("/who")
        client.expect(r"\*\*\* 2 members in room general: user1, user1\(2\)$")
    # The logins went through AuthService into LoggerService's audit log.
    assert auth_stack.events("SESSION_STARTED").count("User 'user1' logged in") >= 2


def test_signed_in_name_cannot_be_claimed(
    procs: Processes, signin_server: ChatServer, auth_stack: AuthStack
) -> None:
    token = auth_stack.login()
    # A client holding user1's token but asking to be "admin" is still user1.
    impostor = procs.start(
        "py-client admin",
        [
            sys.executable,
            "pyclient/client.py",
            "--token",
            token,
            "admin",
            "general",
            signin_server.address,
        ],
    )
    welcomed(impostor, "user1")
    listener = procs.start(
        "go-client listener",
        [
            str(procs.go_bin / "chat-client"),
            "-token",
            token,
            "listener",
            "general",
            signin_server.address,
        ],
    )
    welcomed(listener, "user1(2)")
    impostor.send("I am admin")
    listener.expect(r"^\[user1\]: I am admin$")


@pytest.mark.parametrize("kind", ["go", "py"])
def test_wrong_password_is_one_line(
    procs: Processes, signin_server: ChatServer, auth_stack: AuthStack, kind: str
) -> None:
    login = go_login if kind == "go" else py_login
    client = login(procs, signin_server, auth_stack, "user1")
    client.send("not the password")
    assert client.wait(timeout=30) == 1
    assert client.stderr_lines == ["error: sign-in failed: invalid username or password"]
    # AuthService hands audit events to LoggerService through its outbox, after answering.
    asyncio.run(wait_until(lambda: _has_events(auth_stack, "LOGIN_FAILED"), what="LOGIN_FAILED"))


async def _has_events(stack: AuthStack, event_type: str) -> bool:
    return bool(await asyncio.to_thread(stack.events, event_type))


@pytest.mark.parametrize("kind", ["go", "py"])
def test_invalid_token_is_unauthenticated(
    procs: Processes, signin_server: ChatServer, kind: str
) -> None:
    argv = (
        [str(procs.go_bin / "chat-client"), "-token", "not-a-session"]
        if kind == "go"
        else [sys.executable, "pyclient/client.py", "--token", "not-a-session"]
    )
    client = procs.start(f"{kind}-client", [*argv, "someone", "general", signin_server.address])
    assert client.wait(timeout=30) == 1
    assert len(client.stderr_lines) == 1, client.stderr_lines
    assert client.stderr_lines[0].startswith("error: sign-in failed: ")
    assert "invalid or expired" in client.stderr_lines[0]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A development CA with server and client certificates, and an unrelated CA."""
    out = tmp_path_factory.mktemp("certs")
    for name in ("good", "other"):
        subprocess.run(
            ["go", "run", "./tools/devcerts", "-out", str(out / name)], cwd=REPO, check=True
        )
    return out


@pytest.fixture
def mtls_server(procs: Processes, certs: Path) -> ChatServer:
    good = certs / "good"
    port = free_port()  # the server restarts on it
    address = f"127.0.0.1:{port}"
    proc = procs.start(
        "chat-server mtls",
        [
            str(procs.go_bin / "chat-server"),
            "-addr",
            address,
            "-data-dir",
            "",
            "-metrics-addr",
            "",
            "-tls-cert",
            str(good / "server.pem"),
            "-tls-key",
            str(good / "server-key.pem"),
            "-tls-client-ca",
            str(good / "ca.pem"),
        ],
    )
    # Ready once it logs that it listens (a plaintext health check cannot talk to it).
    proc.expect("chat server listening", stream="stderr")
    return ChatServer(proc, f"localhost:{port}", Path())


def tls_args(kind: str, ca_dir: Path, client_dir: Path | None) -> list[str]:
    dash = "-" if kind == "go" else "--"
    args = [f"{dash}ca", str(ca_dir / "ca.pem")]
    if client_dir is not None:
        args += [
            f"{dash}cert",
            str(client_dir / "client.pem"),
            f"{dash}key",
            str(client_dir / "client-key.pem"),
        ]
    return args


def tls_client(procs: Processes, kind: str, server: ChatServer, name: str, args: list[str]) -> Proc:
    argv = (
        [str(procs.go_bin / "chat-client")]
        if kind == "go"
        else [sys.executable, "pyclient/client.py"]
    )
    return procs.start(f"{kind}-client {name}", [*argv, *args, name, "general", server.address])


def test_mutual_tls_across_languages(
    procs: Processes, mtls_server: ChatServer, certs: Path
) -> None:
    good = certs / "good"
    go = tls_client(procs, "go", mtls_server, "Gopher", tls_args("go", good, good))
    welcomed(go, "Gopher")
    py = tls_client(procs, "py", mtls_server, "Pythonista", tls_args("py", good, good))
    welcomed(py, "Pythonista")
    py.send("over mutual TLS")
    go.expect(r"^\[Pythonista\]: over mutual TLS$")


@pytest.mark.parametrize("kind", ["go", "py"])
@pytest.mark.parametrize("case", ["wrong CA", "no client certificate", "plaintext"])
def test_tls_refusals_are_one_line(
    procs: Processes, mtls_server: ChatServer, certs: Path, kind: str, case: str
) -> None:
    good, other = certs / "good", certs / "other"
    args = {
        "wrong CA": tls_args(kind, other, good),
        "no client certificate": tls_args(kind, good, None),
        "plaintext": [],
    }[case]
    client = tls_client(procs, kind, mtls_server, "Refused", args)
    assert client.wait(timeout=30) == 1
    assert len(client.stderr_lines) == 1, client.stderr_lines
    line = client.stderr_lines[0]
    assert line.startswith("error: "), line
    if case == "wrong CA":
        assert "TLS handshake failed" in line, line
    assert client.lines == []
