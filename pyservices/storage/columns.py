"""Columns added to databases made by an older version, at open.

`ensure_column` adds a plain column; rows made before get NULL.

`ensure_key_column` adds a uniquely indexed key computed from another column. Account names
are compared by a key (`pyservices.identity.identity_key`) that SQLite cannot compute, so the
key is stored beside the name. A database from before the key column gets it at open: the
column is added, filled in from the names, and indexed uniquely.

Filling it in can find two existing rows whose names now have the same key (`émile` and
`ÉMILE` were two accounts before). Neither is deleted and the service still starts: the
oldest row keeps the key, and each later one is *parked*, its key left NULL (a unique index
allows any number of NULLs). A parked row keeps its data; the caller decides what it may
still do and logs it so an operator can rename or merge it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Parked:
    """A row whose key is already held by an older row."""

    rowid: int
    value: str
    key: str


def ensure_column(conn: sqlite3.Connection, table: str, column: str, decl: str = "TEXT") -> bool:
    """Add `table.column` if it is missing (rows made before get NULL); True if added."""
    columns = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
    if column in columns:
        return False
    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    return True


def ensure_key_column(
    conn: sqlite3.Connection,
    table: str,
    source: str,
    column: str,
    key: Callable[[str], str],
    oldest_first: str = "rowid",
) -> list[Parked]:
    """Add `table.column` if missing, fill it with key(source) where NULL, index it uniquely.

    Run inside a write transaction. Rows are filled oldest first (`oldest_first` is an ORDER
    BY expression); a row whose key an older row holds is left NULL and returned.
    """
    ensure_column(conn, table, column)
    unique_index = f"{table}_{column}"
    indexed = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (unique_index,)
    ).fetchone()
    if indexed is None:
        # Filling in a whole table looks each key up once: index it while that happens.
        conn.execute(f"CREATE INDEX IF NOT EXISTS {unique_index}_fill ON {table} ({column})")
    parked: list[Parked] = []
    rows = conn.execute(
        f"SELECT rowid, {source} FROM {table} WHERE {column} IS NULL ORDER BY {oldest_first}"
    ).fetchall()
    for rowid, value in rows:
        value_key = key(str(value))
        taken = conn.execute(
            f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (value_key,)
        ).fetchone()
        if taken is not None:
            parked.append(Parked(int(rowid), str(value), value_key))
            continue
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (value_key, rowid))
    if indexed is None:
        conn.execute(f"CREATE UNIQUE INDEX {unique_index} ON {table} ({column})")
        conn.execute(f"DROP INDEX {unique_index}_fill")
    return parked
