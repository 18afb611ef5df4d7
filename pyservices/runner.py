"""Starts services, each on its own port, with health, reflection and graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from pyservices.spec import ServiceSpec, Settings

log = logging.getLogger("pyservices")

Cleanup = Callable[[], Awaitable[None]]


class Running:
    """A started server, with what is needed to stop it cleanly."""

    def __init__(
        self,
        spec: ServiceSpec,
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


async def start(spec: ServiceSpec, address: str, settings: Settings) -> Running:
    """Build, register and start one service's server on `address`."""
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
    ]
    server = grpc.aio.server(options=options)
    cleanup = await spec.register(server, settings)

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = (*spec.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)

    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"{spec.name}: cannot listen on {address} (port in use or bad address)")
    await server.start()
    for name in ("", *spec.service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("listening service=%s address=%s port=%d", spec.name, address, port)
    return Running(spec, server, health_servicer, port, cleanup)


async def serve(
    specs: Sequence[tuple[ServiceSpec, str]], settings: Settings, grace: float = 5.0
) -> None:
    """Run the given services until SIGINT or SIGTERM, then stop them all gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    running: list[Running] = []
    try:
        for spec, address in specs:
            running.append(await start(spec, address, settings))
        await stop.wait()
        log.info("shutting down services=%d grace=%.1fs", len(running), grace)
    finally:
        # Stop in reverse order: a service that calls another (auth -> logger)
        # is started after it and so stops before it.
        for r in reversed(running):
            with contextlib.suppress(Exception):
                await r.stop(grace)
