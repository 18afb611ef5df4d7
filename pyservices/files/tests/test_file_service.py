"""FileService against a real server: each RPC, bad names, symlinks, limits, health."""

from __future__ import annotations

import os
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from polychat.file.v1 import file_pb2

from pykit.tests.test_filenames import SENDABLE
from pyservices.files.tests.conftest import Harness, StartFiles

TIMEOUT = 10.0


async def write(
    harness: Harness, name: str, content: bytes, overwrite: bool = False
) -> file_pb2.WriteFileResponse:
    request = file_pb2.WriteFileRequest(name=name, content=content, overwrite=overwrite)
    return await harness.stub.WriteFile(request, timeout=TIMEOUT)


async def write_error(harness: Harness, name: str, content: bytes, overwrite: bool = False):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await write(harness, name, content, overwrite)
    return info.value


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


async def test_say_hello(files: Harness) -> None:
    reply = await files.stub.SayHello(file_pb2.SayHelloRequest(name="Alice"), timeout=TIMEOUT)
    assert reply.message == "Hello, Alice!"
    reply = await files.stub.SayHello(file_pb2.SayHelloRequest(name="  "), timeout=TIMEOUT)
    assert reply.message == "Hello, World!"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await files.stub.SayHello(file_pb2.SayHelloRequest(name="x" * 300), timeout=TIMEOUT)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_server_time(files: Harness) -> None:
    reply = await files.stub.GetServerTime(file_pb2.GetServerTimeRequest(), timeout=TIMEOUT)
    assert abs(reply.time.ToNanoseconds() - time.time_ns()) < 60 * 10**9
    assert reply.formatted


async def test_write_then_list(files: Harness) -> None:
    assert (await files.stub.ListFiles(file_pb2.ListFilesRequest(), timeout=TIMEOUT)).files == []
    reply = await write(files, "b.txt", b"hello")
    assert (reply.name, reply.size, reply.path) == ("b.txt", 5, "uploaded_files/b.txt")
    await write(files, "a é.txt", b"")
    listed = await files.stub.ListFiles(file_pb2.ListFilesRequest(), timeout=TIMEOUT)
    assert [(f.name, f.size) for f in listed.files] == [("a é.txt", 0), ("b.txt", 5)]
    assert all(f.modified_at.seconds > 0 for f in listed.files)
    assert (files.folder / "b.txt").read_bytes() == b"hello"


async def test_existing_file_kept_unless_overwrite(files: Harness) -> None:
    await write(files, "a.txt", b"one")
    err = await write_error(files, "a.txt", b"two")
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    assert (files.folder / "a.txt").read_bytes() == b"one"
    await write(files, "a.txt", b"two", overwrite=True)
    assert (files.folder / "a.txt").read_bytes() == b"two"
    assert listing(files.folder) == ["a.txt"]


@pytest.mark.parametrize(("name", "reason"), SENDABLE)
async def test_bad_names_refused_and_nothing_written(
    files: Harness, tmp_path: Path, name: str, reason: str
) -> None:
    err = await write_error(files, name, b"evil")
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.details() == reason
    assert listing(files.folder) == []
    assert set(listing(tmp_path)) <= {"data"}


async def test_planted_symlink_not_followed(files: Harness, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"precious")
    files.folder.mkdir(parents=True)
    (files.folder / "link.txt").symlink_to(outside)
    err = await write_error(files, "link.txt", b"evil")
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    err = await write_error(files, "link.txt", b"evil", overwrite=True)
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert outside.read_bytes() == b"precious"
    listed = await files.stub.ListFiles(file_pb2.ListFilesRequest(), timeout=TIMEOUT)
    assert listed.files == []  # symlinks are not listed


async def test_upload_folder_itself_a_symlink_is_refused(files: Harness, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    files.data_dir.mkdir(parents=True, exist_ok=True)
    files.folder.symlink_to(elsewhere)
    err = await write_error(files, "a.txt", b"x")
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert listing(elsewhere) == []


async def test_size_limit(start_files: StartFiles) -> None:
    harness = await start_files(max_bytes=10)
    err = await write_error(harness, "big.bin", b"x" * 11)
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit of 10 bytes" in (err.details() or "")
    assert (await write(harness, "ok.bin", b"x" * 10)).size == 10
    assert listing(harness.folder) == ["ok.bin"]


async def test_health_serving(files: Harness) -> None:
    stub = health_pb2_grpc.HealthStub(files.channel)
    for service in ("", "polychat.file.v1.FileService"):
        reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
