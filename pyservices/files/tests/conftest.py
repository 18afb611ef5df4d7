"""A real FileService on 127.0.0.1, port 0, with a temporary data folder."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from polychat.file.v1 import file_pb2_grpc

from pyservices.files.config import FileOptions
from pyservices.files.server import SPEC
from pyservices.runner import Running, start
from pyservices.spec import Settings


@dataclasses.dataclass
class Harness:
    running: Running
    channel: grpc.aio.Channel
    stub: file_pb2_grpc.FileServiceStub
    data_dir: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.port}"

    @property
    def folder(self) -> Path:
        return self.data_dir / "uploaded_files"


StartFiles = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start_files(tmp_path: Path) -> AsyncIterator[StartFiles]:
    started: list[Harness] = []

    async def _start(**options: int) -> Harness:
        data_dir = tmp_path / "data"
        settings = Settings(data_dir=data_dir, addresses={}, max_message_bytes=8 * 1024 * 1024)
        running = await start(SPEC, "127.0.0.1:0", settings, FileOptions(**options))
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
        harness = Harness(running, channel, file_pb2_grpc.FileServiceStub(channel), data_dir)
        started.append(harness)
        return harness

    yield _start
    for harness in started:
        await harness.channel.close()
        await harness.running.stop(0)


@pytest.fixture
async def files(start_files: StartFiles) -> Harness:
    return await start_files()
