"""A real StreamingService on 127.0.0.1, port 0, with a temporary data folder."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from polychat.streaming.v1 import streaming_pb2_grpc

from pyservices.runner import Running, start
from pyservices.spec import Settings
from pyservices.streaming.config import StreamingOptions
from pyservices.streaming.server import SPEC, StreamingServicer, make_register

MAX_MESSAGE = 8 * 1024 * 1024
EVENT_TIMEOUT = 10.0


@dataclasses.dataclass
class Harness:
    running: Running
    channel: grpc.aio.Channel
    stub: streaming_pb2_grpc.StreamingServiceStub
    servicer: StreamingServicer
    data_dir: Path
    # (event, temp name) from the upload hook: receiving, stored, discarded.
    upload_events: asyncio.Queue[tuple[str, str]]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.port}"

    @property
    def folder(self) -> Path:
        return self.data_dir / "streamed_files"

    async def next_upload_event(self) -> tuple[str, str]:
        return await asyncio.wait_for(self.upload_events.get(), EVENT_TIMEOUT)


StartStreaming = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start_streaming(tmp_path: Path) -> AsyncIterator[StartStreaming]:
    started: list[Harness] = []

    async def _start(**options: object) -> Harness:
        events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        holder: list[StreamingServicer] = []
        register = make_register(lambda e, t: events.put_nowait((e, t)), holder.append)
        spec = dataclasses.replace(SPEC, register=register)
        settings = Settings(data_dir=tmp_path, addresses={}, max_message_bytes=MAX_MESSAGE)
        running = await start(spec, "127.0.0.1:0", settings, StreamingOptions(**options))
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
        harness = Harness(
            running,
            channel,
            streaming_pb2_grpc.StreamingServiceStub(channel),
            holder[0],
            tmp_path,
            events,
        )
        started.append(harness)
        return harness

    yield _start
    for harness in started:
        await harness.channel.close()
        await harness.running.stop(0)


@pytest.fixture
async def streaming(start_streaming: StartStreaming) -> Harness:
    return await start_streaming()
