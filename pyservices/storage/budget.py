"""The bytes a store holds, kept under a total cap whatever the uploads running at once.

The count starts from what the store's folders hold at start (`StoreBudget.scan`, once the
temp files a crash left are gone), then follows every file this process stores or removes: one
process per store, as for its temp files. An upload reserves its bytes before they are written
(all of a declared size at once, or chunk by chunk), so uploads running at once cannot pass
the cap together, and one refused leaves nothing on disk. A file that replaces another counts
only what it adds. Everything here is thread-safe; `commit` and `remove` block: call them via
`asyncio.to_thread`.

An upload may also have an owner with a quota of its own (a chat member's account): its bytes
count against the owner as against the total, reserved the same way. Which owner a stored file
counts against is kept beside it, as `<folder>/.owners/<name>` holding the owner's key, written
before the file is put in place and removed after it, so that the counts come back whole after
a restart (a record left without its file by a crash is dropped at the next scan).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pykit.bytesize import exact_bytes
from pyservices.storage.atomic import (
    AtomicFile,
    StorageError,
    StoredFile,
    list_files,
    write_atomic,
)

# The folder, inside a store's folder, that says which owner each file counts against. Hidden,
# so that list_files (and so the total and the chat files' expiry) never sees it.
OWNERS_FOLDER = ".owners"
# The longest owner key kept: a key is a short account name, never a file's worth.
MAX_OWNER_KEY = 1024


class StoreFull(StorageError):
    """The file would take the store over its cap; nothing of it is kept."""


class OverQuota(StorageError):
    """The file would take its owner over the owner's quota; nothing of it is kept."""


@dataclass(frozen=True)
class Owner:
    """Who an upload's bytes count against, and how many they may take in all (0: no quota).

    `refusal` words the refusal of `more` bytes when `free` of the quota are left, for the
    person uploading: only the caller knows who they are to them ("your quota", ...).
    """

    key: str
    quota: int
    refusal: Callable[[int, int], str]


