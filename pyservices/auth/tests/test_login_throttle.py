"""Login throttling and refusal summaries: a fake clock, a real server on loopback."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from argon2 import PasswordHasher
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc

from pykit.config import ConfigError
from pyservices import options
from pyservices.auth import server as auth_server
from pyservices.auth.bursts import BurstLog
from pyservices.auth.config import AuthOptions
from pyservices.auth.throttle import Backoff, LoginThrottle, ThrottleConfig, client_address
from pyservices.registry import SPECS
from pyservices.runner import Running, start
from pyservices.spec import ServiceSpec, Settings
from pyservices.storage.sqlite import StoreFailure
from pyservices.tests.servers import make_settings

INVALID = (grpc.StatusCode.UNAUTHENTICATED, "invalid username or password")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingHasher(PasswordHasher):
    """A cheap argon2 hasher that counts password checks."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.verified += 1
        return super().verify(hash, password)


# ---- the limits on their own ------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_and_is_forgotten() -> None:
    clock = FakeClock()
    backoff = Backoff(limit=3, max_backoff=5.0, forget_after=60.0, clock=clock)
    for _ in range(2):
        backoff.failed("u")
    assert backoff.wait("u") == 0
    waits = []
    for _ in range(5):
        backoff.failed("u")
        waits.append(backoff.wait("u"))
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    clock.advance(5.0)
    assert backoff.wait("u") == 0
    clock.advance(60.1)  # more than forget_after since the last failure
    backoff.failed("u")
    assert backoff.wait("u") == 0  # counting starts again


def test_backoff_memory_is_bounded() -> None:
    backoff = Backoff(limit=1, max_backoff=5.0, forget_after=60.0, clock=FakeClock(), capacity=3)
    for name in "abcde":
        backoff.failed(name)
    assert len(backoff) == 3
    assert backoff.wait("a") == 0 and backoff.wait("e") == 1.0


def test_throttle_counts_an_attempt_when_it_starts() -> None:
    throttle = LoginThrottle(ThrottleConfig(user_limit=2, address_limit=10), FakeClock())
    # Two attempts in flight at once: the third is refused before either has finished.
    assert throttle.begin("bob", "10.0.0.1") is None
    assert throttle.begin("bob", "10.0.0.1") is None
    refused = throttle.begin("bob", "10.0.0.1")
    assert refused is not None and refused.reason == "username" and refused.seconds == 1
    assert refused.message() == "too many failed logins for this username; try again in 1 s"


def test_success_clears_the_username_and_gives_the_address_its_count_back() -> None:
    throttle = LoginThrottle(ThrottleConfig(user_limit=3, address_limit=3), FakeClock())
    for _ in range(2):
        assert throttle.begin("bob", "10.0.0.1") is None
    throttle.succeeded("bob", "10.0.0.1")
    assert throttle.users.wait("bob") == 0
    assert throttle.begin("carol", "10.0.0.1") is None
    assert throttle.begin("dave", "10.0.0.1") is None  # 3 counted: 2 + 2 - 1
    refused = throttle.begin("erin", "10.0.0.1")
    assert refused is not None and refused.reason == "address"


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:10.1.2.3:5123", "10.1.2.3"),
        ("ipv6:[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"),
        ("ipv6:[::1]:5000", "::/64"),
        ("unix:/tmp/sock", "unix:/tmp/sock"),
    ],
)
def test_client_address(peer: str, address: str) -> None:
    assert client_address(peer) == address


def test_settings_flag_then_environment_then_default() -> None:
    opts, _ = options.read(SPECS, ["auth"], {})
    assert opts.service_options["auth"].throttle() == ThrottleConfig()
    opts, _ = options.read(
        SPECS,
        ["auth", "--auth-login-user-limit", "7"],
        {"AUTH_LOGIN_USER_LIMIT": "9", "AUTH_LOGIN_MAX_BACKOFF": "60"},
    )
    assert opts.service_options["auth"].throttle() == ThrottleConfig(user_limit=7, max_backoff=60.0)


