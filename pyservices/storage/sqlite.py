"""The one way our services keep data in SQLite: one writer thread, durable commits."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class SQLiteStore:
    """A SQLite database used by one worker thread, so there is exactly one writer.

    WAL lets readers work beside the writer; `synchronous=FULL` makes every
    commit survive a power cut; the busy timeout rides out a reader that holds
    a lock (logger_query, say). Subclasses set SCHEMA (run at open) and may
    override `_after_open` (seed data) and call `_run`/`_tx` for their queries.
    """

    SCHEMA = ""

    def __init__(self, path: Path, *, thread_name: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._conn: sqlite3.Connection | None = None

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        """Run fn(*args) on the store's thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

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
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def open(self) -> None:
        await self._run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(self.SCHEMA)
        self._conn = conn
        self._after_open()

    def _after_open(self) -> None:
        """Runs on the store's thread once the schema exists."""

    async def close(self) -> None:
        await self._run(self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
