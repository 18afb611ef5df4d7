"""Files shared in chat rooms: uploads and downloads under the chat server's grants.

The chat server grants each upload and download (see grants.py); this side
checks the grant, keeps the bytes as `chat_files/<epoch>-<id>` apart from
the other uploads, and answers an upload with a signed receipt. A grant that
does not check is PERMISSION_DENIED, whatever file id it names.

The bytes are kept for the retention period after they were stored, on this
service's own clock: `expire` deletes older ones, whatever the chat server
still knows (it forgets them on its clock, -file-retention; set both alike).

An upload grant names the chat account the file counts against and that
account's quota (grants.py): the bytes stored here for one account are held
to it too, whether or not the files were ever shared. The chat server gives
the quota of an offer never shared back after some hours, since it cannot
tell an upload that failed from one that was stored; without this, one
account could fill the whole store that way, quota after quota.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from polychat.streaming.v1 import streaming_pb2

from pykit.bytesize import exact_bytes
from pyservices.storage.atomic import StoredFile, list_files
from pyservices.storage.budget import Owner, StoreBudget
from pyservices.streaming.grants import (
    DOWNLOAD,
    LIFETIME_SECONDS,
    RECEIPT,
    UPLOAD,
    Claims,
    GrantError,
    Key,
)
from pyservices.streaming.upload import Destination, UploadRejected

CHAT_FOLDER = "chat_files"
CHUNK_SIZE = 1024 * 1024
# An epoch as the chat server makes it; anything else never names a file.
_EPOCH = re.compile(r"[A-Za-z0-9_-]{1,64}")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
NO_KEY = (
    "this service does not take chat files: it was started without a file key "
    "(STREAMING_FILE_KEY, or --streaming-file-key-file / STREAMING_FILE_KEY_FILE)"
)


class DownloadRefused(Exception):
    """The download is refused with `code`; the message is meant for the client."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ChatFiles:
    """The chat's files in `folder`, granted under `key` (None: no chat files).

    Kept `retention` seconds after they were stored (0: forever).
    """

    folder: Path
    key: Key | None
    retention: float = 0.0

    def _check(self, token: str, kind: str) -> Claims:
        if self.key is None:
            raise UploadRejected(grpc.StatusCode.FAILED_PRECONDITION, NO_KEY)
        try:
            claims = self.key.verify(token, kind)
        except GrantError as err:
            raise UploadRejected(grpc.StatusCode.PERMISSION_DENIED, str(err)) from None
        if not _EPOCH.fullmatch(claims.epoch):
            raise UploadRejected(grpc.StatusCode.PERMISSION_DENIED, "not a valid file grant")
        return claims

    def _stored_name(self, claims: Claims) -> str:
        return f"{claims.epoch}-{claims.file}"

    def destination(self, meta: streaming_pb2.UploadFileMetadata) -> tuple[Destination, Claims]:
        """Where the granted upload `meta` goes, or UploadRejected."""
        claims = self._check(meta.grant, UPLOAD)
        if meta.name != claims.name or meta.size != claims.size:
            raise UploadRejected(
                grpc.StatusCode.PERMISSION_DENIED,
                f"the grant is for a file of {claims.size} bytes named {claims.name!r}, "
                f"not {meta.size} bytes named {meta.name!r}; offer the file again",
            )
        dest = Destination(
            self.folder, self._stored_name(claims), False, claims.size, self._owner(claims)
        )
        return dest, claims

    def _owner(self, claims: Claims) -> Owner | None:
        """The account the upload of `claims` counts against; None for a grant naming none."""
        if not claims.acct:
            return None
        # The chat server's account keys: `a.…` a client address (members who
        # are not signed in), `u.…` a signed-in user.
        by_address = claims.acct.startswith("a.")
        if self.retention:
            kept = (
                f"files uploaded are kept for {period(self.retention)}, shared or not;"
                " nothing was stored; try again once older files have expired"
            )
        else:
            kept = (
                "files uploaded are kept, shared or not, with no expiry; nothing was stored;"
                " ask the service's operator to make room"
            )

        def refusal(free: int, more: int) -> str:
            whose, why = "your quota", ""
            if by_address:
                whose = "your address's quota"
                why = " (members who are not signed in share one quota per address)"
            return (
                f"the file is {exact_bytes(more)} but only {exact_bytes(free)} of {whose}"
                f" of {exact_bytes(claims.quota)} is left in the file store{why}: {kept}"
            )

        return Owner(claims.acct, claims.quota, refusal)

    def receipt(self, claims: Claims, stored: StoredFile) -> str:
        """The signed receipt of a granted upload, for the chat server's ShareFile."""
        assert self.key is not None  # destination() checked it
        return self.key.sign(
            Claims(
                epoch=claims.epoch,
                exp=int(time.time()) + LIFETIME_SECONDS,
                file=claims.file,
                kind=RECEIPT,
                name=claims.name,
                room=claims.room,
                sha256=stored.sha256,
                size=stored.size,
                user=claims.user,
            )
        )

    def open_download(self, token: str) -> tuple[Claims, int]:
        """The claims of a download grant and the stored file's open descriptor.

        Blocks: call it in a worker thread. Raises DownloadRefused.
        """
        try:
            claims = self._check(token, DOWNLOAD)
        except UploadRejected as err:
            raise DownloadRefused(err.code, str(err)) from None
        path = self.folder / self._stored_name(claims)
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            why = (
                f"; it has probably expired: shared files are kept for {period(self.retention)}"
                if self.retention
                else ""
            )
            raise DownloadRefused(
                grpc.StatusCode.NOT_FOUND,
                f"file {claims.file} ({claims.name}) is not stored by this service any more{why}",
            ) from None
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise DownloadRefused(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"the stored file {claims.file} is a symlink: refusing to follow it",
                ) from None
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != claims.size:
            os.close(fd)
            raise DownloadRefused(
                grpc.StatusCode.DATA_LOSS,
                f"the stored file {claims.file} is no longer the one that was shared",
            )
        return claims, fd

    def expire(self, budget: StoreBudget, now: float) -> list[str]:
        """Delete the files stored `retention` seconds or longer before `now`; their names.

        Blocks: call it in a worker thread. Does nothing without a retention.
        """
        if not self.retention:
            return []
        cutoff_ns = int((now - self.retention) * 1e9)
        expired = []
        for entry in list_files(self.folder):
            if entry.modified_ns <= cutoff_ns and budget.remove(self.folder, entry.name):
                expired.append(entry.name)
        return expired


def period(seconds: float) -> str:
    """A retention period as people say it: `30 days`, `1 day`, `2 hours`, `90 seconds`."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
    return "1 second" if seconds == 1 else f"{seconds:g} seconds"


def download_metadata(claims: Claims) -> streaming_pb2.DownloadFileResponse:
    return streaming_pb2.DownloadFileResponse(
        metadata=streaming_pb2.DownloadFileMetadata(
            name=claims.name, size=claims.size, sha256=claims.sha256
        )
    )
