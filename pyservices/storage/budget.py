"""The bytes a store holds, kept under a total cap whatever the uploads running at once.

The count starts from what the store's folders hold at start (`StoreBudget.scan`, once the
temp files a crash left are gone), then follows every file this process stores or removes: one
process per store, as for its temp files. An upload reserves its bytes before they are written
(all of a declared size at once, or chunk by chunk), so uploads running at once cannot pass
the cap together, and one refused leaves nothing on disk. A file that replaces another counts
only what it adds. Everything here is thread-safe; `commit` and `remove` block: call them via
`asyncio.to_thread`.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterable
from pathlib import Path

from pykit.bytesize import exact_bytes
from pyservices.storage.atomic import AtomicFile, StorageError, StoredFile, list_files


class StoreFull(StorageError):
    """The file would take the store over its cap; nothing of it is kept."""


class StoreBudget:
    """The bytes stored and reserved in one store, against `limit` (0: no limit)."""

    def __init__(self, limit: int, stored: int = 0) -> None:
        self.limit = limit
        self._stored = stored
        self._reserved = 0
        self._lock = threading.Lock()  # the counts; held only briefly
        # Commits and removals one at a time, so that the size of a file
        # being replaced is the size of the file the rename replaces.
        self._placing = threading.Lock()

    @classmethod
    def scan(cls, limit: int, folders: Iterable[Path]) -> StoreBudget:
        """A budget counting the files in `folders` now. Blocks."""
        return cls(limit, sum(entry.size for folder in folders for entry in list_files(folder)))

    @property
    def stored(self) -> int:
        with self._lock:
            return self._stored

    @property
    def reserved(self) -> int:
        with self._lock:
            return self._reserved

    def reservation(self) -> Reservation:
        """A new, empty reservation for one upload."""
        return Reservation(self)

    def _grow(self, held: Reservation, n: int) -> None:
        with self._lock:
            more = n - held.bytes
            if more <= 0:
                return
            taken = self._stored + self._reserved
            if self.limit and taken + more > self.limit:
                raise StoreFull(
                    f"the service's file store is full: it keeps at most {exact_bytes(self.limit)}"
                    f" and {exact_bytes(max(self.limit - taken, 0))} of it is free, not enough for"
                    f" {exact_bytes(more)} more; nothing was stored; try again once older files"
                    " have expired, or tell the service's operator"
                )
            self._reserved += more
            held.bytes = n

    def _release(self, held: Reservation) -> None:
        with self._lock:
            self._reserved -= held.bytes
            held.bytes = 0

    def commit(
        self, out: AtomicFile, folder: Path, name: str, overwrite: bool, held: Reservation
    ) -> StoredFile:
        """Commit `out` as `folder/name` and count it stored instead of `held`'s bytes."""
        with self._placing:
            replaced = _size(folder / name) if overwrite else 0
            stored = out.commit(name, overwrite)
            with self._lock:
                self._stored += stored.size - replaced
                self._reserved -= held.bytes
                held.bytes = 0
        return stored

    def remove(self, folder: Path, name: str) -> bool:
        """Delete the file `folder/name` and stop counting it; False if it was gone."""
        path = folder / name
        with self._placing:
            size = _size(path)
            try:
                os.unlink(path)
            except FileNotFoundError:
                return False
            with self._lock:
                self._stored -= size
        return True


class Reservation:
    """The bytes one upload holds in its budget until it is stored or dropped.

    Changed only under the budget's lock: a commit finishing in a worker
    thread and the upload's own cleanup may meet.
    """

    def __init__(self, budget: StoreBudget) -> None:
        self._budget = budget
        self.bytes = 0

    def grow_to(self, n: int) -> None:
        """Hold `n` bytes in all, or raise StoreFull holding what it held before."""
        self._budget._grow(self, n)

    def close(self) -> None:
        """Give back what is held (nothing, once the upload is committed)."""
        self._budget._release(self)


def _size(path: Path) -> int:
    """The size of the regular file at `path`; 0 if there is none."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else 0
