"""Usernames that look alike are one account: NFC, then Unicode case folding."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from argon2 import PasswordHasher
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc

from pyservices.auth.server import SPEC as AUTH_SPEC
from pyservices.identity import display_form, identity_key
from pyservices.runner import Running
from pyservices.tests.servers import make_settings, start_on

COMPOSED = "jos\u00e9"
DECOMPOSED = "jose\u0301"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("émile", "ÉMILE"),
        (COMPOSED, DECOMPOSED),
        ("Straße", "STRASSE"),
        ("\uff45mile", "emile"),  # full-width e
        ("ǅemal", "džemal"),  # title-case digraph
    ],
)
def test_lookalikes_have_one_key(a: str, b: str) -> None:
    assert a != b and identity_key(a) == identity_key(b)


def test_distinct_names_keep_distinct_keys() -> None:
    assert identity_key("emile") != identity_key("émile")
    assert identity_key("ali") != identity_key("al\u0131")  # dotless i is another letter


def test_display_form_composes() -> None:
    assert display_form(DECOMPOSED) == COMPOSED


async def call(port: int, request: object) -> tuple[grpc.StatusCode, str, object]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        method = stub.Login if isinstance(request, auth_pb2.LoginRequest) else stub.RegisterUser
        try:
            reply = await method(request)
        except grpc.aio.AioRpcError as err:
            return err.code(), err.details() or "", None
    return grpc.StatusCode.OK, "", reply


def login(username: str, password: str) -> auth_pb2.LoginRequest:
    return auth_pb2.LoginRequest(username=username, password=password)


def register(username: str, password: str) -> auth_pb2.RegisterUserRequest:
    return auth_pb2.RegisterUserRequest(username=username, password=password)


@pytest.fixture
async def auth(tmp_path: Path) -> AsyncIterator[Running]:
    running = await start_on(AUTH_SPEC, make_settings(tmp_path))
    yield running
    await running.stop(0)


async def test_lookalike_registrations_are_one_account(auth: Running) -> None:
    code, _, made = await call(auth.port, register("émile", "a long password"))
    assert code == grpc.StatusCode.OK and made.username == "émile"  # type: ignore[attr-defined]
    code, detail, _ = await call(auth.port, register("ÉMILE", "another password"))
    assert (code, detail) == (grpc.StatusCode.ALREADY_EXISTS, "username 'ÉMILE' is taken")
    code, _, reply = await call(auth.port, login("ÉMILE", "a long password"))
    assert code == grpc.StatusCode.OK and reply.username == "émile"  # type: ignore[attr-defined]


async def test_decomposed_and_composed_names_are_one_account(auth: Running) -> None:
    code, _, made = await call(auth.port, register(DECOMPOSED, "a long password"))
    assert code == grpc.StatusCode.OK
    assert made.username == COMPOSED  # type: ignore[attr-defined]  # stored composed
    code, _, _ = await call(auth.port, register(COMPOSED, "a long password"))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    code, _, reply = await call(auth.port, login("JOSÉ", "a long password"))
    assert code == grpc.StatusCode.OK and reply.username == COMPOSED  # type: ignore[attr-defined]


OLD_SCHEMA = """
CREATE TABLE users (
    username      TEXT PRIMARY KEY COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at    REAL NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


async def test_an_older_database_with_lookalike_accounts_still_opens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Both accounts keep working by their exact names; the older one owns the others."""
    hasher = PasswordHasher()
    now = time.time()
    with sqlite3.connect(tmp_path / "auth.db") as conn:
        conn.executescript(OLD_SCHEMA)
        conn.executemany(
            "INSERT INTO users VALUES (?, ?, ?)",
            [
                ("émile", hasher.hash("first password"), now - 20),
                ("ÉMILE", hasher.hash("second password"), now - 10),
                ("bob", hasher.hash("bob password"), now),
            ],
        )
    caplog.set_level(logging.WARNING, "pyservices.auth.store")
    running = await start_on(AUTH_SPEC, make_settings(tmp_path))
    try:
        port = running.port
        assert (await call(port, login("émile", "first password")))[0] == grpc.StatusCode.OK
        assert (await call(port, login("ÉMILE", "second password")))[0] == grpc.StatusCode.OK
        code, _, reply = await call(port, login("Émile", "first password"))
        assert code == grpc.StatusCode.OK and reply.username == "émile"  # type: ignore[attr-defined]
        assert (await call(port, login("BOB", "bob password")))[0] == grpc.StatusCode.OK
        code, _, _ = await call(port, register("EMILE", "a long password"))
        assert code == grpc.StatusCode.OK  # plain "EMILE" is a different name
        code, _, _ = await call(port, register("émilE", "a long password"))
        assert code == grpc.StatusCode.ALREADY_EXISTS
    finally:
        await running.stop(0)
    parked = [r.getMessage() for r in caplog.records if "clashes" in r.getMessage()]
    assert len(parked) == 1 and "'ÉMILE'" in parked[0]
    with sqlite3.connect(tmp_path / "auth.db") as conn:
        keys = dict(conn.execute("SELECT username, username_key FROM users").fetchall())
    assert keys["émile"] == "émile" and keys["ÉMILE"] is None and keys["bob"] == "bob"