@pytest.mark.parametrize(
    ("env", "value", "problem"),
    [
        ("AUTH_LOGIN_USER_LIMIT", "0", "must be at least 1"),
        ("AUTH_LOGIN_ADDRESS_LIMIT", "many", "not a whole number"),
        ("AUTH_LOGIN_MAX_BACKOFF", "-1", "must be more than 0"),
        ("AUTH_LOGIN_FORGET_AFTER", "inf", "must be more than 0"),
    ],
)
def test_settings_refuse_bad_values(env: str, value: str, problem: str) -> None:
    flag = "--" + env.lower().replace("_", "-")
    with pytest.raises(ConfigError) as info:
        options.read(SPECS, ["auth"], {env: value})
    assert str(info.value) == f'invalid value "{value}" for {env} (flag {flag}): {problem}'


def test_refusals_make_one_summary_per_burst() -> None:
    clock = FakeClock()
    bursts = BurstLog(window=30.0, clock=clock)
    for _ in range(1500):
        bursts.note("LOGIN_REFUSED", "from 10.0.0.7", "username is too long", "aaaa…")
    clock.advance(29.0)
    assert bursts.due() == []
    clock.advance(1.0)
    (summary,) = bursts.due()
    assert summary.event_type == "LOGIN_REFUSED"
    assert summary.details == (
        "1,500 logins refused from 10.0.0.7 in 30 s: username is too long (e.g. 'aaaa…')"
    )
    assert bursts.due() == [] and bursts.next_due() is None
    bursts.note("LOGIN_THROTTLED", "from 10.0.0.7", "too many failed logins")
    assert [s.details for s in bursts.flush()] == [
        "1 login refused from 10.0.0.7 in 0 s: too many failed logins"
    ]


def test_refusals_from_very_many_clients_share_one_burst() -> None:
    bursts = BurstLog(clock=FakeClock(), capacity=2)
    for i in range(10):
        bursts.note("LOGIN_REFUSED", f"from 10.0.0.{i}", "why", "x")
    summaries = bursts.flush()
    assert len(summaries) == 3
    assert summaries[-1].details.startswith("8 logins refused from many other clients")


# ---- through the service ------------------------------------------------------------------


class Auth:
    """AuthService on loopback with a fake clock and a counting hasher."""

    def __init__(self, running: Running, clock: FakeClock, hasher: CountingHasher) -> None:
        self.running = running
        self.clock = clock
        self.hasher = hasher
        self.data_dir: Path = Path()
        self.stopped = False

    async def login(self, username: str, password: str) -> tuple[grpc.StatusCode, str]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{self.running.port}") as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            try:
                await stub.Login(auth_pb2.LoginRequest(username=username, password=password))
            except grpc.aio.AioRpcError as err:
                self.last_trailers = dict(err.trailing_metadata() or ())
                return err.code(), err.details() or ""
        return grpc.StatusCode.OK, ""

    async def stop(self) -> None:
        """Stop the server; its cleanup writes the summaries of open bursts."""
        if not self.stopped:
            self.stopped = True
            await self.running.stop(0)

    def outbox(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.data_dir / "auth.db") as conn:
            rows = conn.execute("SELECT event_type, details FROM outbox ORDER BY seq").fetchall()
        return [(str(t), str(d)) for t, d in rows]


StartAuth = Callable[..., Awaitable[Auth]]


@pytest.fixture
async def start_auth(tmp_path: Path) -> AsyncIterator[StartAuth]:
    started: list[Auth] = []

    async def _start(**values: object) -> Auth:
        clock, hasher = FakeClock(), CountingHasher()

        async def register(server: grpc.aio.Server, settings: Settings, opts: AuthOptions):  # type: ignore[no-untyped-def]
            servicer, cleanup = await auth_server.build(settings, opts, hasher=hasher, clock=clock)
            auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server)
            return cleanup

        spec = ServiceSpec("auth", auth_server.SPEC.service_names, 0, register, AuthOptions)
        settings = make_settings(tmp_path)
        running = await start(spec, "127.0.0.1:0", settings, AuthOptions(**values))  # type: ignore[arg-type]
        auth = Auth(running, clock, hasher)
        auth.data_dir = tmp_path
        started.append(auth)
        return auth

    yield _start
    for auth in started:
        await auth.stop()


