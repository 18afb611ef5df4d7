"""UploadFile: atomic, hashed, size-limited, refuses bad names, leaves nothing on failure."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import grpc
import pytest
from polychat.streaming.v1 import streaming_pb2

from pykit.tests.test_filenames import SENDABLE
from pyservices.streaming.tests.conftest import Harness, StartStreaming

TIMEOUT = 10.0


def meta(name: str, size: int = 0, overwrite: bool = False) -> streaming_pb2.UploadFileRequest:
    return streaming_pb2.UploadFileRequest(
        metadata=streaming_pb2.UploadFileMetadata(name=name, size=size, overwrite=overwrite)
    )


def chunk(data: bytes) -> streaming_pb2.UploadFileRequest:
    return streaming_pb2.UploadFileRequest(chunk=data)


async def requests(
    items: Iterable[streaming_pb2.UploadFileRequest],
) -> AsyncIterator[streaming_pb2.UploadFileRequest]:
    for item in items:
        yield item


async def upload(
    harness: Harness, items: Iterable[streaming_pb2.UploadFileRequest]
) -> streaming_pb2.UploadFileResponse:
    return await harness.stub.UploadFile(requests(items), timeout=TIMEOUT)


async def upload_error(
    harness: Harness, items: Iterable[streaming_pb2.UploadFileRequest]
) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await upload(harness, items)
    return info.value


def entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


async def test_upload_stores_file_and_reports_sha256(streaming: Harness) -> None:
    data = os.urandom(300_000)
    parts = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    reply = await upload(streaming, [meta("example.txt", len(data)), *map(chunk, parts)])
    assert reply.name == "example.txt"
    assert reply.size == len(data)
    assert reply.sha256 == hashlib.sha256(data).hexdigest()
    assert reply.path == "streamed_files/example.txt"
    assert reply.message == "File example.txt uploaded successfully"
    assert (streaming.folder / "example.txt").read_bytes() == data
    assert entries(streaming.folder) == ["example.txt"]


async def test_empty_file_and_unknown_size(streaming: Harness) -> None:
    reply = await upload(streaming, [meta("empty.bin")])
    assert reply.size == 0
    assert reply.sha256 == hashlib.sha256(b"").hexdigest()
    reply = await upload(streaming, [meta("nosize.bin"), chunk(b"abc"), chunk(b""), chunk(b"d")])
    assert reply.size == 4


async def test_existing_file_needs_overwrite(streaming: Harness) -> None:
    await upload(streaming, [meta("a.txt"), chunk(b"one")])
    err = await upload_error(streaming, [meta("a.txt"), chunk(b"two")])
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    assert (streaming.folder / "a.txt").read_bytes() == b"one"
    await upload(streaming, [meta("a.txt", overwrite=True), chunk(b"two")])
    assert (streaming.folder / "a.txt").read_bytes() == b"two"


@pytest.mark.parametrize(("name", "reason"), SENDABLE)
async def test_bad_names_are_refused(
    streaming: Harness, tmp_path: Path, name: str, reason: str
) -> None:
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    err = await upload_error(streaming, [meta(name), chunk(b"evil")])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.details() == reason
    assert entries(streaming.folder) == []
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert not (tmp_path / "x").exists()


async def test_planted_symlink_is_never_followed(streaming: Harness, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    streaming.folder.mkdir(parents=True)
    (streaming.folder / "link.txt").symlink_to(outside)
    err = await upload_error(streaming, [meta("link.txt"), chunk(b"evil")])
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    err = await upload_error(streaming, [meta("link.txt", overwrite=True), chunk(b"evil")])
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "symlink" in (err.details() or "")
    assert outside.read_bytes() == b"precious"
    assert (streaming.folder / "link.txt").is_symlink()


async def test_stream_shape_errors(streaming: Harness) -> None:
    err = await upload_error(streaming, [])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    err = await upload_error(streaming, [chunk(b"data first")])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    err = await upload_error(streaming, [meta("a.txt"), chunk(b"x"), meta("b.txt")])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    err = await upload_error(streaming, [meta("a.txt", size=-1)])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert entries(streaming.folder) == []


async def test_declared_size_must_match(streaming: Harness) -> None:
    err = await upload_error(streaming, [meta("short.txt", size=10), chunk(b"12345")])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "declared size is 10" in (err.details() or "")
    err = await upload_error(streaming, [meta("long.txt", size=3), chunk(b"12345")])
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert entries(streaming.folder) == []


async def test_size_limit_enforced_as_data_arrives(start_streaming: StartStreaming) -> None:
    harness = await start_streaming(max_upload_bytes=1024)
    err = await upload_error(harness, [meta("big.bin", size=2048)])
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    err = await upload_error(harness, [meta("big.bin"), *[chunk(b"z" * 512)] * 4])
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit of 1024 bytes" in (err.details() or "")
    assert entries(harness.folder) == []
    reply = await upload(harness, [meta("fits.bin"), chunk(b"z" * 1024)])
    assert reply.size == 1024


async def test_cancelled_upload_leaves_no_file_and_no_temp(streaming: Harness) -> None:
    call = streaming.stub.UploadFile(timeout=TIMEOUT)
    await call.write(meta("partial.bin", size=10_000_000))
    await call.write(chunk(b"a" * 100_000))
    event, temp = await streaming.next_upload_event()
    assert event == "receiving"
    assert (streaming.folder / temp).exists() or entries(streaming.folder) == []
    call.cancel()
    assert await streaming.next_upload_event() == ("discarded", temp)
    assert entries(streaming.folder) == []


async def test_stop_removes_the_temp_files_of_uploads_still_running(streaming: Harness) -> None:
    calls = []
    temps = set()
    for i, size in enumerate((0, 1 << 20, 0, 1 << 20)):  # with and without a declared size
        call = streaming.stub.UploadFile(timeout=TIMEOUT)
        await call.write(meta(f"held-{i}.bin", size=size))
        await call.write(chunk(b"a" * 1000))
        calls.append(call)
        event, temp = await streaming.next_upload_event()
        assert event == "receiving"
        temps.add(temp)
    assert set(entries(streaming.folder)) == temps
    await streaming.running.stop(0)
    # Checked before the cancelled calls had a turn to clean up after themselves:
    # stop() alone must have removed every temp file.
    assert entries(streaming.folder) == []
    for call in calls:
        call.cancel()


_BREAKING_CLIENT = """
import asyncio, sys, grpc
from polychat.streaming.v1 import streaming_pb2 as pb, streaming_pb2_grpc as rpc

async def main():
    channel = grpc.aio.insecure_channel(sys.argv[1])
    call = rpc.StreamingServiceStub(channel).UploadFile()
    await call.write(pb.UploadFileRequest(metadata=pb.UploadFileMetadata(name="dead.bin")))
    await call.write(pb.UploadFileRequest(chunk=b"b" * 100_000))
    print("sent", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_client_killed_mid_upload_leaves_nothing(streaming: Harness) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _BREAKING_CLIENT, streaming.address, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), TIMEOUT) == b"sent\n"
        event, temp = await streaming.next_upload_event()
        assert event == "receiving"
        proc.kill()
        assert await streaming.next_upload_event() == ("discarded", temp)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    assert entries(streaming.folder) == []


async def test_stale_temps_are_removed_at_start(start_streaming: StartStreaming) -> None:
    harness = await start_streaming()
    stale = harness.folder / ".upload-0123456789abcdef.tmp"
    harness.folder.mkdir(parents=True, exist_ok=True)
    stale.write_bytes(b"left by a crash")
    await start_streaming()  # same data folder
    assert not stale.exists()
