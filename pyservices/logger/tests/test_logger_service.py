"""LoggerService against a real server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from pykit.testing.processes import run_module
from pyservices.logger.server import SPEC, format_event
from pyservices.logger.store import db_path
from pyservices.logger.writers import WRITE_KEY_ENV, process_write_key, write_metadata
from pyservices.runner import Running
from pyservices.tests.servers import make_settings, start_on


class AsWriter(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Sends this process's write key with every call, as AuthService's outbox does."""

    async def intercept_unary_unary(
        self,
        continuation: Callable[..., Awaitable[object]],
        details: grpc.aio.ClientCallDetails,
        request: object,
    ) -> object:
        metadata = (*(details.metadata or ()), *write_metadata("tests", process_write_key()))
        details = grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )
        return await continuation(details, request)


def writer_channel(port: int) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=[AsWriter()])


@pytest.fixture
async def logger(tmp_path: Path) -> AsyncIterator[Running]:
    running = await start_on(SPEC, make_settings(tmp_path))
    try:
        yield running
    finally:
        await running.stop(0)


@pytest.fixture
async def stub(logger: Running) -> AsyncIterator[logger_pb2_grpc.LoggerServiceStub]:
    async with writer_channel(logger.port) as channel:
        yield logger_pb2_grpc.LoggerServiceStub(channel)


async def test_log_and_query(stub: logger_pb2_grpc.LoggerServiceStub) -> None:
    first = await stub.LogEvent(
        logger_pb2.LogEventRequest(event_type="SESSION_STARTED", details="User 'user1' logged in")
    )
    second = await stub.LogEvent(logger_pb2.LogEventRequest(event_type="OTHER", details="x"))
    assert second.id == first.id + 1
    assert not first.duplicate
    entries = (await stub.QueryLogs(logger_pb2.QueryLogsRequest())).entries
    assert [e.id for e in entries] == [second.id, first.id]  # newest first
    assert entries[1].details == "User 'user1' logged in"
    only = (await stub.QueryLogs(logger_pb2.QueryLogsRequest(event_type="OTHER"))).entries
    assert [e.event_type for e in only] == ["OTHER"]


async def test_timestamp_kept_and_since_filter(stub: logger_pb2_grpc.LoggerServiceStub) -> None:
    old = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    request = logger_pb2.LogEventRequest(event_type="OLD", details="old")
    request.timestamp.FromDatetime(old)
    await stub.LogEvent(request)
    await stub.LogEvent(logger_pb2.LogEventRequest(event_type="NEW", details="new"))
    entries = (await stub.QueryLogs(logger_pb2.QueryLogsRequest())).entries
    assert [e.event_type for e in entries] == ["NEW", "OLD"]
    assert entries[1].timestamp.ToDatetime(tzinfo=UTC) == old
    query = logger_pb2.QueryLogsRequest()
    query.since.FromDatetime(datetime.now(UTC) - timedelta(hours=1))
    recent = (await stub.QueryLogs(query)).entries
    assert [e.event_type for e in recent] == ["NEW"]


async def test_limit_default_and_explicit(stub: logger_pb2_grpc.LoggerServiceStub) -> None:
    for i in range(25):
        await stub.LogEvent(logger_pb2.LogEventRequest(event_type="E", details=str(i)))
    assert len((await stub.QueryLogs(logger_pb2.QueryLogsRequest())).entries) == 20
    five = (await stub.QueryLogs(logger_pb2.QueryLogsRequest(limit=5))).entries
    assert [e.details for e in five] == ["24", "23", "22", "21", "20"]
    everything = (await stub.QueryLogs(logger_pb2.QueryLogsRequest(limit=100_000))).entries
    assert len(everything) == 25


async def test_event_id_is_idempotent(stub: logger_pb2_grpc.LoggerServiceStub) -> None:
    request = logger_pb2.LogEventRequest(event_type="E", details="once", event_id="abc-1")
    first = await stub.LogEvent(request)
    again = await stub.LogEvent(request)
    assert (again.id, again.duplicate) == (first.id, True)
    entries = (await stub.QueryLogs(logger_pb2.QueryLogsRequest())).entries
    assert len(entries) == 1


