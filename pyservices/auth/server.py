"""AuthService: checks argon2id password hashes and keeps sessions in SQLite.

Every login, failed login and logout is queued in auth.db's outbox in the same
transaction as the session change and delivered to LoggerService by
`Outbox`, so audit events survive a LoggerService outage and an Auth restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import grpc
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from google.protobuf import timestamp_pb2
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
from prometheus_client import Counter

from pyservices.auth.bursts import BurstLog
from pyservices.auth.config import AuthOptions
from pyservices.auth.outbox import Outbox
from pyservices.auth.store import AuthStore
from pyservices.auth.throttle import (
    Clock,
    LoginThrottle,
    ThrottleConfig,
    Throttled,
    client_address,
)
from pyservices.auth.validate import (
    INVALID_CREDENTIALS,
    MAX_PASSWORD_CHARS,
    InvalidArgument,
    check_password,
    check_username,
    printable_name,
    username_problem,
)
from pyservices.identity import display_form, identity_key
from pyservices.spec import ServiceSpec, Settings
from pyservices.storage.sqlite import StoreFailure

log = logging.getLogger("pyservices.auth")

AUTH_LOGINS = Counter(
    "polychat_auth_logins",
    "AuthService logins by outcome: success, failure, throttled (refused to wait),"
    " refused (a username that cannot exist).",
    ("outcome",),
)

SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
DEFAULT_PORT = 50054
DEMO_USER = ("user1", "password1")
# Trailing metadata of a throttled Login: whole seconds until the client may try again.
RETRY_AFTER_KEY = "retry-after"


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(datetime.fromtimestamp(seconds, UTC))
    return ts


def new_session_token() -> str:
    """256 random bits as base64url, never starting with "-".

    People pass the token on a command line (`client.py --token TOKEN`), where one that
    starts with "-" is taken for an option: one login in 64 would hand out a token that
    cannot be used that way.
    """
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def token_prefix(token: str) -> str:
    """What audit events show of a token: enough to correlate, never enough to use."""
    return token[:8] + "…"


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(
        self,
        store: AuthStore,
        outbox: Outbox,
        hasher: PasswordHasher,
        dummy_hash: str,
        ttl: float,
        login_throttle: LoginThrottle | None = None,
        refusals: BurstLog | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.hasher = hasher
        self.dummy_hash = dummy_hash
        self.ttl = ttl
        self.throttle = login_throttle or LoginThrottle(ThrottleConfig())
        self.refusals = refusals or BurstLog()

    async def _verify(self, password_hash: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self.hasher.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)

    async def Login(
        self, request: auth_pb2.LoginRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.LoginResponse:
        username = display_form(request.username)
        address = client_address(context.peer())
        problem = username_problem(username)
        if problem is not None:
            # No account can have this name: refuse without a hash check, and summarise
            # such refusals instead of writing an audit event for each.
            throttled = self.throttle.begin(None, address)
            if throttled is not None:
                await self._refuse_throttled(context, throttled, address, None)
            self.refusals.note(
                "LOGIN_REFUSED", f"from {address}", problem, printable_name(username)
            )
            AUTH_LOGINS.labels("refused").inc()
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_CREDENTIALS)
        user_key = identity_key(username)
        throttled = self.throttle.begin(user_key, address)
        if throttled is not None:
            await self._refuse_throttled(context, throttled, address, username)
        user = None
        ok = False
        if len(request.password) <= MAX_PASSWORD_CHARS:
            user = await self.store.get_user(username)
            # An unknown user costs the same argon2 verify as a known one.
            stored_hash = user[1] if user is not None else self.dummy_hash
            ok = await self._verify(stored_hash, request.password) and user is not None
        if not ok or user is None:
            name = printable_name(username)
            await self.store.enqueue("LOGIN_FAILED", f"Failed login for user '{name}'")
            self.outbox.notify()
            AUTH_LOGINS.labels("failure").inc()
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, INVALID_CREDENTIALS)
        self.throttle.succeeded(user_key, address)
        username, stored_hash = user
        if self.hasher.check_needs_rehash(stored_hash):
            new_hash = await asyncio.to_thread(self.hasher.hash, request.password)
            await self.store.set_password_hash(username, new_hash)
        token = new_session_token()
        expires_at = await self.store.start_session(
            token,
            username,
            self.ttl,
            ("SESSION_STARTED", f"User '{printable_name(username)}' logged in"),
        )
        self.outbox.notify()
        AUTH_LOGINS.labels("success").inc()
        log.info("login user=%r session=%s", username, token_prefix(token))
        return auth_pb2.LoginResponse(
            session_id=token,
            message="Login successful",
            expires_at=timestamp(expires_at),
            username=username,
        )

    async def _refuse_throttled(
        self,
        context: grpc.aio.ServicerContext,
        throttled: Throttled,
        address: str,
        username: str | None,
    ) -> None:
        subject = f"from {address}"
        if throttled.reason == "username" and username is not None:
            subject = f"for user '{printable_name(username)}' {subject}"
        self.refusals.note("LOGIN_THROTTLED", subject, "too many failed logins")
        AUTH_LOGINS.labels("throttled").inc()
        await context.abort(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            throttled.message(),
            trailing_metadata=((RETRY_AFTER_KEY, str(throttled.seconds)),),
        )

    async def write_due_refusals(self, everything: bool = False) -> None:
        """Queue the summaries of finished bursts of refusals (all of them at shutdown).

        Runs beside the RPCs, never in one: a refusal's answer does not wait for, or
        depend on, auth.db. A summary that cannot be stored goes to the service log.
        """
        summaries = self.refusals.flush() if everything else self.refusals.due()
        for summary in summaries:
            try:
                await self.store.enqueue(summary.event_type, summary.details)
            except StoreFailure as err:
                log.error(
                    "cannot store audit summary reason=%r type=%s details=%r",
                    str(err),
                    summary.event_type,
                    summary.details,
                )
        if summaries:
            self.outbox.notify()

    async def Logout(
        self, request: auth_pb2.LogoutRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.LogoutResponse:
        token = request.session_id

        def event(username: str) -> tuple[str, str]:
            who = printable_name(username)
            return "SESSION_TERMINATED", f"Session {token_prefix(token)} ({who}) ended"

        session, ended_now = await self.store.end_session(token, event) if token else (None, False)
        if session is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown session")
        if not ended_now:
            # Repeating a logout (e.g. a retry after a lost reply) is not an error.
            return auth_pb2.LogoutResponse(message="Session already ended")
        self.outbox.notify()
        log.info("logout user=%r session=%s", session.username, token_prefix(token))
        return auth_pb2.LogoutResponse(message="Logout successful")

    async def ValidateSession(
        self, request: auth_pb2.ValidateSessionRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.ValidateSessionResponse:
        session = await self.store.get_session(request.session_id) if request.session_id else None
        if session is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown session")
        if session.ended_at is not None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "session has ended")
        if session.expires_at <= datetime.now(UTC).timestamp():
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "session has expired")
        return auth_pb2.ValidateSessionResponse(
            username=session.username, expires_at=timestamp(session.expires_at)
        )

    async def RegisterUser(
        self, request: auth_pb2.RegisterUserRequest, context: grpc.aio.ServicerContext
    ) -> auth_pb2.RegisterUserResponse:
        try:
            username = check_username(request.username)
            check_password(request.password)
        except InvalidArgument as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        password_hash = await asyncio.to_thread(self.hasher.hash, request.password)
        if not await self.store.add_user(username, password_hash):
            await context.abort(
                grpc.StatusCode.ALREADY_EXISTS, f"username '{printable_name(username)}' is taken"
            )
        await self.store.enqueue("USER_REGISTERED", f"User '{printable_name(username)}' registered")
        self.outbox.notify()
        log.info("registered user=%r", username)
        return auth_pb2.RegisterUserResponse(username=username, message="User registered")


async def build(
    settings: Settings,
    options: AuthOptions,
    hasher: PasswordHasher | None = None,
    max_backoff: float = 2.0,
    clock: Clock = time.monotonic,
) -> tuple[AuthServicer, Callable[[], Awaitable[None]]]:
    """Open auth.db, seed the demo user once, start outbox delivery.

    `clock` (monotonic seconds) times login throttling and refusal summaries.
    """
    login_throttle = LoginThrottle(options.throttle(), clock)
    hasher = hasher or PasswordHasher()
    store = AuthStore(settings.data_dir / "auth.db")
    await store.open(on_lost=settings.on_store_lost)
    if not await store.seeded("demo_user"):
        demo_hash = await asyncio.to_thread(hasher.hash, DEMO_USER[1])
        if await store.seed_once("demo_user", DEMO_USER[0], demo_hash):
            log.info("created demo user username=%s", DEMO_USER[0])
    dummy_hash = await asyncio.to_thread(hasher.hash, secrets.token_urlsafe(16))
    outbox = Outbox(
        store,
        options.logger_server or settings.addresses["logger"],
        max_backoff=max_backoff,
        tls=settings.client_tls,
        write_key=settings.logger_write_key,
    )
    outbox.start()
    servicer = AuthServicer(
        store,
        outbox,
        hasher,
        dummy_hash,
        options.session_ttl,
        login_throttle=login_throttle,
        refusals=BurstLog(clock=clock),
    )
    summaries = asyncio.create_task(_write_refusals(servicer), name="auth-refusal-summaries")

    async def cleanup() -> None:
        summaries.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await summaries
        await servicer.write_due_refusals(everything=True)
        await outbox.stop()
        await store.close()

    return servicer, cleanup


async def _write_refusals(servicer: AuthServicer) -> None:
    """Write each burst's summary once its window has passed, even if no refusal follows."""
    refusals = servicer.refusals
    while True:
        due = refusals.next_due()
        wait = refusals.window if due is None else due - refusals.clock()
        await asyncio.sleep(min(max(wait, 0.5), refusals.window))
        await servicer.write_due_refusals()


async def register(
    server: grpc.aio.Server, settings: Settings, options: AuthOptions
) -> Callable[[], Awaitable[None]] | None:
    servicer, cleanup = await build(settings, options)
    auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server)
    return cleanup


SPEC = ServiceSpec(
    name="auth",
    service_names=(SERVICE_NAME,),
    default_port=DEFAULT_PORT,
    register=register,
    options=AuthOptions,
)
