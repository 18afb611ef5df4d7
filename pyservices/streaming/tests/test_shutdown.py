"""`python -m pyservices streaming` stopped by SIGTERM while uploads are in flight."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc

from pykit.testing.polling import wait_until
from pykit.testing.processes import kill, read_until, spawn
from pyservices.storage.atomic import TEMP_PREFIX

TIMEOUT = 30.0
# The held uploads wait all of it; the finishing one needs a fraction, with room for a slow fsync.
GRACE = 4.0
UNSIZED = 8  # uploads without a declared size: the ones most often left behind
SIZED = 4


def temp_files(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return [name for name in os.listdir(folder) if name.startswith(TEMP_PREFIX)]


async def held_upload(
    name: str, size: int, release: asyncio.Event
) -> AsyncIterator[streaming_pb2.UploadFileRequest]:
    """Metadata and a first chunk, then nothing until `release` is set."""
    yield streaming_pb2.UploadFileRequest(
        metadata=streaming_pb2.UploadFileMetadata(name=name, size=size)
    )
    yield streaming_pb2.UploadFileRequest(chunk=b"x" * 1000)
    await release.wait()


async def test_sigterm_removes_the_temp_files_of_uploads_in_flight(tmp_path: Path) -> None:
    proc = await spawn(
        "pyservices",
        "streaming",
        "--streaming-addr=127.0.0.1:0",
        "--data-dir",
        str(tmp_path),
        "--metrics-addr=",
        "--grace",
        str(GRACE),
    )
    folder = tmp_path / "streamed_files"
    never = asyncio.Event()
    finish = asyncio.Event()
    try:
        assert proc.stderr is not None
        started = await read_until(proc.stderr, "listening service=streaming", TIMEOUT)
        port = re.search(r"port=(\d+)", started)
        assert port is not None, started
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port[1]}") as channel:
            stub = streaming_pb2_grpc.StreamingServiceStub(channel)
            sizes = [0] * UNSIZED + [1 << 20] * SIZED
            held = [
                stub.UploadFile(held_upload(f"held-{i}.bin", size, never))
                for i, size in enumerate(sizes)
            ]
            # One more upload that the client completes after SIGTERM: the grace
            # period is for it, and it must be stored whole.
            finishing = stub.UploadFile(held_upload("finished.bin", 1000, finish))
            pending = [asyncio.ensure_future(call) for call in (*held, finishing)]

            async def all_receiving() -> bool:
                return len(temp_files(folder)) == len(pending)

            await wait_until(all_receiving, within=TIMEOUT, what="every upload's temp file")
            proc.send_signal(signal.SIGTERM)
            await read_until(proc.stderr, "shutting down", TIMEOUT)
            finish.set()
            reply = await asyncio.wait_for(pending[-1], TIMEOUT)
            assert (reply.name, reply.size) == ("finished.bin", 1000)

            outcomes = await asyncio.wait_for(
                asyncio.gather(*pending[:-1], return_exceptions=True), TIMEOUT
            )
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        stderr = err.decode()
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stderr
        for outcome in outcomes:
            assert isinstance(outcome, grpc.aio.AioRpcError), outcome
            assert outcome.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
        assert sorted(os.listdir(folder)) == ["finished.bin"]
        assert (folder / "finished.bin").read_bytes() == b"x" * 1000
    finally:
        await kill(proc)
