"""A real RandomService on 127.0.0.1, port 0, that reports how its streams end."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from polychat.random.v1 import random_pb2_grpc

from pyservices.rand.server import SPEC, make_register
from pyservices.runner import Running, start
from pyservices.spec import Settings


@dataclasses.dataclass
class Harness:
    running: Running
    channel: grpc.aio.Channel
    stub: random_pb2_grpc.RandomServiceStub
    # (outcome, numbers sent) for every stream that ended.
    ended: asyncio.Queue[tuple[str, int]]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.port}"


@pytest.fixture
async def rand(tmp_path: Path) -> AsyncIterator[Harness]:
    ended: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
    spec = dataclasses.replace(
        SPEC, register=make_register(lambda outcome, n: ended.put_nowait((outcome, n)))
    )
    settings = Settings(data_dir=tmp_path, addresses={}, max_message_bytes=4 * 1024 * 1024)
    running = await start(spec, "127.0.0.1:0", settings)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Harness(running, channel, random_pb2_grpc.RandomServiceStub(channel), ended)
    finally:
        await channel.close()
        await running.stop(0)
