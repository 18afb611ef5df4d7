"""Starts services, each on its own port, with health, reflection and graceful stop.

Every server gets the same treatment: request logging and Prometheus metrics on every RPC
(health checks included, logged at DEBUG since probes poll them), keepalive pings (so that
a peer that vanished without closing its connection, a dropped chat member for instance, is
noticed and its streams end), and TLS or mutual TLS when the settings
carry a certificate.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from collections.abc import Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from pyservices import reflection
from pyservices.guard import GuardedServer
from pyservices.metrics import close_metrics, serve_metrics
from pyservices.observe import ObservedServer
from pyservices.observers import request_observer
from pyservices.spec import Cleanup, OptionsT, ServiceSpec, Settings

log = logging.getLogger("pyservices")

# How long the calls a stopped server cancelled get to unwind before the process exits.
CALLS_UNWIND_SECONDS = 2.0

# Keepalive: ping a client after 30 s without traffic and drop the connection if the ping is
# not answered within 10 s, so the streams of a client that vanished end within ~40 s. Clients
# may ping every 10 s (also with no call open) without being told "too many pings".
KEEPALIVE_OPTIONS: list[tuple[str, int]] = [
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
]


class Running:
    """A started server, with what is needed to stop it cleanly."""

    def __init__(
        self,
        spec: ServiceSpec[Any],
        server: grpc.aio.Server,
        health_servicer: health.HealthServicer,
        port: int,
        cleanup: Cleanup | None,
    ) -> None:
        self.spec = spec
        self.server = server
        self.health = health_servicer
        self.port = port
        self._cleanup = cleanup

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING, let in-flight RPCs finish for `grace` seconds, then clean up."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        if self._cleanup is not None:
            await self._cleanup()
        log.info("stopped service=%s", self.spec.name)


async def start(
    spec: ServiceSpec[OptionsT], address: str, settings: Settings, options: OptionsT | None = None
) -> Running:
    """Build, register and start one service's server on `address`.

    `options` are the service's own (`spec.options`); None means their defaults.
    """
    channel_options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        *KEEPALIVE_OPTIONS,
        # gRPC turns SO_REUSEPORT on by default: a second process on a busy port would start
        # and quietly take a share of this one's connections. A busy port is an error instead.
        ("grpc.so_reuseport", 0),
    ]
    mutual_tls = settings.server_tls is not None and settings.server_tls.mutual
    server = grpc.aio.server(options=channel_options)
    health_servicer = health.aio.HealthServicer()
    not_serving: set[asyncio.Task[None]] = set()

    def store_lost() -> None:
        # A lost database does not come back by itself: tell health probes.
        task = asyncio.create_task(_report_not_serving(health_servicer, spec))
        not_serving.add(task)
        task.add_done_callback(not_serving.discard)

    # The service and health checks register through GuardedServer (malformed requests
    # and database failures get their status) over ObservedServer (request logging and
    # metrics); each wraps every method once. Reflection is added to the server itself
    # and stays quiet.
    observed = GuardedServer(ObservedServer(server, request_observer(client_certs=mutual_tls)))
    cleanup = await spec.register(  # type: ignore[arg-type]
        observed,
        dataclasses.replace(settings, on_store_lost=store_lost),
        spec.options() if options is None else options,
    )

    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, observed)  # type: ignore[arg-type]
    names = (*spec.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)

    tls = settings.server_tls
    try:
        if tls is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, tls.credentials())
    except RuntimeError:  # recent grpcio raises instead of returning 0
        port = 0
    if port == 0:
        if cleanup is not None:
            await cleanup()
        raise OSError(f"{spec.name}: cannot listen on {address} (port in use or bad address)")
    await server.start()
    for name in ("", *spec.service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    security = "plaintext" if tls is None else ("mtls" if tls.mutual else "tls")
    log.info(
        "listening service=%s address=%s port=%d security=%s", spec.name, address, port, security
    )
    return Running(spec, server, health_servicer, port, cleanup)


async def _report_not_serving(health_servicer: health.HealthServicer, spec: ServiceSpec) -> None:
    for name in ("", *spec.service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    log.error("not serving service=%s: a database it needs is lost; restart it", spec.name)


async def serve(
    services: Sequence[tuple[ServiceSpec[Any], str, Any]],
    settings: Settings,
    grace: float = 5.0,
    metrics_addr: str = "",
) -> None:
    """Run the given services (spec, listen address, options) until SIGINT or SIGTERM, then
    stop them all gracefully.

    `metrics_addr` (e.g. ":9050"; empty: off) serves Prometheus /metrics for all of them.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    running: list[Running] = []
    metrics_server = serve_metrics(metrics_addr)
    try:
        for spec, address, options in services:
            running.append(await start(spec, address, settings, options))
        await stop.wait()
        log.info("shutting down services=%d grace=%.1fs", len(running), grace)
    finally:
        # Stop in reverse order: a service that calls another (auth -> logger)
        # is started after it and so stops before it.
        for r in reversed(running):
            with contextlib.suppress(Exception):
                await r.stop(grace)
        close_metrics(metrics_server)
        await _let_cancelled_calls_end(CALLS_UNWIND_SECONDS)


async def _let_cancelled_calls_end(within: float) -> None:
    """Wait, at most `within` seconds, for the calls the servers cut off to finish unwinding.

    A stopped server has cancelled its calls, but their tasks still need a few
    turns of the loop to end. Left running, asyncio.run would cancel them once
    more on exit, and grpc logs a traceback for each of those.
    """
    others = asyncio.all_tasks() - {asyncio.current_task()}
    if others:
        await asyncio.wait(others, timeout=within)
