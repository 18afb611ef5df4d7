"""StreamingService servicer and its ServiceSpec."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path

import grpc
from google.protobuf import timestamp_pb2
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc

from pyservices.spec import Register, ServiceSpec, Settings
from pyservices.storage.atomic import remove_stale_temps
from pyservices.storage.budget import OWNERS_FOLDER, StoreBudget
from pyservices.storage.inflight import InFlight
from pyservices.storage.intervals import InvalidInterval, interval_seconds
from pyservices.storage.status import storage_status
from pyservices.streaming.chat import ChatRoom, Member
from pyservices.streaming.chatfiles import (
    CHAT_FOLDER,
    CHUNK_SIZE,
    ChatFiles,
    DownloadRefused,
    download_metadata,
)
from pyservices.streaming.config import UPLOAD_FOLDER, StreamingOptions
from pyservices.streaming.grants import Claims
from pyservices.streaming.upload import Destination, UploadHook, UploadRejected, receive_upload

log = logging.getLogger("pyservices.streaming")

DEFAULT_INTERVAL = 1.0
MIN_INTERVAL = 0.01
MAX_INTERVAL = 3600.0
# How often chat files past their retention are looked for (more often when
# the retention is shorter than twice that), as the chat server does.
EXPIRE_EVERY = 60.0


def _now() -> tuple[timestamp_pb2.Timestamp, str]:
    ns = time.time_ns()
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(ns)
    local = datetime.fromtimestamp(ns / 1e9)
    return ts, local.strftime("%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


async def call_alive(context: grpc.aio.ServicerContext) -> bool:
    """Whether the call can still be answered, asked of gRPC's core.

    grpc.aio ends the request stream of a call cancelled by the server's
    shutdown or the client as if the client had finished it, and cancels the
    handler only once it hears of the cancellation, which may be later. Core
    knows at once: a batch on a cancelled call fails. So send the initial
    metadata now (harmless for a call about to answer), and take a failure
    as the call being gone.
    """
    if context.cancelled() or context.done():
        return False
    try:
        await context.send_initial_metadata(())
    except grpc.aio.BaseError:  # the batch failed, or the server has stopped
        return False
    return True


# How much of a refused upload is read before the refusal is answered, and for how long.
DRAIN_BYTES = 1 << 20
DRAIN_SECONDS = 2.0


async def drain(
    requests: AsyncIterator[streaming_pb2.UploadFileRequest],
    max_bytes: int = DRAIN_BYTES,
    seconds: float = DRAIN_SECONDS,
) -> None:
    """Read what the client is still sending of a refused upload (up to `max_bytes`, for at
    most `seconds`), so that the refusal is answered once it has finished writing.

    grpc.aio's client reports a call that ends under its write as INTERNAL ("Internal error
    from Core") instead of the status the service sent: without this, a person whose upload
    is refused at its first message (the store is full, the grant has expired) may be told
    that instead of why. A client still sending after that gets the refusal anyway.
    """

    async def read() -> None:
        received = 0
        async for request in requests:
            received += len(request.chunk)
            if received > max_bytes:
                return

    # The refusal is answered whatever happens here: the client may have gone.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(read(), seconds)


class StreamingServicer(streaming_pb2_grpc.StreamingServiceServicer):
    def __init__(
        self,
        folder: Path,
        options: StreamingOptions,
        budget: StoreBudget,
        upload_hook: UploadHook | None = None,
        chat_folder: Path | None = None,
    ) -> None:
        self._folder = folder
        self._chat_files = ChatFiles(
            chat_folder or folder.parent / CHAT_FOLDER, options.file_key, options.file_retention
        )
        self.budget = budget
        self._max_upload_bytes = options.max_upload_bytes
        self._upload_hook = upload_hook
        self.room = ChatRoom(options.chat_queue)
        self.uploads = InFlight()

    def abort_uploads(self) -> None:
        """Drop the temp files of uploads still running; called once the grace period is over."""
        aborted = self.uploads.abort_all()
        if aborted:
            log.info("aborted uploads cut by shutdown count=%d", aborted)

    async def expire_files(self, now: float | None = None) -> int:
        """Delete the chat files past their retention at `now` (default: the clock's now)."""
        expired = await asyncio.to_thread(
            self._chat_files.expire, self.budget, time.time() if now is None else now
        )
        if expired:
            log.info(
                "expired chat files count=%d retention=%gs stored_bytes=%d",
                len(expired),
                self._chat_files.retention,
                self.budget.stored,
            )
        return len(expired)

    async def expire_periodically(self) -> None:
        """Call expire_files every EXPIRE_EVERY seconds or so until cancelled."""
        retention = self._chat_files.retention
        if not retention:
            return
        every = min(EXPIRE_EVERY, max(retention / 2, MIN_INTERVAL))
        while True:
            await asyncio.sleep(every)
            try:
                await self.expire_files()
            except OSError as err:  # the next round tries again
                log.error("cannot expire chat files error=%s", err)

    async def StreamServerTime(
        self,
        request: streaming_pb2.StreamServerTimeRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[streaming_pb2.StreamServerTimeResponse]:
        try:
            interval = interval_seconds(
                request.interval if request.HasField("interval") else None,
                default=DEFAULT_INTERVAL,
                floor=MIN_INTERVAL,
                ceiling=MAX_INTERVAL,
            )
        except InvalidInterval as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        while True:
            ts, formatted = _now()
            yield streaming_pb2.StreamServerTimeResponse(time=ts, formatted=formatted)
            sent += 1
            await asyncio.sleep(max(0.0, start + sent * interval - loop.time()))

    async def UploadFile(
        self,
        request_iterator: AsyncIterator[streaming_pb2.UploadFileRequest],
        context: grpc.aio.ServicerContext,
    ) -> streaming_pb2.UploadFileResponse:
        granted: list[Claims] = []

        def route(meta: streaming_pb2.UploadFileMetadata) -> Destination:
            if not meta.grant:
                return Destination(self._folder, meta.name, meta.overwrite, self._max_upload_bytes)
            dest, claims = self._chat_files.destination(meta)
            granted.append(claims)
            return dest

        try:
            meta, stored = await receive_upload(
                request_iterator,
                route,
                self._max_upload_bytes,
                still_open=lambda: call_alive(context),
                inflight=self.uploads,
                budget=self.budget,
                hook=self._upload_hook,
            )
        except UploadRejected as err:
            level = logging.ERROR if err.server_fault else logging.INFO
            log.log(level, "upload rejected code=%s reason=%s", err.code.name, err)
            if err.code == grpc.StatusCode.CANCELLED:
                raise asyncio.CancelledError from None  # nobody is left to answer
            await drain(request_iterator)
            await context.abort(err.code, str(err))
        except OSError as err:
            refusal = storage_status(err)
            log.error("upload failed error=%s", err)
            await drain(request_iterator)
            await context.abort(refusal.code, refusal.message)
        log.info("upload stored name=%r size=%d sha256=%s", stored.name, stored.size, stored.sha256)
        if granted:
            return streaming_pb2.UploadFileResponse(
                name=meta.name,
                size=stored.size,
                sha256=stored.sha256,
                path=f"{CHAT_FOLDER}/{stored.name}",
                message=f"File {meta.name} uploaded successfully",
                receipt=self._chat_files.receipt(granted[0], stored),
            )
        return streaming_pb2.UploadFileResponse(
            name=stored.name,
            size=stored.size,
            sha256=stored.sha256,
            path=f"{UPLOAD_FOLDER}/{stored.name}",
            message=f"File {stored.name} uploaded successfully",
        )

    async def DownloadFile(
        self,
        request: streaming_pb2.DownloadFileRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[streaming_pb2.DownloadFileResponse]:
        try:
            claims, fd = await asyncio.to_thread(self._chat_files.open_download, request.grant)
        except DownloadRefused as err:
            log.info("download refused code=%s reason=%s", err.code.name, err)
            await context.abort(err.code, str(err))
        except OSError as err:
            refusal = storage_status(err)
            log.error("download failed error=%s", err)
            await context.abort(refusal.code, refusal.message)
        log.info("download started file=%d size=%d", claims.file, claims.size)
        with open(fd, "rb") as f:  # noqa: ASYNC230 - reads happen in a worker thread
            yield download_metadata(claims)
            while chunk := await asyncio.to_thread(f.read, CHUNK_SIZE):
                yield streaming_pb2.DownloadFileResponse(chunk=chunk)

    async def Chat(
        self,
        request_iterator: AsyncIterator[streaming_pb2.ChatRequest],
        context: grpc.aio.ServicerContext,
    ) -> None:
        member = self.room.join()
        reader = asyncio.create_task(self._read_chat(request_iterator, member))
        try:
            # The one writer for this stream: the room only ever queues.
            while (event := await member.queue.get()) is not None:
                await context.write(event)
            if member.dropped:
                await context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"{member.name} was disconnected: it did not keep up with the chat "
                    f"(more than {self.room.queue_limit} messages waiting)",
                )
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self.room.leave(member)

    async def _read_chat(
        self, requests: AsyncIterator[streaming_pb2.ChatRequest], member: Member
    ) -> None:
        try:
            async for request in requests:
                self.room.say(member, request.message)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a broken stream ends this member only
            log.info("chat read ended member=%s error=%s", member.name, err)
        # The client closed its side (or broke): it leaves once its queue is sent.
        self.room.leave(member)


def make_register(
    upload_hook: UploadHook | None = None,
    on_servicer: Callable[[StreamingServicer], None] | None = None,
) -> Register[StreamingOptions]:
    """The runner's register step; tests pass hooks to observe uploads and the room."""

    async def register(
        server: grpc.aio.Server, settings: Settings, options: StreamingOptions
    ) -> Callable[[], Awaitable[None]] | None:
        folder = settings.data_dir / UPLOAD_FOLDER
        folders = (folder, settings.data_dir / CHAT_FOLDER)
        for each in (*folders, *(f / OWNERS_FOLDER for f in folders)):
            removed = await asyncio.to_thread(remove_stale_temps, each)
            if removed:
                log.info("removed stale temp files count=%d folder=%s", removed, each)
        # What the folders hold now is what the cap counts from.
        budget = await asyncio.to_thread(StoreBudget.scan, options.max_store_bytes, folders)
        servicer = StreamingServicer(folder, options, budget, upload_hook)
        # What expired while the service was down goes before it serves.
        await servicer.expire_files()
        log.info(
            "file store stored_bytes=%d max_store_bytes=%d", budget.stored, options.max_store_bytes
        )
        if on_servicer is not None:
            on_servicer(servicer)
        streaming_pb2_grpc.add_StreamingServiceServicer_to_server(servicer, server)
        sweeper = asyncio.create_task(servicer.expire_periodically())

        async def cleanup() -> None:
            # Runs after the server stopped (grace over, calls cancelled), while
            # the loop still runs: synchronous, so no temp file outlives the process.
            servicer.abort_uploads()
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

        return cleanup

    return register


SPEC = ServiceSpec(
    name="streaming",
    service_names=(streaming_pb2.DESCRIPTOR.services_by_name["StreamingService"].full_name,),
    default_port=50056,
    register=make_register(),
    options=StreamingOptions,
)
