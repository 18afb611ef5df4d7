"""AuthService against real servers on loopback, with LoggerService up and down."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from argon2 import PasswordHasher
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from pykit.testing.polling import wait_until
from pykit.testing.processes import kill, read_until, run_module, spawn
from pyservices.auth import server as auth_server
from pyservices.auth.config import AuthOptions
from pyservices.auth.server import SPEC as AUTH_SPEC
from pyservices.logger.server import SPEC as LOGGER_SPEC
from pyservices.runner import Running, start
from pyservices.spec import Settings
from pyservices.tests.servers import make_settings, start_on

INVALID = "invalid username or password"


class Stack:
    """LoggerService and AuthService sharing one data folder, each restartable."""

    def __init__(self, tmp_path: Path) -> None:
        self.logger_dir = tmp_path / "logger"
        self.auth_dir = tmp_path / "auth"
        self.logger: Running | None = None
        self.auth: Running | None = None
        self.logger_port = 0

    async def start_logger(self) -> None:
        self.logger = await start_on(LOGGER_SPEC, make_settings(self.logger_dir), self.logger_port)
        self.logger_port = self.logger.port

    async def stop_logger(self) -> None:
        if self.logger is not None:
            await self.logger.stop(0)
            self.logger = None

    def auth_settings(self) -> Settings:
        return make_settings(self.auth_dir, f"127.0.0.1:{self.logger_port}")

    async def start_auth(self, options: AuthOptions | None = None) -> None:
        self.auth = await start(AUTH_SPEC, "127.0.0.1:0", self.auth_settings(), options)

    async def stop_auth(self) -> None:
        if self.auth is not None:
            await self.auth.stop(0)
            self.auth = None

    async def events(self) -> list[logger_pb2.LogEntry]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.logger_port}") as channel:
            stub = logger_pb2_grpc.LoggerServiceStub(channel)
            response = await stub.QueryLogs(logger_pb2.QueryLogsRequest(limit=1000))
        return list(reversed(response.entries))

    def outbox_size(self) -> int:
        with sqlite3.connect(self.auth_dir / "auth.db") as conn:
            return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])

    async def wait_for_events(self, count: int) -> list[logger_pb2.LogEntry]:
        async def arrived() -> bool:
            return len(await self.events()) >= count and self.outbox_size() == 0

        await wait_until(arrived, within=20, what=f"{count} audit events")
        return await self.events()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    s = Stack(tmp_path)
    try:
        yield s
    finally:
        await s.stop_auth()
        await s.stop_logger()


@pytest.fixture
async def running(stack: Stack) -> Stack:
    await stack.start_logger()
    await stack.start_auth()
    return stack


@pytest.fixture
async def stub(running: Stack) -> AsyncIterator[auth_pb2_grpc.AuthServiceStub]:
    assert running.auth is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.auth.port}") as channel:
        yield auth_pb2_grpc.AuthServiceStub(channel)


async def login(stub: auth_pb2_grpc.AuthServiceStub, user: str, password: str) -> str:
    response = await stub.Login(auth_pb2.LoginRequest(username=user, password=password))
    return response.session_id


async def status_of(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return info.value.code(), info.value.details() or ""


async def test_login_validate_logout(stub: auth_pb2_grpc.AuthServiceStub, running: Stack) -> None:
    response = await stub.Login(auth_pb2.LoginRequest(username="user1", password="password1"))
    token = response.session_id
    assert len(token) >= 40 and response.username == "user1"
    assert response.message == "Login successful"
    valid = await stub.ValidateSession(auth_pb2.ValidateSessionRequest(session_id=token))
    assert valid.username == "user1"
    assert valid.expires_at == response.expires_at
    out = await stub.Logout(auth_pb2.LogoutRequest(session_id=token))
    assert out.message == "Logout successful"
    code, detail = await status_of(
        stub.ValidateSession(auth_pb2.ValidateSessionRequest(session_id=token))
    )
    assert code == grpc.StatusCode.UNAUTHENTICATED and "ended" in detail
    # A repeated logout is answered, not an error; a token never issued is.
    again = await stub.Logout(auth_pb2.LogoutRequest(session_id=token))
    assert again.message == "Session already ended"
    code, _ = await status_of(stub.Logout(auth_pb2.LogoutRequest(session_id="made-up")))
    assert code == grpc.StatusCode.UNAUTHENTICATED
    code, _ = await status_of(stub.ValidateSession(auth_pb2.ValidateSessionRequest()))
    assert code == grpc.StatusCode.UNAUTHENTICATED

    events = await running.wait_for_events(2)
    assert [(e.event_type, e.details) for e in events] == [
        ("SESSION_STARTED", "User 'user1' logged in"),
        ("SESSION_TERMINATED", f"Session {token[:8]}… (user1) ended"),
    ]
    assert all(token not in e.details for e in events)
    assert {e.writer for e in events} == {"key:auth"}


async def test_a_session_token_never_starts_with_a_dash(
    stub: auth_pb2_grpc.AuthServiceStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `client.py --token -xyz…` would read the token as an option: such a draw is drawn again.
    draws = iter(["-dash" + "x" * 38, "-again" + "y" * 37, "plain" + "z" * 38])
    monkeypatch.setattr(auth_server.secrets, "token_urlsafe", lambda _n: next(draws))
    assert await login(stub, "user1", "password1") == "plain" + "z" * 38


async def test_wrong_password_and_unknown_user_look_the_same(
    stub: auth_pb2_grpc.AuthServiceStub, running: Stack
) -> None:
    wrong = await status_of(stub.Login(auth_pb2.LoginRequest(username="user1", password="nope")))
    unknown = await status_of(
        stub.Login(auth_pb2.LoginRequest(username="nobody", password="password1"))
    )
    empty = await status_of(stub.Login(auth_pb2.LoginRequest()))
    assert wrong == unknown == empty == (grpc.StatusCode.UNAUTHENTICATED, INVALID)
    # The empty username cannot exist: it is summarised when its burst ends (here: at stop)
    # and delivered by the next run.
    await running.stop_auth()
    await running.start_auth()
    events = await running.wait_for_events(3)
    assert [e.event_type for e in events] == ["LOGIN_FAILED", "LOGIN_FAILED", "LOGIN_REFUSED"]
    assert "Failed login for user 'user1'" in events[0].details
    assert all("nope" not in e.details and "password1" not in e.details for e in events)


async def test_register_then_login(stub: auth_pb2_grpc.AuthServiceStub) -> None:
    made = await stub.RegisterUser(
        auth_pb2.RegisterUserRequest(username="alice", password="correct horse")
    )
    assert made.username == "alice"
    assert await login(stub, "alice", "correct horse")
    code, detail = await status_of(
        stub.RegisterUser(auth_pb2.RegisterUserRequest(username="ALICE", password="another one"))
    )
    assert code == grpc.StatusCode.ALREADY_EXISTS and "taken" in detail


@pytest.mark.parametrize(
    ("username", "password", "needle"),
    [
        ("", "password123", "username"),
        ("x" * 65, "password123", "username"),
        ("bad\x1bname", "password123", "username"),
        (" padded", "password123", "username"),
        ("bob", "short", "password"),
    ],
)
async def test_register_rejects_bad_input(
    stub: auth_pb2_grpc.AuthServiceStub, username: str, password: str, needle: str
) -> None:
    code, detail = await status_of(
        stub.RegisterUser(auth_pb2.RegisterUserRequest(username=username, password=password))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and needle in detail


async def test_passwords_and_tokens_are_not_stored(
    stub: auth_pb2_grpc.AuthServiceStub, running: Stack
) -> None:
    token = await login(stub, "user1", "password1")
    raw = b"".join(p.read_bytes() for p in running.auth_dir.glob("auth.db*"))
    assert token.encode() not in raw
    assert b"password1" not in raw
    with sqlite3.connect(running.auth_dir / "auth.db") as conn:
        (stored,) = conn.execute(
            "SELECT password_hash FROM users WHERE username='user1'"
        ).fetchone()
    assert stored.startswith("$argon2id$")


async def test_login_rehashes_a_hash_made_with_older_parameters(
    stub: auth_pb2_grpc.AuthServiceStub, running: Stack
) -> None:
    db = running.auth_dir / "auth.db"

    def stored_hash() -> str:
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE username='user1'").fetchone()
        return str(row[0])

    # As if stored by an earlier release with cheaper argon2id settings.
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("password1")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE username='user1'", (old,))
    current = PasswordHasher()
    assert current.check_needs_rehash(old)

    wrong = await status_of(stub.Login(auth_pb2.LoginRequest(username="user1", password="nope")))
    assert wrong == (grpc.StatusCode.UNAUTHENTICATED, INVALID)
    assert stored_hash() == old  # only a successful login may replace it

    assert await login(stub, "user1", "password1")
    rehashed = stored_hash()
    assert rehashed != old
    assert not current.check_needs_rehash(rehashed)
    assert current.verify(rehashed, "password1")
    assert await login(stub, "user1", "password1")
    assert stored_hash() == rehashed  # current parameters: left as they are


async def test_session_expires(stack: Stack) -> None:
    await stack.start_logger()
    await stack.start_auth(AuthOptions(session_ttl=0.3))
    assert stack.auth is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.auth.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        token = await login(stub, "user1", "password1")

        async def expired() -> bool:
            try:
                await stub.ValidateSession(auth_pb2.ValidateSessionRequest(session_id=token))
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.UNAUTHENTICATED
                return "expired" in (err.details() or "")
            return False

        await wait_until(expired, within=10, what="the session to expire")


async def test_events_wait_for_the_logger_and_arrive_once(stack: Stack) -> None:
    # Learn a free port for the logger, then take it down before Auth starts.
    await stack.start_logger()
    await stack.stop_logger()
    await stack.start_auth()
    assert stack.auth is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.auth.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        token = await login(stub, "user1", "password1")
        await status_of(stub.Login(auth_pb2.LoginRequest(username="user1", password="bad")))
        await stub.Logout(auth_pb2.LogoutRequest(session_id=token))
    assert stack.outbox_size() == 3

    # Auth restarts while the logger is still down: sessions and outbox survive.
    await stack.stop_auth()
    await stack.start_auth()
    assert stack.auth is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.auth.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        second = await login(stub, "user1", "password1")
        valid = await stub.ValidateSession(auth_pb2.ValidateSessionRequest(session_id=second))
        assert valid.username == "user1"
    assert stack.outbox_size() == 4

    await stack.start_logger()
    events = await stack.wait_for_events(4)
    assert [e.event_type for e in events] == [
        "SESSION_STARTED",
        "LOGIN_FAILED",
        "SESSION_TERMINATED",
        "SESSION_STARTED",
    ]


async def test_sessions_survive_auth_restart(stack: Stack) -> None:
    await stack.start_logger()
    await stack.start_auth()
    assert stack.auth is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.auth.port}") as channel:
        token = await login(auth_pb2_grpc.AuthServiceStub(channel), "user1", "password1")
    await stack.stop_auth()
    await stack.start_auth()
    assert stack.auth is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.auth.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        valid = await stub.ValidateSession(auth_pb2.ValidateSessionRequest(session_id=token))
        assert valid.username == "user1"
    # The demo user was seeded once, not again on restart.
    with sqlite3.connect(stack.auth_dir / "auth.db") as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1


async def test_client_login_then_sigint_logs_out(running: Stack) -> None:
    assert running.auth is not None
    server = f"127.0.0.1:{running.auth.port}"
    proc = await spawn("pyservices.auth.client", "--server", server)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"password1\n")
        await proc.stdin.drain()
        seen = await read_until(proc.stdout, "Session active.")
        assert "Login: Login successful (Session ID: " in seen
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        await kill(proc)
    assert proc.returncode == 0, err
    text = out.decode()
    assert "Received shutdown signal. Logging out..." in text
    assert text.rstrip().endswith("Logout: Logout successful")
    assert "Traceback" not in err.decode()
    events = await running.wait_for_events(2)
    assert [e.event_type for e in events] == ["SESSION_STARTED", "SESSION_TERMINATED"]


async def test_client_logs_out_at_end_of_input(running: Stack) -> None:
    assert running.auth is not None
    result = await run_module(
        "pyservices.auth.client",
        "login",
        "--username",
        "user1",
        "--password-stdin",
        "--server",
        f"127.0.0.1:{running.auth.port}",
        stdin="password1\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("Logout: Logout successful")


async def test_client_wrong_password(running: Stack) -> None:
    assert running.auth is not None
    result = await run_module(
        "pyservices.auth.client", "--server", f"127.0.0.1:{running.auth.port}", stdin="wrong\n"
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "Login failed: invalid username or password"


async def test_client_register(running: Stack) -> None:
    assert running.auth is not None
    server = f"127.0.0.1:{running.auth.port}"
    made = await run_module(
        "pyservices.auth.client", "register", "carol", "--server", server, stdin="long enough\n"
    )
    assert made.returncode == 0, made.stderr
    taken = await run_module(
        "pyservices.auth.client", "register", "carol", "--server", server, stdin="long enough\n"
    )
    assert taken.returncode == 1
    assert taken.stderr.strip() == "Register failed: username 'carol' is taken"
