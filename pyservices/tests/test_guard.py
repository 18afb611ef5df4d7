"""Requests that are not valid protobuf get INVALID_ARGUMENT, for every kind of RPC.

The bytes go through a channel's raw multi-callables (no serializer), as a broken
or hostile client would send them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from polychat.streaming.v1 import streaming_pb2
from polychat.user.v1 import user_pb2, user_pb2_grpc

from pyservices.runner import Running
from pyservices.streaming.server import SPEC as STREAMING_SPEC
from pyservices.tests.servers import make_settings, start_on
from pyservices.users.server import SPEC as USER_SPEC

TIMEOUT = 10.0
USERS = "/polychat.user.v1.UserService"

# Field 1 (name) holding bytes that are not UTF-8, and bytes that are no protobuf at all.
NOT_UTF8 = b"\x0a\x02\xff\xfe"
NOT_PROTOBUF = b"\xff\xff\xff\xff\xff"


@pytest.fixture
async def users(tmp_path: Path) -> AsyncIterator[grpc.aio.Channel]:
    running: Running = await start_on(USER_SPEC, make_settings(tmp_path))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            yield channel
    finally:
        await running.stop(0)


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logged = [r for r in caplog.records if r.exc_info is not None]
    assert logged == [], [r.getMessage() for r in logged]


async def raw_stream(*messages: bytes) -> AsyncIterator[bytes]:
    for message in messages:
        yield message


@pytest.mark.parametrize("body", [NOT_UTF8, NOT_PROTOBUF], ids=["not-utf8", "not-protobuf"])
async def test_unary_request_that_does_not_decode(
    users: grpc.aio.Channel, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    create = users.unary_unary(f"{USERS}/CreateUser")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await create(body, timeout=TIMEOUT)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = info.value.details() or ""
    assert "not a valid polychat.user.v1.CreateUserRequest message" in details
    assert "DecodeError" not in details
    no_tracebacks(caplog)
    # The server goes on serving well-formed requests.
    stub = user_pb2_grpc.UserServiceStub(users)
    user = await stub.GetUser(user_pb2.GetUserRequest(user_id=1), timeout=TIMEOUT)
    assert user.user_id == 1


async def test_client_stream_with_a_bad_message_stores_nothing(
    users: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    good = user_pb2.CreateUserRequest(name="Dana", email="dana@example.com", age=30)
    batch = users.stream_unary(f"{USERS}/BatchCreateUsers")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await batch(raw_stream(good.SerializeToString(), NOT_UTF8), timeout=TIMEOUT)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    stub = user_pb2_grpc.UserServiceStub(users)
    emails = [u.email async for u in stub.ListUsers(user_pb2.ListUsersRequest(), timeout=TIMEOUT)]
    assert "dana@example.com" not in emails
    no_tracebacks(caplog)


async def test_bidi_stream_with_a_bad_message(
    users: grpc.aio.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    good = user_pb2.UserMessage(user_id=7, message="hi").SerializeToString()
    call = users.stream_stream(f"{USERS}/StreamUsers")(
        raw_stream(good, NOT_PROTOBUF), timeout=TIMEOUT
    )
    replies = []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for reply in call:
            replies.append(reply)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(replies) == 1  # the good message was answered before the bad one
    no_tracebacks(caplog)


async def test_server_stream_and_a_chat_member_that_sends_garbage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    running = await start_on(STREAMING_SPEC, make_settings(tmp_path))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            service = "/polychat.streaming.v1.StreamingService"
            times = channel.unary_stream(f"{service}/StreamServerTime")(
                NOT_PROTOBUF, timeout=TIMEOUT
            )
            with pytest.raises(grpc.aio.AioRpcError) as info:
                async for _ in times:
                    pass
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT

            chat = channel.stream_stream(f"{service}/Chat")(
                raw_stream(streaming_pb2.ChatRequest(message="hi").SerializeToString(), NOT_UTF8),
                timeout=TIMEOUT,
            )
            with pytest.raises(grpc.aio.AioRpcError) as info:
                async for _ in chat:
                    pass
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "polychat.streaming.v1.ChatRequest" in (info.value.details() or "")
    finally:
        await running.stop(0)
    no_tracebacks(caplog)
