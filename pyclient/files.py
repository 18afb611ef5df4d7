"""/send and /get: files shared in the room, through StreamingService.

/send PATH offers the file to the chat server, uploads it to StreamingService under the
grant (1 MiB chunks, SHA-256 checked), and shares the upload's receipt; the room, this member
included, is told. /get ID [DEST] asks the chat server for a download grant and downloads the
file into the folder DEST: to a temporary file beside it first, checked for size and SHA-256,
then moved into place, never over an existing file unless asked, and never under a name that
would leave DEST (pykit.filenames). See docs/chat-protocol.md, "File sharing".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
from polychat.chat import chat_pb2
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc

from pykit.bytesize import human_bytes
from pykit.channels import open_channel
from pykit.filenames import InvalidName, check_name
from pykit.text import sanitize
from pykit.tls import ClientTLS

CHUNK_SIZE = 1024 * 1024
TEMP_PREFIX = ".polychat-get-"

# A unary ChatService call over the chat session, by method name; raises ChatError.
ChatCall = Callable[[str, object], Awaitable[object]]
Show = Callable[[str], None]


class TransferFailed(Exception):
    """A /send or /get that did not work; the message is one line for the user."""


class Progress:
    """Counts bytes moved; tells the user at each quarter of a file over 1 MiB."""

    def __init__(self, show: Show, verb: str, name: str, total: int) -> None:
        self._show, self._verb, self._name, self._total = show, verb, name, total
        self._done = 0
        self._next = 1

    def add(self, n: int) -> None:
        self._done += n
        if self._total <= CHUNK_SIZE:
            return
        while self._next < 4 and self._done * 4 >= self._total * self._next:
            self._show(
                f"{self._verb} {sanitize(self._name)}: {25 * self._next}% "
                f"({human_bytes(self._done)} of {human_bytes(self._total)})"
            )
            self._next += 1


def _rpc_reason(err: grpc.aio.AioRpcError) -> str:
    return sanitize(err.details() or err.code().name)


class FileTransfers:
    """The member's file transfers through StreamingService at `target`.

    Each transfer calls the chat server over `call`, the session's it was started on.
    """

    def __init__(self, target: str, tls: ClientTLS | None, show: Show) -> None:
        self._target = target
        self._tls = tls
        self._show = show
        self._channel: grpc.aio.Channel | None = None

    def _streaming(self) -> streaming_pb2_grpc.StreamingServiceStub:
        if self._channel is None:
            self._channel = open_channel(self._target, self._tls)
        return streaming_pb2_grpc.StreamingServiceStub(self._channel)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    # ---- /send ---------------------------------------------------------------------------

    async def send(self, call: ChatCall, token: str, path_text: str) -> None:
        """Share the file at `path_text`; raises TransferFailed."""
        path = Path(os.path.expanduser(path_text))  # noqa: ASYNC240 - no I/O
        shown = sanitize(path_text)
        try:
            info = await asyncio.to_thread(os.stat, path)
        except OSError as err:
            raise TransferFailed(f"Cannot send {shown}: {err.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise TransferFailed(f"Cannot send {shown}: not a regular file")
        try:
            name = check_name(path.name)
        except InvalidName as err:
            raise TransferFailed(f"Cannot send {shown}: {err}") from None
        size = info.st_size
        offer = await call(
            "OfferFile", chat_pb2.OfferFileRequest(member_token=token, name=name, size=size)
        )
        assert isinstance(offer, chat_pb2.OfferFileResponse)
        self._show(f"Uploading {sanitize(name)} ({human_bytes(size)})")
        digest = hashlib.sha256()
        progress = Progress(self._show, "Uploading", name, size)

        async def requests() -> AsyncIterator[streaming_pb2.UploadFileRequest]:
            meta = streaming_pb2.UploadFileMetadata(name=name, size=size, grant=offer.upload_grant)
            yield streaming_pb2.UploadFileRequest(metadata=meta)
            with open(path, "rb") as f:  # noqa: ASYNC230 - reads happen in a worker thread
                while chunk := await asyncio.to_thread(f.read, CHUNK_SIZE):
                    digest.update(chunk)
                    yield streaming_pb2.UploadFileRequest(chunk=chunk)
                    progress.add(len(chunk))

        try:
            reply = await self._streaming().UploadFile(requests())
        except grpc.aio.AioRpcError as err:
            raise TransferFailed(f"Cannot send {sanitize(name)}: {_rpc_reason(err)}") from None
        except OSError as err:
            raise TransferFailed(f"Cannot send {shown}: {err.strerror}") from None
        if reply.sha256 != digest.hexdigest():
            raise TransferFailed(
                f"Not shared: {sanitize(name)} arrived damaged (SHA-256 {digest.hexdigest()} "
                f"here, {sanitize(reply.sha256)} there)"
            )
        await call(
            "ShareFile", chat_pb2.ShareFileRequest(member_token=token, receipt=reply.receipt)
        )

    # ---- /get ----------------------------------------------------------------------------

    async def get(
        self, call: ChatCall, token: str, file_id: int, dest: str, overwrite: bool
    ) -> None:
        """Download file `file_id` into the folder `dest`; raises TransferFailed."""
        got = await call("GetFile", chat_pb2.GetFileRequest(member_token=token, file_id=file_id))
        assert isinstance(got, chat_pb2.GetFileResponse)
        shared = got.file
        call = self._streaming().DownloadFile(
            streaming_pb2.DownloadFileRequest(grant=got.download_grant)
        )
        progress = Progress(self._show, "Downloading", shared.name, shared.size)
        try:
            first = await call.read()
            if first is grpc.aio.EOF or first.WhichOneof("data") != "metadata":
                raise TransferFailed(f"Cannot get file {file_id}: the download sent no file")
            meta = first.metadata
            if (meta.name, meta.size, meta.sha256) != (shared.name, shared.size, shared.sha256):
                raise TransferFailed(
                    f"Cannot get file {file_id}: the streaming service sent another file "
                    "than the one shared"
                )

            async def chunks() -> AsyncIterator[bytes]:
                while (msg := await call.read()) is not grpc.aio.EOF:
                    progress.add(len(msg.chunk))
                    yield msg.chunk

            saved = await save_download(
                Path(dest or "."), shared.name, shared.size, shared.sha256, overwrite, chunks()
            )
        except grpc.aio.AioRpcError as err:
            raise TransferFailed(f"Cannot get file {file_id}: {_rpc_reason(err)}") from None
        except TransferFailed as err:
            raise TransferFailed(f"Cannot get file {file_id}: {err}") from None
        finally:
            call.cancel()
        self._show(f"Saved {sanitize(str(saved))} ({human_bytes(shared.size)}, SHA-256 verified)")


async def save_download(
    dest: Path, name: str, size: int, sha256: str, overwrite: bool, chunks: AsyncIterator[bytes]
) -> Path:
    """Write `chunks` into the folder `dest` as `name`; the path saved, or TransferFailed.

    The name must follow the file name rules, so that it cannot leave `dest`. The bytes go to
    a temporary file beside it first; only a file of the right size and SHA-256 is moved into
    place, never over an existing file unless `overwrite`. On any failure nothing is left.
    """
    fd, temp, target, made = await asyncio.to_thread(_prepare, dest, name, overwrite)
    kept = False
    try:
        with os.fdopen(fd, "wb") as out:
            digest = hashlib.sha256()
            written = 0
            async for chunk in chunks:
                written += len(chunk)
                if written > size:
                    raise TransferFailed(
                        f"more bytes arrived than the {size} shared; nothing was saved"
                    )
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
            if written != size:
                raise TransferFailed(f"only {written} of {size} bytes arrived; nothing was saved")
            if digest.hexdigest() != sha256:
                raise TransferFailed(
                    f"the file arrived damaged (SHA-256 {digest.hexdigest()}, shared as "
                    f"{sanitize(sha256)}); nothing was saved"
                )
            await asyncio.to_thread(out.flush)
            await asyncio.to_thread(os.fsync, out.fileno())
        try:
            if overwrite:
                await asyncio.to_thread(os.replace, temp, target)
            else:
                # link() fails if the name was taken meanwhile: no check-then-write race.
                await asyncio.to_thread(os.link, temp, target)
        except FileExistsError:
            raise TransferFailed(
                f"{sanitize(str(target))} exists; add --overwrite to replace it"
            ) from None
        except OSError as err:
            raise TransferFailed(f"cannot save {sanitize(str(target))}: {err.strerror}") from None
        kept = overwrite
        return target
    finally:
        if not kept:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(os.unlink, temp)
        # Only empty folders go: a saved file keeps the folders it is in.
        await asyncio.to_thread(_remove_empty, dest, made)


def _prepare(dest: Path, name: str, overwrite: bool) -> tuple[int, Path, Path, Path | None]:
    """Check the name and the target, make the folder if missing, and open the temporary
    file: (its fd, it, target, the highest folder made or None)."""
    try:
        check_name(name)
    except InvalidName as err:
        raise TransferFailed(f"refusing its name {sanitize(name)!r}: {err}") from None
    made = _make_folder(dest)
    try:
        target = dest / name
        if not overwrite and os.path.lexists(target):
            raise TransferFailed(f"{sanitize(str(target))} exists; add --overwrite to replace it")
        try:
            fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=dest)
            os.fchmod(fd, 0o644)  # a download, readable as other saved files are
        except OSError as err:
            raise TransferFailed(
                f"cannot write into {sanitize(str(dest))}: {err.strerror}"
            ) from None
    except TransferFailed:
        _remove_empty(dest, made)
        raise
    return fd, Path(temp_name), target, made


def _make_folder(dest: Path) -> Path | None:
    """Make the folder `dest` and any missing above it; the highest made (None: it was there)."""
    if dest.is_dir():
        return None
    if os.path.lexists(dest):
        raise TransferFailed(f"{sanitize(str(dest))} is not a folder")
    top = dest
    while top.parent != top and not os.path.lexists(top.parent):
        top = top.parent
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        _remove_empty(dest, top)
        raise TransferFailed(
            f"cannot make the folder {sanitize(str(dest))}: {err.strerror}"
        ) from None
    return top


def _remove_empty(dest: Path, top: Path | None) -> None:
    """Remove the folders `_make_folder` made, `dest` up to `top`, while they are empty."""
    if top is None:
        return
    folder = dest
    while True:
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == top or folder.parent == folder:
            return
        folder = folder.parent
