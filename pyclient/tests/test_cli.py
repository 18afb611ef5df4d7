"""The client as a user runs it: `python pyclient/client.py ...` with piped stdin."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from polychat.chat import chat_pb2

from pyclient.tests.fakeserver import FakeChat, running_fake
from pykit.testing.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0
Kind = chat_pb2.ChatMessage.Kind


@contextlib.asynccontextmanager
async def client(*args: str, module: bool = False) -> AsyncIterator[asyncio.subprocess.Process]:
    cmd = ["-m", "pyclient.client"] if module else ["pyclient/client.py"]
    env = {k: v for k, v in os.environ.items() if k != "CHAT_SERVER"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *cmd,
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    raw = await asyncio.wait_for(proc.stdout.readline(), WAIT)
    assert raw, "the client closed its output"
    return raw.decode().rstrip("\n")


async def send(proc: asyncio.subprocess.Process, text: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(text.encode())
    await proc.stdin.drain()


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    assert proc.stdout is not None and proc.stderr is not None
    out, err = await asyncio.wait_for(asyncio.gather(proc.stdout.read(), proc.stderr.read()), WAIT)
    code = await asyncio.wait_for(proc.wait(), WAIT)
    return code, out.decode(), err.decode()


@pytest.mark.parametrize(("ending", "module"), [("/quit\n", False), ("", False), ("/q\n", True)])
async def test_chat_over_pipes(
    fake_server: tuple[FakeChat, int, grpc.aio.Server], ending: str, module: bool
) -> None:
    fake, port, _ = fake_server
    async with client("Alice", "general", f"127.0.0.1:{port}", module=module) as proc:
        assert (await line(proc)).endswith("] *** Welcome, Alice! You are in room general.")
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        assert member.metadata["chat-user"] == "Alice"
        assert member.metadata["chat-room"] == "general"

        fake.broadcast(chat_pb2.ChatMessage(user="Bob", message="Hi Alice!", kind=Kind.KIND_TEXT))
        assert await line(proc) == "[Bob]: Hi Alice!"
        fake.broadcast(chat_pb2.ChatMessage(user="Eve", message="\x1b[2Jx\ny", kind=1))
        # A second line is a continuation line; every other control is escaped.
        assert await line(proc) == "[Eve]: \\x1b[2Jx"
        assert await line(proc) == "    y"
        join = fake.notice(Kind.KIND_JOIN, "Carol joined the room")
        fake.broadcast(join)
        hms = time.strftime("%H:%M:%S", time.localtime(join.timestamp))
        assert await line(proc) == f"[{hms}] >>> Carol joined the room"

        await send(proc, "\n  \nHello everyone!\nsecond line\n")
        _, first = await asyncio.wait_for(fake.received.get(), WAIT)
        _, second = await asyncio.wait_for(fake.received.get(), WAIT)
        assert (first.user, first.message, first.room) == ("Alice", "Hello everyone!", "general")
        assert second.message == "second line"

        await send(proc, ending)
        assert proc.stdin is not None
        proc.stdin.close()
        code, out, err = await finish(proc)
        assert (code, out, err) == (0, "", "")
        assert await asyncio.wait_for(fake.left.get(), WAIT) == "Alice"
        assert fake.received.empty()


async def test_no_name_on_pipes_joins_as_client_n(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    async with client("--server", f"127.0.0.1:{port}") as proc:
        assert (await line(proc)).endswith("*** Welcome, Client(1)! You are in room general.")
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        assert "chat-user" not in member.metadata
        assert proc.stdin is not None
        proc.stdin.close()
        code, _, err = await finish(proc)
        assert (code, err) == (0, "")


@pytest.mark.parametrize(
    ("code", "details", "expected"),
    [
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "you fell behind", "disconnected: you fell behind"),
        (None, "", "disconnected: server closed the stream"),
    ],
)
async def test_server_ends_stream(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
    code: grpc.StatusCode | None,
    details: str,
    expected: str,
) -> None:
    fake, port, _ = fake_server
    async with client("--no-reconnect", "Alice", "general", f"127.0.0.1:{port}") as proc:
        await line(proc)
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        fake.end(member, code, details)
        rc, out, err = await finish(proc)
        assert (rc, out, err) == (1, "", expected + "\n")


async def test_lost_server_is_one_line(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, server = fake_server
    async with client("--no-reconnect", "Alice", "general", f"127.0.0.1:{port}") as proc:
        await line(proc)
        await asyncio.wait_for(fake.joined.get(), WAIT)
        await server.stop(None)
        rc, out, err = await finish(proc)
        assert rc == 1 and out == ""
        assert len(err.splitlines()) == 1 and err.endswith("\n")
        assert err.startswith(("error: ", "disconnected: ")), err


@pytest.mark.parametrize("server", ["127.0.0.1:{port}", "127.0.0.1:99999", "no such host:1"])
async def test_unreachable_server_is_one_line(server: str) -> None:
    address = server.format(port=free_port())
    async with client("Alice", "general", address) as proc:
        assert proc.stdin is not None
        proc.stdin.close()
        rc, out, err = await finish(proc)
    assert rc == 1 and out == ""
    assert err.startswith(f"error: cannot reach chat server at {address}: "), err
    assert len(err.splitlines()) == 1 and err.endswith("\n")
    assert "Traceback" not in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_ctrl_c_on_pipes_leaves_cleanly(
    fake_server: tuple[FakeChat, int, grpc.aio.Server], sig: signal.Signals
) -> None:
    fake, port, _ = fake_server
    async with client("Alice", "general", f"127.0.0.1:{port}") as proc:
        await line(proc)
        await asyncio.wait_for(fake.joined.get(), WAIT)
        proc.send_signal(sig)
        rc, out, err = await finish(proc)
        assert (rc, out, err) == (0, "", "")
        assert await asyncio.wait_for(fake.left.get(), WAIT) == "Alice"


@pytest.mark.parametrize("module", [False, True])
async def test_help(module: bool) -> None:
    async with client("-h", module=module) as proc:
        rc, out, err = await finish(proc)
    assert rc == 0 and err == ""
    for word in ("username", "room", "server", "--name", "--room", "--server"):
        assert word in out


async def test_rides_out_a_server_restart_over_pipes(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, server = fake_server
    args = ("--reconnect-max-delay", "20ms", "Alice", "general", f"127.0.0.1:{port}")
    async with client(*args) as proc:
        assert "*** Welcome, Alice!" in await line(proc)
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        fake.say("Bob", "before")
        assert await line(proc) == "[Bob]: before"

        await server.stop(None)
        lost = await line(proc)
        assert "] *** Connection lost (" in lost and lost.endswith("); reconnecting...")
        await send(proc, "typed while down\n")
        assert await line(proc) == "(pending) typed while down"
        fake.say("Bob", "missed")  # kept while the client was away
        # The server comes back on the same port, with what it had kept (as with chat.db).
        async with running_fake(fake=fake, port=port):
            assert (await line(proc)).endswith("] *** Reconnected")
            assert (await line(proc)).endswith("*** Welcome back, Alice! You are in room general.")
            assert await line(proc) == "[Bob]: missed"
            again = await asyncio.wait_for(fake.joined.get(), WAIT)
            assert again.name == member.name
            assert again.metadata["chat-resume-from"] == f"{fake.epoch}:1"
            name, msg = await asyncio.wait_for(fake.relayed.get(), WAIT)
            assert (name, msg.message) == ("Alice", "typed while down")
            assert proc.stdin is not None
            proc.stdin.close()
            code, out, err = await finish(proc)
        assert (code, out, err) == (0, "", "")
    assert fake.relayed.empty()


async def test_end_of_input_while_reconnecting_leaves_at_once(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
) -> None:
    fake, port, _ = fake_server
    # An hour between attempts: leaving must not wait for the next one.
    args = ("--reconnect-max-delay", "1h", "Alice", "general", f"127.0.0.1:{port}")
    async with client(*args) as proc:
        await line(proc)
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        fake.refuse = (grpc.StatusCode.UNAVAILABLE, "starting up")
        fake.drop(member)
        lost = await line(proc)
        assert lost.endswith("*** Connection lost (connection closed); reconnecting...")
        await send(proc, "never sent\n")
        assert await line(proc) == "(pending) never sent"
        assert proc.stdin is not None
        proc.stdin.close()
        code, out, err = await finish(proc)
    assert (code, err) == (0, "")
    assert out.endswith("*** 1 line typed while disconnected was not sent\n")
    assert len(out.splitlines()) == 1
    while not fake.received.empty():
        _, msg = fake.received.get_nowait()
        assert msg.message != "never sent"


@pytest.mark.parametrize(
    ("code", "details", "expected"),
    [
        (
            grpc.StatusCode.UNAUTHENTICATED,
            "session expired",
            "error: sign-in failed: session expired",
        ),
        (grpc.StatusCode.PERMISSION_DENIED, "not yours", "disconnected: not yours"),
    ],
)
async def test_a_refused_reconnect_is_one_line(
    fake_server: tuple[FakeChat, int, grpc.aio.Server],
    code: grpc.StatusCode,
    details: str,
    expected: str,
) -> None:
    fake, port, _ = fake_server
    async with client(
        "--reconnect-max-delay", "20ms", "Alice", "general", f"127.0.0.1:{port}"
    ) as proc:
        await line(proc)
        member = await asyncio.wait_for(fake.joined.get(), WAIT)
        fake.refuse = (code, details)
        fake.drop(member)
        rc, out, err = await finish(proc)
    assert (rc, err) == (1, expected + "\n")
    assert "Connection lost" in out and len(out.splitlines()) == 1


async def test_bad_reconnect_setting_is_one_line() -> None:
    async with client("--reconnect-max-delay", "soon", "Alice") as proc:
        rc, out, err = await finish(proc)
    assert (rc, out) == (2, "")
    assert err == (
        'error: invalid value "soon" for --reconnect-max-delay (env CHAT_RECONNECT_MAX_DELAY): '
        "not a duration such as 30s, 1m or 500ms\n"
    )
