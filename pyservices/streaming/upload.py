"""Receives one UploadFile stream into an atomic file: checked, hashed, counted, all or nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from polychat.streaming.v1 import streaming_pb2

from pykit.filenames import InvalidName, check_name
from pyservices.storage.atomic import AtomicFile, StorageError, StoredFile, preflight
from pyservices.storage.budget import Owner, Reservation, StoreBudget
from pyservices.storage.inflight import InFlight
from pyservices.storage.status import storage_status

# Told about each upload's temp file: ("receiving", temp name) when it is
# created and ("stored" | "discarded", temp name) once it is gone.
UploadHook = Callable[[str, str], None]


class UploadRejected(Exception):
    """The upload is refused with `code`; the message is meant for the client."""

    def __init__(self, code: grpc.StatusCode, message: str, server_fault: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.server_fault = server_fault  # the operator has something to fix


@dataclass(frozen=True)
class Destination:
    """Where an upload goes: `folder/name`, at most `max_bytes`, counted against `owner`'s
    quota as well as the store's cap if it has one."""

    folder: Path
    name: str
    overwrite: bool
    max_bytes: int
    owner: Owner | None = None


# Picks the destination of an upload from its metadata, or raises UploadRejected.
Route = Callable[[streaming_pb2.UploadFileMetadata], Destination]


def _rejected(err: StorageError | InvalidName) -> UploadRejected:
    refusal = storage_status(err)
    return UploadRejected(refusal.code, refusal.message, refusal.server_fault)


async def _open_temp(inflight: InFlight, folder: Path, max_bytes: int) -> AtomicFile:
    """Create the temp file in a worker thread; if we are cancelled meanwhile, drop it."""
    opening = asyncio.ensure_future(asyncio.to_thread(inflight.open, folder, max_bytes))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:

        def discard(fut: asyncio.Future[AtomicFile]) -> None:
            if not fut.cancelled() and fut.exception() is None:
                inflight.release(fut.result())

        opening.add_done_callback(discard)
        raise


async def _metadata(
    requests: AsyncIterator[streaming_pb2.UploadFileRequest], max_bytes: int
) -> streaming_pb2.UploadFileMetadata:
    try:
        first = await anext(requests)
    except StopAsyncIteration:
        raise UploadRejected(
            grpc.StatusCode.INVALID_ARGUMENT, "empty upload: send the metadata message first"
        ) from None
    if first.WhichOneof("data") != "metadata":
        raise UploadRejected(
            grpc.StatusCode.INVALID_ARGUMENT, "the first message must carry the file's metadata"
        )
    meta = first.metadata
    try:
        check_name(meta.name)
    except InvalidName as err:
        raise _rejected(err) from None
    if meta.size < 0:
        raise UploadRejected(
            grpc.StatusCode.INVALID_ARGUMENT, f"declared size must not be negative ({meta.size})"
        )
    if meta.size > max_bytes:
        raise UploadRejected(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"declared size {meta.size} bytes is over the limit of {max_bytes} bytes",
        )
    return meta


async def receive_upload(
    requests: AsyncIterator[streaming_pb2.UploadFileRequest],
    route: Route,
    max_bytes: int,
    still_open: Callable[[], Awaitable[bool]],
    inflight: InFlight,
    budget: StoreBudget,
    hook: UploadHook | None = None,
) -> tuple[streaming_pb2.UploadFileMetadata, StoredFile]:
    """Store the uploaded file where `route` says, or raise UploadRejected leaving nothing.

    The temp file is tracked in `inflight` while the upload runs, so that a
    shutdown can remove it even if this coroutine never gets to. Its bytes
    are reserved in `budget` (against the destination's owner too) before
    they are written: a declared size at once, before any temp file exists,
    an undeclared one chunk by chunk.
    """
    requests = aiter(requests)
    meta = await _metadata(requests, max_bytes)
    dest = route(meta)
    try:
        await asyncio.to_thread(preflight, dest.folder, dest.name, dest.overwrite)
    except StorageError as err:
        raise _rejected(err) from None

    held = budget.reservation(dest.owner)
    try:
        try:
            held.grow_to(meta.size)
        except StorageError as err:
            raise _rejected(err) from None
        return await _receive(requests, meta, dest, still_open, inflight, budget, held, hook)
    finally:
        held.close()


async def _receive(
    requests: AsyncIterator[streaming_pb2.UploadFileRequest],
    meta: streaming_pb2.UploadFileMetadata,
    dest: Destination,
    still_open: Callable[[], Awaitable[bool]],
    inflight: InFlight,
    budget: StoreBudget,
    held: Reservation,
    hook: UploadHook | None,
) -> tuple[streaming_pb2.UploadFileMetadata, StoredFile]:
    try:
        out = await _open_temp(inflight, dest.folder, dest.max_bytes)
    except StorageError as err:  # the service is shutting down, or the folder changed
        raise _rejected(err) from None
    outcome = "discarded"
    if hook is not None:
        hook("receiving", out.temp_name)
    try:
        async for request in requests:
            if request.WhichOneof("data") != "chunk":
                raise UploadRejected(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "metadata may only be sent once, as the first message; then only chunks",
                )
            if meta.size and out.size + len(request.chunk) > meta.size:
                raise UploadRejected(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"more data than the declared size of {meta.size} bytes",
                )
            try:
                held.grow_to(out.size + len(request.chunk))
                await asyncio.to_thread(out.write, request.chunk)
            except StorageError as err:
                raise _rejected(err) from None
        if meta.size and out.size != meta.size:
            raise UploadRejected(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"upload ended after {out.size} bytes but the declared size is {meta.size}",
            )
        # A client that dies, and a call the server's shutdown cancels, can
        # look like one that finished: the stream just ends. Flush first (the
        # slow part), then publish only if the call is still alive.
        await asyncio.to_thread(out.flush)
        if not await still_open():
            raise UploadRejected(grpc.StatusCode.CANCELLED, "upload cancelled by the client")
        try:
            stored = await asyncio.to_thread(
                budget.commit, out, dest.folder, dest.name, dest.overwrite, held
            )
        except (StorageError, InvalidName) as err:
            raise _rejected(err) from None
        outcome = "stored"
        return meta, stored
    finally:
        # Runs on success, rejection, a broken stream and cancellation alike:
        # the shielded abort finishes even if we are cancelled again meanwhile.
        # When the process stops, the loop may end before this gets its turn;
        # the service's shutdown step (InFlight.abort_all) covers that case.
        cleanup = asyncio.ensure_future(asyncio.to_thread(inflight.release, out))
        if hook is not None:
            cleanup.add_done_callback(lambda _: hook(outcome, out.temp_name))
        await asyncio.shield(cleanup)
