"""An in-process interop server for the tests, and the shared throwaway CA."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from pyinterop.server import ServerOptions, start
from pykit.testing.pki import pki  # noqa: F401


@pytest.fixture
async def server_address() -> AsyncIterator[str]:
    """The address of a running TestService (plaintext, loopback, a free port)."""
    server, port = await start(ServerOptions(port=0, host="127.0.0.1"))
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


@pytest.fixture
async def channel(server_address: str) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(server_address) as channel:
        yield channel
