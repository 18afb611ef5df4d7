"""`python -m pyservices.logger.client TYPE DETAILS`: send one event to LoggerService."""

from __future__ import annotations

import argparse
import sys

import grpc
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from pykit import config
from pykit.channels import (
    explain_unavailable,
    uses_tls,
)
from pykit.cli import add_server_arguments, channel_or_exit, run_client
from pykit.text import sanitize
from pyservices.logger.writers import WRITE_KEY_ENV, configured_write_key, write_metadata

DEFAULT_SERVER = "localhost:50055"
DEFAULT_WRITER = "logger-client"
TIMEOUT_SECONDS = 10.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = config.ArgumentParser(
        prog="python -m pyservices.logger.client",
        description="Send one event to LoggerService.",
    )
    parser.add_argument("event_type", metavar="TYPE", help="event type, e.g. SESSION_STARTED")
    parser.add_argument("details", metavar="DETAILS", help="readable details")
    parser.add_argument(
        "--event-id",
        default="",
        help="an id that makes retries idempotent (sending it again stores nothing new)",
    )
    parser.add_argument(
        "--writer",
        default=DEFAULT_WRITER,
        help="the name the audit log records for this writer when it writes with the key in "
        f"{WRITE_KEY_ENV} (default: {DEFAULT_WRITER}); with a client certificate, its name",
    )
    add_server_arguments(parser, env="LOGGER_SERVER", default=DEFAULT_SERVER, what="LoggerService")
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    request = logger_pb2.LogEventRequest(
        event_type=args.event_type, details=args.details, event_id=args.event_id
    )
    channel = channel_or_exit(args.server, args)
    async with channel:
        stub = logger_pb2_grpc.LoggerServiceStub(channel)
        try:
            # Without LOGGER_WRITE_KEY there is no key to send: a client certificate (mutual
            # TLS) is then the only way in, and the server says so if there is none.
            key = configured_write_key()
            metadata = write_metadata(args.writer, key) if key is not None else ()
            response = await stub.LogEvent(request, timeout=TIMEOUT_SECONDS, metadata=metadata)
        except grpc.aio.AioRpcError as err:
            details = err.details() or ""
            if err.code() == grpc.StatusCode.UNAVAILABLE:
                details = f"cannot reach LoggerService at {args.server}: " + explain_unavailable(
                    details or "unavailable", uses_tls(args)
                )
            print(f"LogEvent failed: {err.code().name}: {sanitize(details)}", file=sys.stderr)
            return 1
    note = " (duplicate: already stored)" if response.duplicate else ""
    print(f"Logged event {response.id}{note}")
    return 0


if __name__ == "__main__":
    run_client(main)
