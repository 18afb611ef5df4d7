"""Delivers queued audit events to LoggerService, in order, until each is acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import grpc
from google.protobuf import timestamp_pb2
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc
from prometheus_client import Gauge

from pykit.channels import open_channel
from pykit.tls import ClientTLS, explain_unavailable
from pyservices.auth.store import AuthStore, Event
from pyservices.logger.writers import process_write_key, write_metadata
from pyservices.storage.sqlite import StoreFailure

log = logging.getLogger("pyservices.auth.outbox")

AUTH_OUTBOX_PENDING = Gauge(
    "polychat_auth_outbox_pending", "Audit events waiting in auth.db for LoggerService."
)

# Codes after which the same request can never succeed: the event is dropped
# (with an error in the log) instead of blocking every later event forever.
PERMANENT = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNIMPLEMENTED}

# The name AuthService gives itself in the audit log's writer column ("key:auth"), when it
# writes with the shared key rather than a client certificate.
WRITER_NAME = "auth"

# Codes that mean the logger does not accept Auth as a writer: a set-up error that an
# operator must fix. Events stay queued (nothing is lost) and the log says what to fix.
REFUSED_WRITER = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}

# Keep the channel's own reconnect backoff short, so that delivery resumes
# within seconds of LoggerService coming back.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


def dial_address(address: str) -> str:
    """Turn a listen address ('[::]:50055', '0.0.0.0:50055') into one a client can dial."""
    host, sep, port = address.rpartition(":")
    if sep and host in ("", "[::]", "0.0.0.0", "::"):
        return f"localhost:{port}"
    return address


class Outbox:
    """A background task that drains the outbox table into LoggerService."""

    def __init__(
        self,
        store: AuthStore,
        logger_address: str,
        rpc_timeout: float = 5.0,
        max_backoff: float = 2.0,
        tls: ClientTLS | None = None,
        write_key: str | None = None,
    ) -> None:
        """`write_key` is the logger's key (Settings.logger_write_key; default: this process's)."""
        self.store = store
        self.tls = tls or ClientTLS()
        self.address = dial_address(logger_address)
        self.rpc_timeout = rpc_timeout
        self.max_backoff = max_backoff
        self.metadata = write_metadata(WRITER_NAME, write_key or process_write_key())
        self._wake = asyncio.Event()
        self._channel: grpc.aio.Channel | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._channel = open_channel(self.address, self.tls, options=CHANNEL_OPTIONS)
        self._task = asyncio.create_task(self._run(), name="auth-outbox")
        self._wake.set()  # deliver whatever an earlier run left behind

    def notify(self) -> None:
        """Called after an event was queued."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop delivering; undelivered events stay queued for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def _run(self) -> None:
        assert self._channel is not None
        stub = logger_pb2_grpc.LoggerServiceStub(self._channel)
        backoff = 0.1
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._drain(stub)
                backoff = 0.1
            except grpc.aio.AioRpcError as err:
                if err.code() in REFUSED_WRITER:
                    log.error(
                        "logger refuses AuthService as a writer; events stay queued"
                        " address=%s code=%s reason=%r retry_in=%.1fs",
                        self.address,
                        err.code().name,
                        err.details(),
                        backoff,
                    )
                else:
                    reason = ""
                    if err.code() == grpc.StatusCode.UNAVAILABLE:
                        reason = explain_unavailable(err.details() or "", self.tls.enabled)
                    log.warning(
                        "logger unreachable address=%s code=%s retry_in=%.1fs reason=%r",
                        self.address,
                        err.code().name,
                        backoff,
                        reason,
                    )
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, self.max_backoff)
                self._wake.set()
            except StoreFailure:
                # auth.db cannot be used: the store logged why; events stay queued in it.
                await asyncio.sleep(self.max_backoff)
                self._wake.set()
            except Exception:
                log.exception("outbox delivery failed; retrying")
                await asyncio.sleep(self.max_backoff)
                self._wake.set()

    async def _drain(self, stub: logger_pb2_grpc.LoggerServiceStub) -> None:
        AUTH_OUTBOX_PENDING.set(await self.store.pending_count())
        while events := await self.store.pending():
            for event in events:
                await self._deliver(stub, event)
                AUTH_OUTBOX_PENDING.dec()
        AUTH_OUTBOX_PENDING.set(0)

    async def _deliver(self, stub: logger_pb2_grpc.LoggerServiceStub, event: Event) -> None:
        when = timestamp_pb2.Timestamp()
        when.FromNanoseconds(int(event.created_at * 1e9))
        request = logger_pb2.LogEventRequest(
            event_type=event.event_type,
            details=event.details,
            timestamp=when,
            event_id=event.event_id,
        )
        try:
            await stub.LogEvent(
                request, timeout=self.rpc_timeout, wait_for_ready=True, metadata=self.metadata
            )
        except grpc.aio.AioRpcError as err:
            if err.code() not in PERMANENT:
                raise
            log.error(
                "logger rejected event; dropping it event_id=%s type=%s code=%s details=%r",
                event.event_id,
                event.event_type,
                err.code().name,
                err.details(),
            )
        await self.store.delivered(event.seq)
