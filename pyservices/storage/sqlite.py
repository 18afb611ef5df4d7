"""The one way our services keep data in SQLite: one writer thread, durable commits.

A database that fails is reported as a StoreFailure, never as a raw sqlite3
error: a short reason a person can act on (the disk is full, the file is
read-only...), whether trying again later can help, and one log line with the
cause for the operator. A database file removed or replaced while the service
runs is noticed (the inodes of the database, its -wal and -shm files are
checked after every write and once a second) and the store refuses every call
from then on, so no write is ever acknowledged into a file that will not be
there after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger("pyservices.storage")

# The files that make up one database in WAL mode. Removing any of them under a
# running connection loses data (the main file or the log) or corrupts it (the
# shared-memory index another connection would rebuild).
_SUFFIXES = ("", "-wal", "-shm")

# How often a store looks for its files without being asked (health reporting).
WATCH_SECONDS = 1.0
# The same failure is logged again at most this often while it lasts.
RELOG_SECONDS = 60.0

# Primary result codes (the low byte of sqlite3.Error.sqlite_errorcode) -> (reason, retryable).
# Retryable failures are the disk's or another process's doing and may pass
# (space freed, permissions fixed, a lock released); the others need a person.
_BUSY = ("the database is locked by another process", True)
_REASONS: dict[int, tuple[str, bool]] = {
    5: _BUSY,  # SQLITE_BUSY
    6: _BUSY,  # SQLITE_LOCKED
    7: ("the server is out of memory", True),  # SQLITE_NOMEM
    8: ("the database is read-only", True),  # SQLITE_READONLY
    10: ("the disk reported an I/O error", True),  # SQLITE_IOERR
    11: ("the database file is damaged", False),  # SQLITE_CORRUPT
    13: ("the disk is full", True),  # SQLITE_FULL
    14: ("the database file cannot be opened", True),  # SQLITE_CANTOPEN
    15: _BUSY,  # SQLITE_PROTOCOL
    26: ("the database file is not a database", False),  # SQLITE_NOTADB
}
_UNEXPECTED = ("the database failed unexpectedly", False)
LOST_REASON = "the database file was removed or replaced while the service ran"


class StoreOpenError(OSError):
    """A database cannot be used at all: the service cannot start. The message names the file."""


class StoreFailure(Exception):
    """A database could not do what was asked; nothing of the request was kept.

    `str()` is the message for a client: what failed and what can be done, with
    no paths, SQL or exception names. `retryable` says whether the same request
    may work later without anyone restarting the service (gRPC UNAVAILABLE) or
    not (INTERNAL); `lost` that the database file went away under the service
    (retryable: a restarted service, on a restored file, can do it).
    """

    def __init__(self, label: str, reason: str, *, retryable: bool, lost: bool = False) -> None:
        self.label = label
        self.reason = reason
        self.retryable = retryable
        self.lost = lost
        if lost:
            advice = "the service's operator must restore the file and restart the service"
        elif retryable:
            advice = "try again later; if it keeps failing, tell the service's operator"
        else:
            advice = "the service's operator must check the server log"
        super().__init__(f"{label} is unavailable: {reason}; nothing was done; {advice}")


def classify(err: sqlite3.Error) -> tuple[str, bool]:
    """(reason, retryable) for a sqlite3 error."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is None:
        return _UNEXPECTED
    return _REASONS.get(code & 0xFF, _UNEXPECTED)


def rollback(conn: sqlite3.Connection) -> None:
    """End the open transaction, if any, keeping the error that caused the rollback.

    SQLite rolls back by itself after a full disk or an I/O error; a second
    rollback would raise and hide the first error.
    """
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of `path`, or None if nothing is there any more."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_dev, st.st_ino


