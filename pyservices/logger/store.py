"""The log store: one SQLite connection, used by one worker thread."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pyservices.storage.columns import ensure_column
from pyservices.storage.sqlite import SQLiteStore, rollback

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS logs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type TEXT NOT NULL,
    details    TEXT NOT NULL,
    timestamp  TEXT NOT NULL,          -- ISO 8601, UTC, fixed width: sorts as text
    event_id   TEXT UNIQUE,            -- NULL when the sender gave none
    received_at TEXT NOT NULL,
    writer     TEXT                    -- who sent it (see writers.py); NULL: before it was kept
);
CREATE INDEX IF NOT EXISTS logs_timestamp ON logs (timestamp);
CREATE INDEX IF NOT EXISTS logs_type_timestamp ON logs (event_type, timestamp);
"""

# Fixed-width so that text order is time order.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def db_path(data_dir: Path) -> Path:
    """Where the logger keeps its database under a data folder."""
    return data_dir / "logs_data" / "logs.db"


def format_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    id: int
    event_type: str
    details: str
    timestamp: datetime
    writer: str  # '' for events stored before writers were recorded


class LogStore(SQLiteStore):
    """Stores events; every call runs on one worker thread, so there is one writer."""

    SCHEMA = SCHEMA
    LABEL = "the log database"

    def __init__(self, path: Path) -> None:
        super().__init__(path, thread_name="logstore")

    def _after_open(self) -> None:
        self._tx(lambda c: ensure_column(c, "logs", "writer"))

    async def add(
        self,
        event_type: str,
        details: str,
        timestamp: datetime,
        event_id: str | None,
        writer: str,
    ) -> tuple[int, bool]:
        """Store an event; returns (id, duplicate). A known event_id stores nothing."""
        return await self._run(self._add, event_type, details, timestamp, event_id, writer)

    def _add(
        self,
        event_type: str,
        details: str,
        timestamp: datetime,
        event_id: str | None,
        writer: str,
    ) -> tuple[int, bool]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if event_id is not None:
                row = conn.execute("SELECT id FROM logs WHERE event_id = ?", (event_id,)).fetchone()
                if row is not None:
                    conn.execute("COMMIT")
                    return int(row[0]), True
            cur = conn.execute(
                "INSERT INTO logs (event_type, details, timestamp, event_id, received_at, writer)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    event_type,
                    details,
                    format_time(timestamp),
                    event_id,
                    format_time(datetime.now(UTC)),
                    writer,
                ),
            )
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise
        return int(cur.lastrowid or 0), False

    async def query(self, event_type: str, limit: int, since: datetime | None) -> list[Entry]:
        """Events newest first, optionally of one type and at or after `since`."""
        return await self._run(query, self.conn, event_type, limit, since)


def query(
    conn: sqlite3.Connection, event_type: str, limit: int, since: datetime | None
) -> list[Entry]:
    """Events newest first; shared by the service and the read-only query tool."""
    where: list[str] = []
    params: list[object] = []
    if event_type:
        where.append("event_type = ?")
        params.append(event_type)
    if since is not None:
        where.append("timestamp >= ?")
        params.append(format_time(since))
    columns = {str(row[1]) for row in conn.execute("PRAGMA table_info(logs)")}
    # The read-only query tool may open a database no newer service has opened yet.
    writer = "writer" if "writer" in columns else "NULL"
    sql = f"SELECT id, event_type, details, timestamp, {writer} FROM logs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY timestamp DESC, id DESC LIMIT ?"
    params.append(limit)
    return [
        Entry(int(r[0]), str(r[1]), str(r[2]), parse_time(str(r[3])), str(r[4] or ""))
        for r in conn.execute(sql, params)
    ]
