"""The gRPC status for a file the file and streaming services could not store.

One table for both services, so the same storage problem gets the same code
whichever RPC met it:

- a bad name: INVALID_ARGUMENT; the name taken: ALREADY_EXISTS; over the size
  limit, over the store's total cap, or over its owner's quota: RESOURCE_EXHAUSTED;
- the name held by a symlink or folder, or the storage folder itself a symlink
  or not a folder: FAILED_PRECONDITION (nothing is written through a link; the
  state must be fixed before the same request can work);
- the disk full, read-only or failing: UNAVAILABLE (it may pass; the request
  can be sent again later), as for the services' databases; likewise a file
  asked for while the service shuts down;
- anything else the system reports: INTERNAL.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

import grpc

from pykit.filenames import InvalidName
from pyservices.storage.atomic import (
    AlreadyExists,
    NotRegularFile,
    StorageError,
    TooLarge,
    UnsafeFolder,
)
from pyservices.storage.budget import OverQuota, StoreFull
from pyservices.storage.inflight import ShuttingDown

_REFUSALS: dict[type[Exception], grpc.StatusCode] = {
    InvalidName: grpc.StatusCode.INVALID_ARGUMENT,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    NotRegularFile: grpc.StatusCode.FAILED_PRECONDITION,
    UnsafeFolder: grpc.StatusCode.FAILED_PRECONDITION,
    TooLarge: grpc.StatusCode.RESOURCE_EXHAUSTED,
    StoreFull: grpc.StatusCode.RESOURCE_EXHAUSTED,
    OverQuota: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ShuttingDown: grpc.StatusCode.UNAVAILABLE,
}

# Disk conditions that may pass: the same reasons the databases give.
_DISK_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk is full",
    errno.EROFS: "the storage is read-only",
    errno.EIO: "the disk reported an I/O error",
}


@dataclass(frozen=True)
class Refusal:
    """How to answer: `code` and `message` for the client; `server_fault`: the
    operator, not the client, has something to fix (worth an error log line)."""

    code: grpc.StatusCode
    message: str
    server_fault: bool


def storage_status(err: InvalidName | StorageError | OSError) -> Refusal:
    """The answer for a file that could not be stored because of `err`."""
    if isinstance(err, OSError):
        reason = _DISK_REASONS.get(err.errno or 0)
        if reason is not None:
            message = (
                f"the server cannot store files right now: {reason}; nothing was stored;"
                " try again later, and tell the service's operator if it keeps failing"
            )
            return Refusal(grpc.StatusCode.UNAVAILABLE, message, True)
        message = f"could not store the file: {err.strerror or 'system error'}"
        return Refusal(grpc.StatusCode.INTERNAL, message, True)
    code = _REFUSALS.get(type(err))
    if code is None:
        return Refusal(grpc.StatusCode.INTERNAL, str(err), True)
    return Refusal(code, str(err), isinstance(err, UnsafeFolder))
