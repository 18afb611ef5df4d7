"""FileService and StreamingService answer the same storage problem with the same status."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest
from polychat.file.v1 import file_pb2, file_pb2_grpc
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc

from pyservices.files.server import SPEC as FILE_SPEC
from pyservices.streaming.server import SPEC as STREAMING_SPEC
from pyservices.tests.servers import make_settings, start_on

TIMEOUT = 10.0


def symlink_to_folder(folder: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / f"elsewhere-{folder.name}"
    elsewhere.mkdir()
    folder.symlink_to(elsewhere)


def dangling_symlink(folder: Path, tmp_path: Path) -> None:
    folder.symlink_to(tmp_path / "nowhere")


def plain_file(folder: Path, tmp_path: Path) -> None:
    folder.write_bytes(b"not a folder")


async def write_file(address: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        request = file_pb2.WriteFileRequest(name="a.txt", content=b"x")
        await file_pb2_grpc.FileServiceStub(channel).WriteFile(request, timeout=TIMEOUT)


async def upload_file(address: str) -> None:
    async def requests() -> AsyncIterator[streaming_pb2.UploadFileRequest]:
        meta = streaming_pb2.UploadFileMetadata(name="a.txt")
        yield streaming_pb2.UploadFileRequest(metadata=meta)
        yield streaming_pb2.UploadFileRequest(chunk=b"x")

    async with grpc.aio.insecure_channel(address) as channel:
        stub = streaming_pb2_grpc.StreamingServiceStub(channel)
        await stub.UploadFile(requests(), timeout=TIMEOUT)


@pytest.mark.parametrize("breakage", [symlink_to_folder, dangling_symlink, plain_file])
async def test_an_unusable_storage_folder(
    tmp_path: Path, breakage: Callable[[Path, Path], None]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    answers: dict[str, tuple[grpc.StatusCode, str]] = {}
    for spec, folder, send in (
        (FILE_SPEC, "uploaded_files", write_file),
        (STREAMING_SPEC, "streamed_files", upload_file),
    ):
        running = await start_on(spec, make_settings(data))
        breakage(data / folder, tmp_path)  # under the running service
        try:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await send(f"127.0.0.1:{running.port}")
        finally:
            await running.stop(0)
        details = info.value.details() or ""
        answers[spec.name] = (info.value.code(), details.replace(folder, "FOLDER"))
    assert answers["file"] == answers["streaming"]
    code, details = answers["file"]
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert details == "the server's storage folder 'FOLDER' is not a plain folder"
