"""UserService against a real server on loopback, and the demo client as a process."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import grpc
import pytest
from polychat.user.v1 import user_pb2, user_pb2_grpc

from pykit.testing.ports import free_port
from pykit.testing.processes import kill, read_until, run_module, spawn
from pyservices.runner import Running
from pyservices.tests.servers import make_settings
from pyservices.tests.servers import start_on as start_service
from pyservices.users.server import SPEC


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Running]:
    running = await start_service(SPEC, make_settings(tmp_path))
    try:
        yield running
    finally:
        await running.stop(0)


@pytest.fixture
async def stub(server: Running) -> AsyncIterator[user_pb2_grpc.UserServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        yield user_pb2_grpc.UserServiceStub(channel)


def new(name: str, email: str, age: int = 30) -> user_pb2.CreateUserRequest:
    return user_pb2.CreateUserRequest(name=name, email=email, age=age)


async def all_users(stub: user_pb2_grpc.UserServiceStub) -> list[user_pb2.UserResponse]:
    return [u async for u in stub.ListUsers(user_pb2.ListUsersRequest())]


async def batch(
    stub: user_pb2_grpc.UserServiceStub, items: Sequence[user_pb2.CreateUserRequest]
) -> user_pb2.BatchCreateResponse:
    async def requests() -> AsyncIterator[user_pb2.CreateUserRequest]:
        for item in items:
            yield item

    return await stub.BatchCreateUsers(requests())


async def test_samples_and_get_user(stub: user_pb2_grpc.UserServiceStub) -> None:
    alice = await stub.GetUser(user_pb2.GetUserRequest(user_id=1))
    assert (alice.name, alice.email, alice.age) == ("Alice Johnson", "alice@example.com", 28)
    assert alice.created_at[4] == "-" and "T" in alice.created_at
    assert [u.name for u in await all_users(stub)] == [
        "Alice Johnson",
        "Bob Smith",
        "Charlie Brown",
    ]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.GetUser(user_pb2.GetUserRequest(user_id=4242))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert "4242" in (info.value.details() or "")


async def test_create_user(stub: user_pb2_grpc.UserServiceStub) -> None:
    made = await stub.CreateUser(new("  John Doe ", "john.doe@example.com", 32))
    assert (made.user_id, made.name, made.age) == (4, "John Doe", 32)
    assert await stub.GetUser(user_pb2.GetUserRequest(user_id=made.user_id)) == made
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateUser(new("Other John", "JOHN.DOE@example.COM"))
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "email" in (info.value.details() or "")


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (new("", "a@example.com"), "name"),
        (new("   ", "a@example.com"), "name"),
        (new("x" * 101, "a@example.com"), "name"),
        (new("Bad\x1b[2J", "a@example.com"), "name"),
        (new("A", ""), "email"),
        (new("A", "not-an-email"), "email"),
        (new("A", "a@localhost"), "email"),
        (new("A", "a b@example.com"), "email"),
        (new("A", "a@example.com", -1), "age"),
        (new("A", "a@example.com", 151), "age"),
    ],
)
async def test_create_user_rejects_bad_fields(
    stub: user_pb2_grpc.UserServiceStub, request_: user_pb2.CreateUserRequest, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.CreateUser(request_)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (info.value.details() or "").startswith(f"{field}:")
    assert len(await all_users(stub)) == 3


async def test_age_bounds_are_inclusive(stub: user_pb2_grpc.UserServiceStub) -> None:
    assert (await stub.CreateUser(new("Baby", "baby@example.com", 0))).age == 0
    assert (await stub.CreateUser(new("Elder", "elder@example.com", 150))).age == 150


async def test_list_users_limit(stub: user_pb2_grpc.UserServiceStub) -> None:
    await batch(stub, [new(f"U{i}", f"u{i}@example.com") for i in range(250)])
    two = [u async for u in stub.ListUsers(user_pb2.ListUsersRequest(limit=2))]
    assert [u.user_id for u in two] == [1, 2]
    everyone = await all_users(stub)
    assert [u.user_id for u in everyone] == list(range(1, 254))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        _ = [u async for u in stub.ListUsers(user_pb2.ListUsersRequest(limit=-1))]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_batch_create(stub: user_pb2_grpc.UserServiceStub) -> None:
    result = await batch(stub, [new("D", "d@example.com"), new("E", "e@example.com")])
    assert result.users_created == 2 and list(result.user_ids) == [4, 5]
    empty = await batch(stub, [])
    assert empty.users_created == 0 and not empty.user_ids


@pytest.mark.parametrize(
    ("items", "code", "details"),
    [
        pytest.param(
            [new("D", "d@example.com"), new("E", "bad"), new("F", "f@example.com")],
            grpc.StatusCode.INVALID_ARGUMENT,
            "item 1: email: is not a valid address (expected e.g. alice@example.com);"
            " nothing was stored",
            id="invalid item",
        ),
        pytest.param(
            [new("D", "d@example.com"), new("E", "e@example.com"), new("F", "D@Example.COM")],
            grpc.StatusCode.ALREADY_EXISTS,
            "item 2: email: D@Example.COM repeats item 0; nothing was stored",
            id="repeat that differs only in case",
        ),
        pytest.param(
            [new("D", "d@example.com"), new("E", "d@example.com")],
            grpc.StatusCode.ALREADY_EXISTS,
            "item 1: email: d@example.com repeats item 0; nothing was stored",
            id="exact repeat",
        ),
        pytest.param(
            [new("D", "d@example.com"), new("A", "ALICE@example.com")],
            grpc.StatusCode.ALREADY_EXISTS,
            "item 1: email: ALICE@example.com is already registered; nothing was stored",
            id="registered before, in another case",
        ),
    ],
)
async def test_batch_is_all_or_nothing(
    stub: user_pb2_grpc.UserServiceStub,
    items: list[user_pb2.CreateUserRequest],
    code: grpc.StatusCode,
    details: str,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await batch(stub, items)
    assert info.value.code() == code
    assert info.value.details() == details
    assert len(await all_users(stub)) == 3
    # Nothing was stored, so the good item can still be created.
    assert (await stub.CreateUser(new("D", "d@example.com"))).user_id == 4


async def test_stream_users_answers_each_message(stub: user_pb2_grpc.UserServiceStub) -> None:
    call = stub.StreamUsers()
    for user_id, text in [(1, "hello"), (2, "second")]:
        await call.write(user_pb2.UserMessage(user_id=user_id, message=text))
        reply = await call.read()
        assert reply.message == f"Server received: {text} from user {user_id}"
        assert reply.user_id == user_id and reply.timestamp
    await call.write(user_pb2.UserMessage(user_id=1, message="x" * 5000))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call.read()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_users_survive_restart_and_samples_are_seeded_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    running = await start_service(SPEC, settings)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            made = await user_pb2_grpc.UserServiceStub(channel).CreateUser(
                new("Kept", "kept@example.com")
            )
    finally:
        await running.stop(0)
    running = await start_service(SPEC, settings)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = user_pb2_grpc.UserServiceStub(channel)
            assert await stub.GetUser(user_pb2.GetUserRequest(user_id=made.user_id)) == made
            assert len(await all_users(stub)) == 4
    finally:
        await running.stop(0)


async def test_runner_and_demo_client_as_processes(tmp_path: Path) -> None:
    port = free_port()
    server = await spawn(
        "pyservices", "user", "--user-addr", f"127.0.0.1:{port}", "--data-dir", str(tmp_path)
    )
    try:
        assert server.stderr is not None
        await read_until(server.stderr, "listening service=user")
        for _ in range(2):  # the demo runs again against the same database
            demo = await run_module("pyservices.users.client", "--server", f"127.0.0.1:{port}")
            assert demo.returncode == 0, demo.stderr
            for n in range(1, 6):
                assert f"=== {n}. " in demo.stdout
            assert "Alice Johnson" in demo.stdout
            assert "Created 3 users" in demo.stdout
            assert "Server received: Hello from Alice from user 1" in demo.stdout
        got = await run_module(
            "pyservices.users.client", "get", "2", "--server", f"127.0.0.1:{port}"
        )
        assert got.returncode == 0 and "Bob Smith" in got.stdout
        missing = await run_module(
            "pyservices.users.client", "get", "777", "--server", f"127.0.0.1:{port}"
        )
        assert missing.returncode == 1
        assert missing.stderr.strip() == "error: NOT_FOUND: user 777 not found"
        listed = await run_module(
            "pyservices.users.client", "list", "--limit", "2", "--server", f"127.0.0.1:{port}"
        )
        assert listed.stdout.count("\n") == 2
        server.send_signal(signal.SIGINT)
        await asyncio.wait_for(server.wait(), 15)
        assert server.returncode == 0
    finally:
        await kill(server)
