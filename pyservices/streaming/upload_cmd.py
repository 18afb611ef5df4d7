"""Client side of UploadFile: 1 MiB chunks, a progress bar, SHA-256 checked."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc
from tqdm import tqdm

from pykit.callstatus import stream_unary
from pykit.text import sanitize

CHUNK_SIZE = 1024 * 1024


class UploadFailed(Exception):
    """A local problem or a hash mismatch, reported as one line."""


async def _requests(
    path: Path, name: str, size: int, overwrite: bool, digest: hashlib._Hash, bar: tqdm
) -> AsyncIterator[streaming_pb2.UploadFileRequest]:
    yield streaming_pb2.UploadFileRequest(
        metadata=streaming_pb2.UploadFileMetadata(name=name, size=size, overwrite=overwrite)
    )
    with open(path, "rb") as f:  # noqa: ASYNC230 - reads happen in a worker thread
        while chunk := await asyncio.to_thread(f.read, CHUNK_SIZE):
            digest.update(chunk)
            yield streaming_pb2.UploadFileRequest(chunk=chunk)
            bar.update(len(chunk))


async def upload(
    stub: streaming_pb2_grpc.StreamingServiceStub,
    path: Path,
    name: str | None = None,
    overwrite: bool = False,
) -> streaming_pb2.UploadFileResponse:
    """Upload `path`, print the documented lines, and check the server's SHA-256."""
    try:
        size = (await asyncio.to_thread(os.stat, path)).st_size
    except OSError as err:
        raise UploadFailed(f"cannot read {path}: {err.strerror}") from None
    name = name or path.name
    digest = hashlib.sha256()
    with tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=name,
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
    ) as bar:
        try:
            reply = await stream_unary(
                stub.UploadFile, _requests(path, name, size, overwrite, digest, bar)
            )
        except OSError as err:
            raise UploadFailed(f"cannot read {path}: {err.strerror}") from None
    print(f"Upload response: {sanitize(reply.message)}")
    print(f"File path: {sanitize(reply.path)}")
    if reply.sha256 != digest.hexdigest():
        raise UploadFailed(
            f"SHA-256 mismatch: local {digest.hexdigest()}, server {sanitize(reply.sha256)}"
        )
    print(f"SHA-256: {reply.sha256} (verified)")
    return reply