class SQLiteStore:
    """A SQLite database used by one worker thread, so there is exactly one writer.

    WAL lets readers work beside the writer; `synchronous=FULL` makes every
    commit survive a power cut; the busy timeout rides out a reader that holds
    a lock (logger_query, say). Subclasses set SCHEMA (run at open) and LABEL
    (how clients are told which database failed), may override `_after_open`
    (seed data) and call `_run`/`_tx` for their queries.
    """

    SCHEMA = ""
    LABEL = "the database"

    def __init__(self, path: Path, *, thread_name: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._conn: sqlite3.Connection | None = None
        self._files: dict[str, tuple[int, int]] = {}
        self._lost = False
        self._on_lost: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._failing: str | None = None  # the reason last logged, while failures go on
        self._failing_logged = 0.0

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        """Run fn(*args) on the store's thread; a database failure raises StoreFailure."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._guarded, fn, *args
        )

    def _guarded(self, fn: Callable[..., T], *args: object) -> T:
        """fn(*args), refused once the files are known to be gone, failed if a write went
        into a file that is gone."""
        self.refuse_if_lost()
        conn = self._conn
        changes = conn.total_changes if conn is not None else 0
        try:
            result = fn(*args)
        except sqlite3.Error as err:
            raise self._failure(err) from err
        # A commit into a removed file returns fine, but it will not be there
        # after a restart: that must not be acknowledged. Reads skip the check
        # (a few stat calls, tens of microseconds on a busy disk); the watcher
        # notices a lost file within WATCH_SECONDS for them.
        if conn is not None and conn.total_changes != changes:
            self.check_files()
        return result

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection; only for code running on the store's thread."""
        if self._conn is None:
            raise RuntimeError(f"{type(self).__name__} is not open")
        return self._conn

    def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn in one write transaction: all of it is committed, or none."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        self._recovered()
        return result

    async def open(self, on_lost: Callable[[], None] | None = None) -> None:
        """Open (creating if needed) the database; StoreOpenError if it cannot be written.

        `on_lost` is called on the event loop once the database file is found
        removed or replaced (the service should then report itself not serving).
        """
        self._loop = asyncio.get_running_loop()
        self._on_lost = on_lost
        try:
            await self._loop.run_in_executor(self._executor, self._open)
        except sqlite3.Error as err:
            reason, _ = classify(err)
            name = getattr(err, "sqlite_errorname", None) or str(err)
            raise StoreOpenError(f"cannot use {self.path}: {reason} ({name})") from None
        self._watcher = asyncio.create_task(self._watch(), name=f"watch {self.path.name}")

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executescript(self.SCHEMA)
            # SQLite opens a file it may not write read-only, without a word;
            # a service that cannot keep what it is sent must not start. Only a
            # real write tells (rolled back: the file is left as it was).
            conn.execute("BEGIN IMMEDIATE")
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("ROLLBACK")
            self._conn = conn
            self._after_open()
        except BaseException:
            self._conn = None
            conn.close()
            raise
        # The files exist now (WAL mode keeps the log and the index while a
        # connection is open): remember which files they are.
        for suffix in _SUFFIXES:
            found = _identity(f"{self.path}{suffix}")
            if found is not None:
                self._files[f"{self.path}{suffix}"] = found

    def _after_open(self) -> None:
        """Runs on the store's thread once the schema exists."""

    def refuse_if_lost(self) -> None:
        """Raise StoreFailure (lost) if the database is known to be lost; any thread."""
        if self._lost:
            # UNAVAILABLE: the request can work again, once the service was restarted.
            raise StoreFailure(self.LABEL, LOST_REASON, retryable=True, lost=True)

    def check_files(self) -> None:
        """Raise StoreFailure (lost) if a file of the database was removed or replaced."""
        if not self._lost:
            for name, identity in self._files.items():
                try:
                    found = _identity(name)
                except OSError:  # cannot tell (permissions): SQLite reports real I/O errors
                    continue
                if found != identity:
                    self._mark_lost(name)
                    break
        self.refuse_if_lost()

    def _mark_lost(self, name: str) -> None:
        self._lost = True
        log.error(
            "database lost db=%s file=%s: removed or replaced while in use; every request"
            " that needs it is refused until the service is restarted with the file restored",
            self.path,
            name,
        )
        if self._on_lost is not None and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody to tell
                self._loop.call_soon_threadsafe(self._on_lost)

    async def _watch(self) -> None:
        """Notice a removed file even while nobody uses the database."""
        while not self._lost:
            await asyncio.sleep(WATCH_SECONDS)
            with contextlib.suppress(StoreFailure):
                self.check_files()

    def _failure(self, err: sqlite3.Error) -> StoreFailure:
        """The StoreFailure for `err`, logged once per kind of failure (again each minute)."""
        reason, retryable = classify(err)
        now = time.monotonic()
        if reason != self._failing or now - self._failing_logged >= RELOG_SECONDS:
            self._failing, self._failing_logged = reason, now
            log.error(
                "database failure db=%s reason=%r error=%r code=%s",
                self.path,
                reason,
                str(err),
                getattr(err, "sqlite_errorname", type(err).__name__),
            )
        return StoreFailure(self.LABEL, reason, retryable=retryable)

    def _recovered(self) -> None:
        if self._failing is not None:
            log.warning("database works again db=%s after=%r", self.path, self._failing)
            self._failing = None

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
