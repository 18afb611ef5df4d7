"""Atomic, symlink-safe writes into one folder.

A file is written to a hidden temp file in the destination folder (opened with
O_EXCL | O_NOFOLLOW, relative to a descriptor of the folder), flushed with
fsync, then moved into place with one rename or hard link and the folder is
fsynced. Readers see either no file or the whole file; a symlink in the folder
is never followed. Everything here blocks: call it via `asyncio.to_thread`.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pykit.filenames import check_name

TEMP_PREFIX = ".upload-"
TEMP_SUFFIX = ".tmp"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Link failures that mean "this filesystem has no hard links", not "name taken".
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV}


class StorageError(Exception):
    """A write was refused; the message is meant for the client."""


class AlreadyExists(StorageError):
    """The name is taken and overwrite was not asked for."""


class NotRegularFile(StorageError):
    """The name is taken by a symlink, folder or other non-file: never replaced."""


class TooLarge(StorageError):
    """The content is over the size limit."""


class UnsafeFolder(StorageError):
    """The storage folder is a symlink or not a folder: the server's setup, not the request."""


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class FileEntry:
    name: str
    size: int
    modified_ns: int


def open_folder(folder: Path) -> int:
    """Create `folder` if needed and return a descriptor of it (last part not a link)."""
    unsafe = f"the server's storage folder {folder.name!r} is not a plain folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as err:  # a file, or a symlink to nowhere
        raise UnsafeFolder(unsafe) from err
    try:
        return os.open(folder, _DIR_FLAGS)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafeFolder(unsafe) from err
        raise


def check_target(dir_fd: int, name: str, overwrite: bool) -> None:
    """Refuse early if `name` is taken (without overwrite) or is not a regular file."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not overwrite:
        raise AlreadyExists(f"file {name!r} already exists; set overwrite to replace it")
    if not stat.S_ISREG(st.st_mode):
        kind = "a symlink" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise NotRegularFile(f"refusing to replace {name!r}: it is {kind}")


def preflight(folder: Path, name: str, overwrite: bool) -> None:
    """Check `name` and its target before receiving any data, to fail early."""
    check_name(name)
    dir_fd = open_folder(folder)
    try:
        check_target(dir_fd, name, overwrite)
    finally:
        os.close(dir_fd)


class AtomicFile:
    """One file being written into `folder`; visible under its name only after commit().

    Thread-safe: write, commit and abort may be called from different worker
    threads; abort waits for a write in progress and is idempotent.
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._hash = hashlib.sha256()
        self.size = 0
        self._dir_fd = open_folder(folder)
        self._temp = f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"
        try:
            self._fd: int | None = os.open(self._temp, _TEMP_FLAGS, 0o644, dir_fd=self._dir_fd)
        except BaseException:
            os.close(self._dir_fd)
            raise
        self._done = False

    @property
    def temp_name(self) -> str:
        return self._temp

    def write(self, data: bytes) -> None:
        """Append `data`, or raise TooLarge (nothing of it written) if the limit would be passed."""
        with self._lock:
            if self._fd is None:
                raise StorageError("write after the file was finished")
            if self.size + len(data) > self._max_bytes:
                raise TooLarge(
                    f"file is larger than the limit of {self._max_bytes} bytes "
                    f"({self.size + len(data)} bytes so far)"
                )
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._hash.update(data)
            self.size += len(data)

    def flush(self) -> None:
        """Force the written bytes to disk (the slow part of a commit)."""
        with self._lock:
            if self._fd is None:
                raise StorageError("flush after the file was finished")
            os.fsync(self._fd)

    def commit(self, name: str, overwrite: bool) -> StoredFile:
        """Flush and move the temp file to `name`; the temp is removed whatever happens."""
        check_name(name)
        with self._lock:
            if self._fd is None:
                raise StorageError("commit after the file was finished")
            try:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
                self._move_into_place(name, overwrite)
                os.fsync(self._dir_fd)
                return StoredFile(name=name, size=self.size, sha256=self._hash.hexdigest())
            finally:
                self._finish()

    def abort(self) -> None:
        """Drop the temp file. Safe to call more than once and after commit."""
        with self._lock:
            self._finish()

    def _move_into_place(self, name: str, overwrite: bool) -> None:
        check_target(self._dir_fd, name, overwrite)
        fd = self._dir_fd
        if overwrite:
            # rename() replaces a directory entry and never follows a symlink there.
            os.replace(self._temp, name, src_dir_fd=fd, dst_dir_fd=fd)
            return
        try:
            # link() fails if the name exists, atomically: no check-then-write race.
            os.link(self._temp, name, src_dir_fd=fd, dst_dir_fd=fd, follow_symlinks=False)
        except FileExistsError as err:
            raise AlreadyExists(
                f"file {name!r} already exists; set overwrite to replace it"
            ) from err
        except OSError as err:
            if err.errno not in _NO_LINKS:
                raise
            # No hard links here: the best we can do is check, then rename.
            check_target(fd, name, overwrite=False)
            os.rename(self._temp, name, src_dir_fd=fd, dst_dir_fd=fd)

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        try:
            os.unlink(self._temp, dir_fd=self._dir_fd)
        except FileNotFoundError:
            pass  # renamed into place
        finally:
            os.close(self._dir_fd)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


def write_atomic(
    folder: Path, name: str, data: bytes, overwrite: bool, max_bytes: int
) -> StoredFile:
    """Write `data` as `folder/name` in one atomic step (see the module docstring)."""
    check_name(name)
    if len(data) > max_bytes:
        raise TooLarge(f"file is {len(data)} bytes, larger than the limit of {max_bytes} bytes")
    preflight(folder, name, overwrite)
    with AtomicFile(folder, max_bytes) as out:
        out.write(data)
        return out.commit(name, overwrite)


def list_files(folder: Path) -> list[FileEntry]:
    """Regular, visible files in `folder`, sorted by name (symlinks and temp files skipped)."""
    try:
        dir_fd = os.open(folder, _DIR_FLAGS)
    except FileNotFoundError:
        return []
    entries: list[FileEntry] = []
    try:
        with os.scandir(dir_fd) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    entries.append(FileEntry(entry.name, st.st_size, st.st_mtime_ns))
    finally:
        os.close(dir_fd)
    return sorted(entries, key=lambda e: e.name)


def remove_stale_temps(folder: Path) -> int:
    """Remove temp files left by a crashed process; returns how many. One process per folder."""
    try:
        dir_fd = os.open(folder, _DIR_FLAGS)
    except FileNotFoundError:
        return 0
    removed = 0
    try:
        with os.scandir(dir_fd) as it:
            for entry in it:
                if entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX):
                    if entry.is_file(follow_symlinks=False):
                        os.unlink(entry.name, dir_fd=dir_fd)
                        removed += 1
    finally:
        os.close(dir_fd)
    return removed