class StoreBudget:
    """The bytes stored and reserved in one store, against `limit` (0: no limit).

    `owned` is what each owner's files take at the start ({owner key: bytes}); `owners` which
    owner each file counts against ({path: owner key}).
    """

    def __init__(
        self,
        limit: int,
        stored: int = 0,
        owned: dict[str, int] | None = None,
        owners: dict[Path, str] | None = None,
    ) -> None:
        self.limit = limit
        self._stored = stored
        self._reserved = 0
        self._owned: dict[str, int] = dict(owned or {})  # stored bytes by owner key
        self._held: dict[str, int] = {}  # reserved bytes by owner key
        self._owners: dict[Path, str] = dict(owners or {})  # the owner of each stored file
        self._lock = threading.Lock()  # the counts; held only briefly
        # Commits and removals one at a time, so that the size of a file
        # being replaced is the size of the file the rename replaces.
        self._placing = threading.Lock()

    @classmethod
    def scan(cls, limit: int, folders: Iterable[Path]) -> StoreBudget:
        """A budget counting the files in `folders` now, and their owners. Blocks.

        An owner record whose file is gone (a crash between the two) is removed.
        """
        stored = 0
        owned: dict[str, int] = {}
        owners: dict[Path, str] = {}
        for folder in folders:
            entries = list_files(folder)
            stored += sum(entry.size for entry in entries)
            records = {entry.name for entry in list_files(folder / OWNERS_FOLDER)}
            for entry in entries:
                if entry.name in records:
                    key = _read_owner(folder / OWNERS_FOLDER / entry.name)
                    if key:
                        owners[folder / entry.name] = key
                        owned[key] = owned.get(key, 0) + entry.size
            for name in records - {entry.name for entry in entries}:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(folder / OWNERS_FOLDER / name)
        return cls(limit, stored, owned, owners)

    @property
    def stored(self) -> int:
        with self._lock:
            return self._stored

    @property
    def reserved(self) -> int:
        with self._lock:
            return self._reserved

    def owned(self, key: str) -> int:
        """The bytes the files of owner `key` take."""
        with self._lock:
            return self._owned.get(key, 0)

    def held(self, key: str) -> int:
        """The bytes the uploads of owner `key` hold while they run."""
        with self._lock:
            return self._held.get(key, 0)

    def reservation(self, owner: Owner | None = None) -> Reservation:
        """A new, empty reservation for one upload, counted against `owner` too if given."""
        return Reservation(self, owner)

    def _grow(self, held: Reservation, n: int) -> None:
        with self._lock:
            more = n - held.bytes
            if more <= 0:
                return
            owner = held.owner
            if owner is not None and owner.quota:
                used = self._owned.get(owner.key, 0) + self._held.get(owner.key, 0)
                if used + more > owner.quota:
                    raise OverQuota(owner.refusal(max(owner.quota - used, 0), more))
            taken = self._stored + self._reserved
            if self.limit and taken + more > self.limit:
                raise StoreFull(
                    f"the service's file store is full: it keeps at most {exact_bytes(self.limit)}"
                    f" and {exact_bytes(max(self.limit - taken, 0))} of it is free, not enough for"
                    f" {exact_bytes(more)} more; nothing was stored; try again once older files"
                    " have expired, or tell the service's operator"
                )
            self._reserved += more
            if owner is not None:
                self._held[owner.key] = self._held.get(owner.key, 0) + more
            held.bytes = n

    def _release(self, held: Reservation) -> None:
        with self._lock:
            self._drop(held)

    def _drop(self, held: Reservation) -> None:
        """Stop holding `held`'s bytes; under the lock."""
        self._reserved -= held.bytes
        if held.owner is not None:
            left = self._held.get(held.owner.key, 0) - held.bytes
            if left:
                self._held[held.owner.key] = left
            else:
                self._held.pop(held.owner.key, None)
        held.bytes = 0

    def _count(self, key: str | None, delta: int) -> None:
        """Add `delta` stored bytes to owner `key` (None: no owner); under the lock."""
        if key is None:
            return
        left = self._owned.get(key, 0) + delta
        if left:
            self._owned[key] = left
        else:
            self._owned.pop(key, None)

    def commit(
        self, out: AtomicFile, folder: Path, name: str, overwrite: bool, held: Reservation
    ) -> StoredFile:
        """Commit `out` as `folder/name` and count it stored instead of `held`'s bytes.

        The file's owner, if `held` has one, is recorded before the file is in place.
        """
        path = folder / name
        owner = held.owner
        with self._placing:
            replaced = _size(path) if overwrite else 0
            if owner is not None:
                write_atomic(folder / OWNERS_FOLDER, name, owner.key.encode(), True, MAX_OWNER_KEY)
            try:
                stored = out.commit(name, overwrite)
            except BaseException:
                if owner is not None and not _exists(path):
                    with contextlib.suppress(OSError):
                        os.unlink(folder / OWNERS_FOLDER / name)
                raise
            if owner is None and overwrite:
                # An ownerless file replacing an owned one: its record would be wrong.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(folder / OWNERS_FOLDER / name)
            with self._lock:
                self._count(self._owners.pop(path, None), -replaced)
                self._stored += stored.size - replaced
                self._drop(held)
                if owner is not None:
                    self._owners[path] = owner.key
                    self._count(owner.key, stored.size)
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
            with contextlib.suppress(FileNotFoundError):
                os.unlink(folder / OWNERS_FOLDER / name)
            with self._lock:
                self._stored -= size
                self._count(self._owners.pop(path, None), -size)
        return True


class Reservation:
    """The bytes one upload holds in its budget until it is stored or dropped.

    Changed only under the budget's lock: a commit finishing in a worker
    thread and the upload's own cleanup may meet.
    """

    def __init__(self, budget: StoreBudget, owner: Owner | None = None) -> None:
        self._budget = budget
        self.owner = owner
        self.bytes = 0

    def grow_to(self, n: int) -> None:
        """Hold `n` bytes in all, or raise StoreFull or OverQuota holding what it held before."""
        self._budget._grow(self, n)

    def close(self) -> None:
        """Give back what is held (nothing, once the upload is committed)."""
        self._budget._release(self)


def _read_owner(path: Path) -> str:
    """The owner key recorded at `path`; "" if it cannot be read as one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        data = os.read(fd, MAX_OWNER_KEY + 1)
    except OSError:
        return ""
    finally:
        os.close(fd)
    try:
        key = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return ""
    return key if len(data) <= MAX_OWNER_KEY else ""


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _size(path: Path) -> int:
    """The size of the regular file at `path`; 0 if there is none."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else 0
