"""Only known writers may add to the audit log, and each record says who wrote it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from pykit.testing.polling import wait_until
from pykit.testing.ports import free_port
from pykit.testing.processes import kill, read_until, run_module, spawn
from pyservices.logger.server import SPEC
from pyservices.logger.store import db_path
from pyservices.logger.writers import (
    KEY_METADATA,
    NAME_METADATA,
    WRITE_KEY_ENV,
    Refusal,
    WriterCheck,
    process_write_key,
    write_metadata,
)
from pyservices.runner import Running
from pyservices.tests.servers import make_settings, start_on

EVENT = logger_pb2.LogEventRequest(event_type="E", details="written")


def as_writer(name: str) -> tuple[tuple[str, str], ...]:
    """Metadata with this process's key, which in-process services take by default."""
    return write_metadata(name, process_write_key())


@pytest.fixture
async def logger(tmp_path: Path) -> AsyncIterator[Running]:
    running = await start_on(SPEC, make_settings(tmp_path))
    yield running
    await running.stop(0)


async def log_event(
    port: int, metadata: tuple[tuple[str, str], ...]
) -> tuple[grpc.StatusCode, str]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = logger_pb2_grpc.LoggerServiceStub(channel)
        try:
            await stub.LogEvent(EVENT, metadata=metadata)
        except grpc.aio.AioRpcError as err:
            return err.code(), err.details() or ""
    return grpc.StatusCode.OK, ""


async def entries(port: int) -> list[logger_pb2.LogEntry]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = await logger_pb2_grpc.LoggerServiceStub(channel).QueryLogs(
            logger_pb2.QueryLogsRequest()
        )
    return list(reply.entries)


async def test_unknown_writers_are_refused(logger: Running) -> None:
    code, detail = await log_event(logger.port, ())
    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert detail.startswith("only known writers may log events: send the logger's write key")
    code, detail = await log_event(logger.port, write_metadata("mallory", "guessed"))
    assert (code, detail) == (
        grpc.StatusCode.UNAUTHENTICATED,
        f"the write key in {KEY_METADATA} is not the logger's ({WRITE_KEY_ENV})",
    )
    assert await entries(logger.port) == []


