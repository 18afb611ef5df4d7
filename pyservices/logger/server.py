"""LoggerService: stores events in SQLite and prints one line per new event.

Only known writers may log (see writers.py); each record keeps who sent it.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import grpc
from google.protobuf import timestamp_pb2
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc
from prometheus_client import Counter

from pykit.text import first_unfit_for_name, sanitize
from pyservices.logger.config import WRITERS, LoggerOptions
from pyservices.logger.store import LogStore, db_path
from pyservices.logger.writers import Refusal, WriterCheck
from pyservices.spec import ServiceSpec, Settings

log = logging.getLogger("pyservices.logger")

LOGGER_EVENTS = Counter(
    "polychat_logger_events",
    "LogEvent requests by result: stored (new), duplicate (an event_id seen before) or refused"
    " (not a known writer).",
    ("result",),
)

SERVICE_NAME = logger_pb2.DESCRIPTOR.services_by_name["LoggerService"].full_name
DEFAULT_PORT = 50055

EVENT_TYPE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
MAX_DETAILS_CHARS = 4096
MAX_EVENT_ID_CHARS = 128
DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


class InvalidArgument(ValueError):
    """A request field a client must fix."""


def check_event_type(event_type: str) -> str:
    if not event_type:
        raise InvalidArgument("event_type is required")
    if not EVENT_TYPE_RE.fullmatch(event_type):
        raise InvalidArgument(
            "event_type must be 1-64 characters of letters, digits, '_', '.', ':' or '-'"
        )
    return event_type


def to_datetime(ts: timestamp_pb2.Timestamp, field: str) -> datetime:
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as err:
        raise InvalidArgument(f"{field} is out of range: {err}") from None


def check_log_event(
    request: logger_pb2.LogEventRequest,
) -> tuple[str, str, datetime, str | None]:
    event_type = check_event_type(request.event_type)
    if len(request.details) > MAX_DETAILS_CHARS:
        raise InvalidArgument(
            f"details is {len(request.details)} characters; at most {MAX_DETAILS_CHARS} allowed"
        )
    if request.HasField("timestamp"):
        when = to_datetime(request.timestamp, "timestamp")
    else:
        when = datetime.now(UTC)
    event_id = request.event_id or None
    if event_id is not None and (
        len(event_id) > MAX_EVENT_ID_CHARS or first_unfit_for_name(event_id) is not None
    ):
        raise InvalidArgument(
            f"event_id must be at most {MAX_EVENT_ID_CHARS} characters without control characters"
        )
    return event_type, request.details, when, event_id


def format_event(event_type: str, details: str) -> str:
    """The line the server prints for a stored event, safe for a terminal."""
    return f"[LOG] {sanitize(event_type)}: {sanitize(details)}"


class LoggerServicer(logger_pb2_grpc.LoggerServiceServicer):
    def __init__(self, store: LogStore, writers: WriterCheck) -> None:
        self.store = store
        self.writers = writers

    async def LogEvent(
        self, request: logger_pb2.LogEventRequest, context: grpc.aio.ServicerContext
    ) -> logger_pb2.LogEventResponse:
        try:
            writer = self.writers.check(context)
        except Refusal as refusal:
            LOGGER_EVENTS.labels("refused").inc()
            # The request log already has a line per refused call; this adds why, for
            # debugging, without letting a flood of refusals double the log.
            log.debug("refused writer peer=%s reason=%r", context.peer(), refusal.message)
            await context.abort(refusal.code, refusal.message)
        try:
            event_type, details, when, event_id = check_log_event(request)
        except InvalidArgument as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        record_id, duplicate = await self.store.add(event_type, details, when, event_id, writer)
        LOGGER_EVENTS.labels("duplicate" if duplicate else "stored").inc()
        if duplicate:
            log.info("duplicate event_id=%r id=%d", event_id, record_id)
        else:
            print(format_event(event_type, details), file=sys.stdout, flush=True)
        return logger_pb2.LogEventResponse(id=record_id, duplicate=duplicate)

    async def QueryLogs(
        self, request: logger_pb2.QueryLogsRequest, context: grpc.aio.ServicerContext
    ) -> logger_pb2.QueryLogsResponse:
        try:
            if request.event_type:
                check_event_type(request.event_type)
            if request.limit < 0:
                raise InvalidArgument("limit must not be negative")
            since = to_datetime(request.since, "since") if request.HasField("since") else None
        except InvalidArgument as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        limit = min(request.limit or DEFAULT_LIMIT, MAX_LIMIT)
        entries = await self.store.query(request.event_type, limit, since)
        response = logger_pb2.QueryLogsResponse()
        for e in entries:
            entry = response.entries.add(
                id=e.id, event_type=e.event_type, details=e.details, writer=e.writer
            )
            entry.timestamp.FromDatetime(e.timestamp)
        return response


def writer_check(settings: Settings, options: LoggerOptions) -> WriterCheck:
    """Who may write: the key every writer in the process shares, and certificate names."""
    mutual = settings.server_tls is not None and settings.server_tls.mutual
    if options.writers and not mutual:
        log.warning("%s has no effect without mutual TLS (--tls-client-ca)", WRITERS.env)
    return WriterCheck(settings.logger_write_key, options.writers or ())


async def register(
    server: grpc.aio.Server, settings: Settings, options: LoggerOptions
) -> Callable[[], Awaitable[None]] | None:
    writers = writer_check(settings, options)
    store = LogStore(db_path(settings.data_dir))
    await store.open(on_lost=settings.on_store_lost)
    logger_pb2_grpc.add_LoggerServiceServicer_to_server(LoggerServicer(store, writers), server)
    log.info("log database path=%s", store.path)
    return store.close


SPEC = ServiceSpec(
    name="logger",
    service_names=(SERVICE_NAME,),
    default_port=DEFAULT_PORT,
    register=register,
    options=LoggerOptions,
)
