"""SQLiteStore: failures become StoreFailure; a lost file is never written to unnoticed."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyservices.storage.sqlite import SQLiteStore, StoreFailure, classify


class Notes(SQLiteStore):
    SCHEMA = "CREATE TABLE IF NOT EXISTS notes (text TEXT NOT NULL);"
    LABEL = "the note database"

    def __init__(self, path: Path) -> None:
        super().__init__(path, thread_name="notes")

    async def add(self, text: str, before_commit: object = None) -> None:
        def add(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))
            if callable(before_commit):
                before_commit()

        await self._run(self._tx, add)

    async def count(self) -> int:
        return await self._run(
            lambda: int(self.conn.execute("SELECT count(*) FROM notes").fetchone()[0])
        )


@pytest.fixture
async def notes(tmp_path: Path) -> AsyncIterator[Notes]:
    store = Notes(tmp_path / "notes.db")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def test_a_write_into_a_removed_file_is_not_acknowledged(notes: Notes) -> None:
    await notes.add("kept")
    # The file goes while the transaction runs: SQLite commits into the unlinked
    # file without complaint; the store must not report success.
    with pytest.raises(StoreFailure) as info:
        await notes.add("lost", before_commit=lambda: os.unlink(notes.path))
    assert info.value.lost and info.value.retryable
    assert "the note database is unavailable" in str(info.value)
    # And from then on, nothing is answered from the lost file.
    with pytest.raises(StoreFailure):
        await notes.count()


async def test_a_lost_store_calls_back_once(tmp_path: Path) -> None:
    called: list[str] = []
    store = Notes(tmp_path / "notes.db")
    await store.open(on_lost=lambda: called.append("lost"))
    try:
        (tmp_path / "notes.db-shm").unlink()
        for _ in range(2):
            with pytest.raises(StoreFailure):
                await store.add("x")
        assert called == ["lost"]  # call_soon_threadsafe ran before the second reply
    finally:
        await store.close()


async def test_a_failed_commit_leaves_no_open_transaction(notes: Notes) -> None:
    # A constraint failure raised inside the transaction: rolled back, and the
    # next transaction starts cleanly.
    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO notes (text) VALUES (NULL)")

    with pytest.raises(StoreFailure) as info:
        await notes._run(notes._tx, bad)
    assert not info.value.retryable  # a broken invariant, not the disk: INTERNAL
    await notes.add("after")
    assert await notes.count() == 1


def sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    err = sqlite3.OperationalError(message)
    err.sqlite_errorcode = code  # type: ignore[attr-defined]
    return err


@pytest.mark.parametrize(
    ("code", "reason", "retryable"),
    [
        (13, "the disk is full", True),  # SQLITE_FULL
        (10 | (4 << 8), "the disk reported an I/O error", True),  # SQLITE_IOERR_WRITE
        (8, "the database is read-only", True),  # SQLITE_READONLY
        (5, "the database is locked by another process", True),  # SQLITE_BUSY
        (11, "the database file is damaged", False),  # SQLITE_CORRUPT
        (1, "the database failed unexpectedly", False),  # SQLITE_ERROR: "no such table"...
    ],
)
def test_classify(code: int, reason: str, retryable: bool) -> None:
    assert classify(sqlite_error(code, "whatever")) == (reason, retryable)
