"""The audit outbox against a LoggerService that is down for many delivery attempts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from pykit.testing.polling import wait_until
from pyservices.auth.outbox import Outbox
from pyservices.auth.store import AuthStore

# Short enough that the Logger stays down for several attempts in well under a second.
DOWN_TIMEOUT = 0.25
BACKOFF = 0.2
# Once the Logger is back, calls get all the time they need: a call that timed out
# after the Logger had stored its event would be sent again, which is not what we test.
UP_TIMEOUT = 10.0
ATTEMPTS = 4
REJECTED = "REJECTED_TYPE"


class RecordingLogger(logger_pb2_grpc.LoggerServiceServicer):
    """Records every LogEvent that reaches it; refuses all while `down`, one type always."""

    def __init__(self) -> None:
        self.down = True
        self.refused = 0
        self.received: list[str] = []

    async def LogEvent(
        self, request: logger_pb2.LogEventRequest, context: grpc.aio.ServicerContext
    ) -> logger_pb2.LogEventResponse:
        if self.down:
            self.refused += 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "logger is starting")
        self.received.append(request.event_id)
        if request.event_type == REJECTED:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "event_type is not known")
        return logger_pb2.LogEventResponse(id=len(self.received))


async def serve(logger: RecordingLogger, port: int = 0) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    logger_pb2_grpc.add_LoggerServiceServicer_to_server(logger, server)
    port = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server, port


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AuthStore]:
    s = AuthStore(tmp_path / "auth.db")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


def outbox_records(caplog: pytest.LogCaptureFixture, *texts: str) -> list[logging.LogRecord]:
    """The outbox's log records whose message holds every one of `texts`."""
    return [
        r
        for r in caplog.records
        if r.name == "pyservices.auth.outbox" and all(t in r.message for t in texts)
    ]


async def test_logger_down_for_many_attempts_loses_nothing_and_repeats_nothing(
    store: AuthStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyservices.auth.outbox")
    for i in range(6):
        kind = REJECTED if i == 2 else "SESSION_STARTED"
        await store.enqueue(kind, f"event {i}")
    queued = await store.pending()
    rejected = queued[2].event_id

    # Learn a free port, then leave nothing listening on it.
    logger = RecordingLogger()
    server, port = await serve(logger)
    await server.stop(0)

    outbox = Outbox(store, f"127.0.0.1:{port}", rpc_timeout=DOWN_TIMEOUT, max_backoff=BACKOFF)
    outbox.start()
    try:
        # Nothing listens: each attempt runs into its deadline.
        async def timed_out_several_times() -> bool:
            return len(outbox_records(caplog, "unreachable", "code=DEADLINE_EXCEEDED")) >= ATTEMPTS

        await wait_until(timed_out_several_times, what=f"{ATTEMPTS} attempts to time out")
        assert await store.pending_count() == len(queued)

        # The Logger listens again but answers UNAVAILABLE: more failed attempts.
        outbox.rpc_timeout = UP_TIMEOUT
        server, _ = await serve(logger, port)

        async def refused_several_times() -> bool:
            return logger.refused >= ATTEMPTS

        await wait_until(refused_several_times, what=f"{ATTEMPTS} attempts to be refused")
        assert logger.received == []
        assert await store.pending_count() == len(queued)

        logger.down = False

        async def drained() -> bool:
            return await store.pending_count() == 0

        await wait_until(drained, what="the outbox to drain")
    finally:
        await outbox.stop()
        await server.stop(0)

    # Each event reached the Logger once, in the order it was queued; the one the
    # Logger rejected for good was sent once, dropped, and said so in the log.
    assert logger.received == [event.event_id for event in queued]
    (dropped,) = outbox_records(caplog, "dropping it")
    assert dropped.levelno == logging.ERROR
    assert f"event_id={rejected}" in dropped.message
    assert "code=INVALID_ARGUMENT" in dropped.message
    assert len(outbox_records(caplog, "unreachable", "code=UNAVAILABLE")) >= ATTEMPTS