async def test_a_key_holder_is_recorded_by_name(logger: Running) -> None:
    assert (await log_event(logger.port, as_writer("ops")))[0] == grpc.StatusCode.OK
    no_name = ((KEY_METADATA, process_write_key()),)
    assert (await log_event(logger.port, no_name))[0] == grpc.StatusCode.OK
    assert [e.writer for e in await entries(logger.port)] == ["key:unnamed", "key:ops"]
    code, _ = await log_event(logger.port, as_writer("not/a name"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_certificates_and_the_writers_list() -> None:
    anyone = WriterCheck("k")
    assert anyone.writer("auth.internal", {}) == "cert:auth.internal"
    listed = WriterCheck("k", {"auth.internal"})
    assert listed.writer("auth.internal", {}) == "cert:auth.internal"
    with pytest.raises(Refusal) as info:
        listed.writer("chat-client", {})
    assert info.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert "'chat-client' may not write" in info.value.message
    # A certificate off the list may still write with the key: the key is the grant.
    assert listed.writer("chat-client", {KEY_METADATA: "k", NAME_METADATA: "x"}) == "key:x"


async def test_a_configured_key_lets_a_client_process_write(tmp_path: Path) -> None:
    settings = replace(make_settings(tmp_path), logger_write_key="shared secret")
    running = await start_on(SPEC, settings)
    try:
        server = f"127.0.0.1:{running.port}"
        sent = await run_module(
            "pyservices.logger.client", "OPS", "by hand", "--writer", "alice", "--server", server,
            **{WRITE_KEY_ENV: "shared secret"},
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        wrong = await run_module(
            "pyservices.logger.client", "OPS", "forged", "--server", server,
            **{WRITE_KEY_ENV: "another secret"},
        )  # fmt: skip
        assert wrong.returncode == 1
        assert wrong.stderr.strip() == (
            "LogEvent failed: UNAUTHENTICATED: the write key in logger-write-key"
            " is not the logger's (LOGGER_WRITE_KEY)"
        )
        assert [(e.details, e.writer) for e in await entries(running.port)] == [
            ("by hand", "key:alice")
        ]
    finally:
        await running.stop(0)


async def test_events_stored_before_writers_were_kept_still_show(tmp_path: Path) -> None:
    path = db_path(tmp_path)
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE logs (
                id INTEGER PRIMARY KEY AUTOINCREMENT, event_type TEXT NOT NULL,
                details TEXT NOT NULL, timestamp TEXT NOT NULL, event_id TEXT UNIQUE,
                received_at TEXT NOT NULL
            );
            INSERT INTO logs (event_type, details, timestamp, received_at) VALUES
                ('OLD', 'from before', '2020-01-02T03:04:05.000000Z',
                 '2020-01-02T03:04:05.000000Z');
            """
        )
    shown = await run_module("pyservices.logger.query", "--db", str(path))
    assert shown.returncode == 0, shown.stderr
    assert "from before" in shown.stdout
    running = await start_on(SPEC, make_settings(tmp_path))
    try:
        assert (await log_event(running.port, as_writer("ops")))[0] == grpc.StatusCode.OK
        assert [(e.details, e.writer) for e in await entries(running.port)] == [
            ("written", "key:ops"),
            ("from before", ""),
        ]
    finally:
        await running.stop(0)


async def test_auth_in_the_same_process_needs_no_key(tmp_path: Path) -> None:
    """`make run`: no LOGGER_WRITE_KEY anywhere, and Auth's audit events still arrive."""
    auth, logger = free_port(), free_port()
    proc = await spawn(
        "pyservices", "logger", "auth", "--data-dir", str(tmp_path), "--metrics-addr", "",
        "--logger-addr", f"127.0.0.1:{logger}", "--auth-addr", f"127.0.0.1:{auth}",
        **{WRITE_KEY_ENV: ""},
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        await read_until(proc.stderr, "listening service=auth")
        async with grpc.aio.insecure_channel(f"127.0.0.1:{auth}") as channel:
            await auth_pb2_grpc.AuthServiceStub(channel).Login(
                auth_pb2.LoginRequest(username="user1", password="password1")
            )

        async def arrived() -> bool:
            return [e.writer for e in await entries(logger)] == ["key:auth"]

        await wait_until(arrived, what="the login event from Auth")
        # A process of its own has no way in.
        code, _ = await log_event(logger, as_writer("outsider"))
        assert code == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await kill(proc)


@pytest.mark.parametrize(
    ("setting", "warning"),
    [
        ("AUTH_LOGGER_SERVER", None),
        ("--auth-logger-server", None),
        (
            "LOGGER_ADDR",
            "LOGGER_ADDR as the address AuthService calls LoggerService at is deprecated and "
            "will be removed; use AUTH_LOGGER_SERVER (flag --auth-logger-server)",
        ),
    ],
)
async def test_auth_alone_sends_to_the_logger_server_it_is_told(
    tmp_path: Path, setting: str, warning: str | None
) -> None:
    """An AuthService in a process of its own (a container) calls the logger it is told of."""
    key = "shared-write-key"
    logger = await start_on(SPEC, replace(make_settings(tmp_path / "logger"), logger_write_key=key))
    auth = free_port()
    where = f"127.0.0.1:{logger.port}"
    told = [setting, where] if setting.startswith("--") else []
    env = {} if told else {setting: where}
    proc = await spawn(
        "pyservices", "auth", "--data-dir", str(tmp_path / "auth"), "--metrics-addr", "",
        "--auth-addr", f"127.0.0.1:{auth}", *told, **{WRITE_KEY_ENV: key}, **env,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        startup = await read_until(proc.stderr, "listening service=auth")
        warnings = [line for line in startup.splitlines() if "level=WARNING" in line]
        assert [w.split(" logger=pyservices ")[-1] for w in warnings] == (
            [warning] if warning else []
        ), startup
        async with grpc.aio.insecure_channel(f"127.0.0.1:{auth}") as channel:
            await auth_pb2_grpc.AuthServiceStub(channel).Login(
                auth_pb2.LoginRequest(username="user1", password="password1")
            )

        async def arrived() -> bool:
            return [e.writer for e in await entries(logger.port)] == ["key:auth"]

        await wait_until(arrived, what="the login event from Auth")
    finally:
        await kill(proc)
        await logger.stop(0)