async def test_guessing_one_password_waits_longer_each_time(start_auth: StartAuth) -> None:
    auth = await start_auth()
    for _ in range(4):
        assert await auth.login("user1", "wrong guess") == INVALID
    # The fifth failure starts the waits; even the right password must wait now.
    assert await auth.login("user1", "wrong guess") == INVALID
    code, detail = await auth.login("user1", "password1")
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert detail == "too many failed logins for this username; try again in 1 s"
    assert auth.last_trailers["retry-after"] == "1"
    auth.clock.advance(1.0)
    assert await auth.login("user1", "wrong guess") == INVALID
    code, detail = await auth.login("user1", "password1")
    assert (code, auth.last_trailers["retry-after"]) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "2")
    # Another spelling of the same account is the same count.
    code, _ = await auth.login("USER1", "password1")
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    auth.clock.advance(2.0)
    assert await auth.login("user1", "password1") == (grpc.StatusCode.OK, "")
    # A success starts the count afresh.
    assert await auth.login("user1", "wrong guess") == INVALID
    assert await auth.login("user1", "password1") == (grpc.StatusCode.OK, "")
    # Refused attempts were never checked against the hash.
    assert auth.hasher.verified == 9


async def test_unknown_user_is_answered_like_a_known_one(start_auth: StartAuth) -> None:
    auth = await start_auth()
    known = [await auth.login("user1", "wrong guess") for _ in range(7)]
    unknown = [await auth.login("nobody", "wrong guess") for _ in range(7)]
    assert known == unknown
    assert known[-1][0] == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_one_address_trying_many_usernames_is_slowed(start_auth: StartAuth) -> None:
    auth = await start_auth(login_address_limit=3)
    for name in ("ann", "ben", "cat"):
        assert await auth.login(name, "wrong guess") == INVALID
    code, detail = await auth.login("dan", "wrong guess")
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert detail == "too many failed logins from this address; try again in 1 s"
    auth.clock.advance(1.0)
    assert await auth.login("user1", "password1") == (grpc.StatusCode.OK, "")


async def test_impossible_usernames_are_refused_cheaply_and_summarised(
    start_auth: StartAuth,
) -> None:
    auth = await start_auth(login_address_limit=50)
    answers = {await auth.login("x" * 300, "password1") for _ in range(80)}
    answers |= {await auth.login("bad\x1bname", "password1") for _ in range(3)}
    assert answers == {
        INVALID,
        (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "too many failed logins from this address; try again in 1 s",
        ),
    }
    assert auth.hasher.verified == 0
    await auth.stop()
    events = auth.outbox()
    assert [t for t, _ in events] == ["LOGIN_REFUSED", "LOGIN_THROTTLED"], events
    refused, throttled = events[0][1], events[1][1]
    assert refused.startswith("50 logins refused from 127.0.0.1 in 0 s: ")
    assert "username must be at most 64 characters (e.g. 'xxxx" in refused
    assert throttled == "33 logins refused from 127.0.0.1 in 0 s: too many failed logins"


async def test_a_summary_that_cannot_be_stored_goes_to_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class FullStore:
        async def enqueue(self, event_type: str, details: str) -> None:
            raise StoreFailure("the auth database", "the disk is full", retryable=True)

    class Outbox:
        def notify(self) -> None:
            pass

    bursts = BurstLog(clock=FakeClock())
    bursts.note("LOGIN_REFUSED", "from 10.0.0.7", "username is required")
    servicer = auth_server.AuthServicer(
        FullStore(),  # type: ignore[arg-type]
        Outbox(),  # type: ignore[arg-type]
        CountingHasher(),
        "",
        60.0,
        refusals=bursts,
    )
    with caplog.at_level(logging.ERROR, "pyservices.auth"):
        await servicer.write_due_refusals(everything=True)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("cannot store audit summary reason=")
    assert "1 login refused from 10.0.0.7" in line