@pytest.mark.parametrize(
    ("request_", "needle"),
    [
        (logger_pb2.LogEventRequest(event_type="", details="x"), "event_type"),
        (logger_pb2.LogEventRequest(event_type="BAD TYPE", details="x"), "event_type"),
        (logger_pb2.LogEventRequest(event_type="E", details="x" * 4097), "details"),
        (logger_pb2.LogEventRequest(event_type="E", details="x", event_id="i" * 129), "event_id"),
    ],
)
async def test_log_event_rejects_bad_input(
    stub: logger_pb2_grpc.LoggerServiceStub, request_: logger_pb2.LogEventRequest, needle: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.LogEvent(request_)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in (info.value.details() or "")
    assert not (await stub.QueryLogs(logger_pb2.QueryLogsRequest())).entries


async def test_query_rejects_negative_limit(stub: logger_pb2_grpc.LoggerServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.QueryLogs(logger_pb2.QueryLogsRequest(limit=-1))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_prints_one_sanitised_line_per_event(
    stub: logger_pb2_grpc.LoggerServiceStub, capsys: pytest.CaptureFixture[str]
) -> None:
    await stub.LogEvent(
        logger_pb2.LogEventRequest(event_type="SESSION_STARTED", details="User 'user1' logged in")
    )
    await stub.LogEvent(logger_pb2.LogEventRequest(event_type="E", details="a\x1b[2Jb\nc"))
    lines = capsys.readouterr().out.splitlines()
    assert "[LOG] SESSION_STARTED: User 'user1' logged in" in lines
    assert "[LOG] E: a\\x1b[2Jb\\x0ac" in lines
    assert format_event("E", "\u202eevil") == "[LOG] E: \\u202eevil"


async def test_records_survive_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    running = await start_on(SPEC, settings)
    try:
        async with writer_channel(running.port) as channel:
            stub = logger_pb2_grpc.LoggerServiceStub(channel)
            first = await stub.LogEvent(
                logger_pb2.LogEventRequest(event_type="E", details="kept", event_id="k1")
            )
    finally:
        await running.stop(0)
    running = await start_on(SPEC, settings)
    try:
        async with writer_channel(running.port) as channel:
            stub = logger_pb2_grpc.LoggerServiceStub(channel)
            entries = (await stub.QueryLogs(logger_pb2.QueryLogsRequest())).entries
            assert [(e.id, e.details) for e in entries] == [(first.id, "kept")]
            again = await stub.LogEvent(
                logger_pb2.LogEventRequest(event_type="E", details="kept", event_id="k1")
            )
            assert (again.id, again.duplicate) == (first.id, True)
            later = await stub.LogEvent(logger_pb2.LogEventRequest(event_type="E", details="new"))
            assert later.id == first.id + 1
    finally:
        await running.stop(0)


async def test_client_then_query_tool(logger: Running, tmp_path: Path) -> None:
    sent = await run_module(
        "pyservices.logger.client",
        "DEMO_EVENT",
        "hello from the client",
        "--server",
        f"127.0.0.1:{logger.port}",
        **{WRITE_KEY_ENV: process_write_key()},
    )
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("Logged event 1")
    # The query tool reads the live database read-only, found through POLYCHAT_DATA_DIR.
    shown = await run_module("pyservices.logger.query", POLYCHAT_DATA_DIR=str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    header = shown.stdout.splitlines()[1]
    for column in ("ID", "Event Type", "Details", "Timestamp", "Writer"):
        assert column in header
    assert "DEMO_EVENT" in shown.stdout and "hello from the client" in shown.stdout
    assert "key:logger-client" in shown.stdout
    other = await run_module(
        "pyservices.logger.query", "--db", str(db_path(tmp_path)), "--type", "NOPE"
    )
    assert other.returncode == 0
    assert "No events of type NOPE" in other.stdout


async def test_client_reports_bad_input_without_traceback(logger: Running) -> None:
    result = await run_module(
        "pyservices.logger.client",
        "",
        "x",
        "--server",
        f"127.0.0.1:{logger.port}",
        **{WRITE_KEY_ENV: process_write_key()},
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("LogEvent failed: INVALID_ARGUMENT")
    assert "Traceback" not in result.stderr


async def test_query_tool_missing_database(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "logs.db"
    result = await run_module("pyservices.logger.query", "--db", str(missing))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"no log database at {missing}; start the logger service first or pass --db"
    )
    assert not missing.exists()
