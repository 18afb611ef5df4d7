"""FileService servicer and its ServiceSpec."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import grpc
from google.protobuf import timestamp_pb2
from polychat.file.v1 import file_pb2, file_pb2_grpc

from pykit.filenames import InvalidName
from pyservices.files.config import UPLOAD_FOLDER, FileOptions
from pyservices.spec import ServiceSpec, Settings
from pyservices.storage.atomic import StorageError, list_files, remove_stale_temps, write_atomic
from pyservices.storage.status import storage_status

log = logging.getLogger("pyservices.file")

MAX_GREETING_NAME = 256
DEFAULT_GREETING_NAME = "World"


class FileServicer(file_pb2_grpc.FileServiceServicer):
    def __init__(self, folder: Path, options: FileOptions) -> None:
        self._folder = folder
        self._max_bytes = options.max_bytes

    async def SayHello(
        self, request: file_pb2.SayHelloRequest, context: grpc.aio.ServicerContext
    ) -> file_pb2.SayHelloResponse:
        name = request.name.strip() or DEFAULT_GREETING_NAME
        if len(name) > MAX_GREETING_NAME:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"name is too long: {len(name)} characters, at most {MAX_GREETING_NAME}",
            )
        return file_pb2.SayHelloResponse(message=f"Hello, {name}!")

    async def GetServerTime(
        self, request: file_pb2.GetServerTimeRequest, context: grpc.aio.ServicerContext
    ) -> file_pb2.GetServerTimeResponse:
        now = datetime.now().astimezone()
        ts = timestamp_pb2.Timestamp()
        ts.FromDatetime(now)
        return file_pb2.GetServerTimeResponse(
            time=ts, formatted=now.strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)")
        )

    async def WriteFile(
        self, request: file_pb2.WriteFileRequest, context: grpc.aio.ServicerContext
    ) -> file_pb2.WriteFileResponse:
        try:
            stored = await asyncio.to_thread(
                write_atomic,
                self._folder,
                request.name,
                request.content,
                request.overwrite,
                self._max_bytes,
            )
        except (InvalidName, StorageError, OSError) as err:
            refusal = storage_status(err)
            if refusal.server_fault:
                log.error("write failed name=%r error=%s", request.name, err)
            await context.abort(refusal.code, refusal.message)
        path = f"{UPLOAD_FOLDER}/{stored.name}"
        log.info("file written name=%r size=%d", stored.name, stored.size)
        return file_pb2.WriteFileResponse(
            name=stored.name,
            size=stored.size,
            path=path,
            message=f"File {stored.name} written successfully ({stored.size} bytes)",
        )

    async def ListFiles(
        self, request: file_pb2.ListFilesRequest, context: grpc.aio.ServicerContext
    ) -> file_pb2.ListFilesResponse:
        entries = await asyncio.to_thread(list_files, self._folder)
        files = []
        for entry in entries:
            modified = timestamp_pb2.Timestamp()
            modified.FromNanoseconds(entry.modified_ns)
            files.append(file_pb2.FileInfo(name=entry.name, size=entry.size, modified_at=modified))
        return file_pb2.ListFilesResponse(files=files)


async def register(
    server: grpc.aio.Server, settings: Settings, options: FileOptions
) -> Callable[[], Awaitable[None]] | None:
    folder = settings.data_dir / UPLOAD_FOLDER
    removed = await asyncio.to_thread(remove_stale_temps, folder)
    if removed:
        log.info("removed stale temp files count=%d folder=%s", removed, folder)
    file_pb2_grpc.add_FileServiceServicer_to_server(FileServicer(folder, options), server)
    return None


SPEC = ServiceSpec(
    name="file",
    service_names=(file_pb2.DESCRIPTOR.services_by_name["FileService"].full_name,),
    default_port=50051,
    register=register,
    options=FileOptions,
)
