"""The temp files a service has open, so that shutting down can drop them all at once.

An upload's own cleanup runs on the event loop; when the process stops, the loop
may be gone before that cleanup gets its turn, and the temp file would stay on
disk. The service's shutdown step calls `abort_all` instead, after the grace
period, which removes every temp file still open, whatever state its upload is
in. Everything here blocks: call `open` and `release` via `asyncio.to_thread`.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pyservices.storage.atomic import AtomicFile, StorageError


class ShuttingDown(StorageError):
    """A new file was asked for after `abort_all`: the service is stopping."""


class InFlight:
    """A set of open AtomicFiles; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[AtomicFile] = set()
        self._closed = False

    def open(self, folder: Path, max_bytes: int) -> AtomicFile:
        """Create a temp file in `folder` and track it until `release` or `abort_all`."""
        out = AtomicFile(folder, max_bytes)
        with self._lock:
            if not self._closed:
                self._open.add(out)
                return out
        # abort_all ran while the file was being created: it must not outlive it.
        out.abort()
        raise ShuttingDown("the server is shutting down; try again once it is back")

    def release(self, out: AtomicFile) -> None:
        """Drop `out`'s temp file (if it was not committed) and stop tracking it."""
        out.abort()
        with self._lock:
            self._open.discard(out)

    def abort_all(self) -> int:
        """Drop every open temp file and refuse new ones; returns how many were open.

        A write or commit in progress finishes first (abort waits for it), so a
        file being committed is stored whole, and nothing is left half written.
        """
        with self._lock:
            self._closed = True
            files, self._open = self._open, set()
        for out in files:
            out.abort()
        return len(files)

    def __len__(self) -> int:
        with self._lock:
            return len(self._open)
