"""Email addresses that look alike are one address: NFC, then Unicode case folding."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import grpc
import pytest
from polychat.user.v1 import user_pb2, user_pb2_grpc

from pyservices.runner import Running
from pyservices.tests.servers import make_settings
from pyservices.tests.servers import start_on as start_service
from pyservices.users.server import SPEC

COMPOSED = "jos\u00e9@example.com"
DECOMPOSED = "jose\u0301@example.com"


def new(name: str, email: str) -> user_pb2.CreateUserRequest:
    return user_pb2.CreateUserRequest(name=name, email=email, age=30)


async def create(port: int, *items: user_pb2.CreateUserRequest) -> tuple[grpc.StatusCode, str]:
    async def requests() -> AsyncIterator[user_pb2.CreateUserRequest]:
        for item in items:
            yield item

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = user_pb2_grpc.UserServiceStub(channel)
        try:
            if len(items) == 1:
                await stub.CreateUser(items[0])
            else:
                await stub.BatchCreateUsers(requests())
        except grpc.aio.AioRpcError as err:
            return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


async def emails(port: int) -> Sequence[str]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = user_pb2_grpc.UserServiceStub(channel)
        return [u.email async for u in stub.ListUsers(user_pb2.ListUsersRequest())]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Running]:
    running = await start_service(SPEC, make_settings(tmp_path))
    yield running
    await running.stop(0)


async def test_case_variants_of_an_international_address_are_one(server: Running) -> None:
    assert await create(server.port, new("Émile", "émile@exemple.fr")) == (
        grpc.StatusCode.OK,
        "",
    )
    assert await create(server.port, new("Émile", "ÉMILE@EXEMPLE.FR")) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "email: ÉMILE@EXEMPLE.FR is already registered",
    )


async def test_composed_and_decomposed_addresses_are_one(server: Running) -> None:
    assert (await create(server.port, new("José", DECOMPOSED)))[0] == grpc.StatusCode.OK
    assert COMPOSED in await emails(server.port)  # stored composed
    code, _ = await create(server.port, new("José", COMPOSED))
    assert code == grpc.StatusCode.ALREADY_EXISTS


async def test_a_batch_with_lookalike_addresses_is_refused(server: Running) -> None:
    code, detail = await create(server.port, new("A", COMPOSED), new("B", "JOSÉ@example.com"))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert detail.startswith("item 1: email: JOSÉ@example.com repeats item 0;")


@pytest.mark.parametrize(
    "email", ["a\u200b@example.com", "a@exa\u202emple.com", "a @example.com", "é@localhost"]
)
async def test_international_addresses_still_refuse_invisible_characters(
    server: Running, email: str
) -> None:
    code, detail = await create(server.port, new("A", email))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and detail.startswith("email:")


OLD_SCHEMA = """
CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    age        INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('samples', 'then');
INSERT INTO users (name, email, age, created_at) VALUES
    ('First', 'émile@exemple.fr', 30, 'then'),
    ('Second', 'ÉMILE@exemple.fr', 31, 'then'),
    ('Third', 'jose\u0301@example.com', 32, 'then');
"""


async def test_an_older_database_with_lookalike_addresses_still_opens(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite3.connect(tmp_path / "users.db") as conn:
        conn.executescript(OLD_SCHEMA)
    caplog.set_level(logging.WARNING, "pyservices.users.store")
    running = await start_service(SPEC, make_settings(tmp_path))
    try:
        stored = await emails(running.port)
        assert stored == ["émile@exemple.fr", "ÉMILE@exemple.fr", DECOMPOSED]
        for lookalike in ("Émile@exemple.fr", COMPOSED):
            code, _ = await create(running.port, new("New", lookalike))
            assert code == grpc.StatusCode.ALREADY_EXISTS, lookalike
        assert (await create(running.port, new("New", "emile@exemple.fr")))[0] == (
            grpc.StatusCode.OK
        )
    finally:
        await running.stop(0)
    warned = [r.getMessage() for r in caplog.records if "clashes" in r.getMessage()]
    assert len(warned) == 1 and warned[0].endswith("user_id=2")
