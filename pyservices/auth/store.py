"""auth.db: users, sessions and the audit outbox, behind one worker thread.

A session change and the audit event describing it are written in one
transaction, so an event is never lost and never describes something that
did not happen.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pykit.text import sanitize
from pyservices.identity import identity_key
from pyservices.storage.columns import ensure_key_column
from pyservices.storage.sqlite import SQLiteStore

T = TypeVar("T")

log = logging.getLogger("pyservices.auth.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY COLLATE NOCASE,  -- as registered, NFC
    password_hash TEXT NOT NULL,
    created_at    REAL NOT NULL,
    username_key  TEXT  -- identity_key(username), unique; see _after_open
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,      -- never the token itself
    username     TEXT NOT NULL,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    ended_at     REAL
);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    details    TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# Ended and expired sessions are kept this long (so a repeated Logout still
# gets a clear answer), then purged.
KEEP_ENDED_SECONDS = 24 * 3600


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Event:
    """An audit event waiting in the outbox."""

    seq: int
    event_id: str
    event_type: str
    details: str
    created_at: float


@dataclass(frozen=True)
class Session:
    username: str
    expires_at: float
    ended_at: float | None


class AuthStore(SQLiteStore):
    SCHEMA = SCHEMA
    LABEL = "the account database"

    def __init__(self, path: Path) -> None:
        super().__init__(path, thread_name="authstore")

    def _after_open(self) -> None:
        # Databases from before username_key get it here. Two accounts whose names are now
        # the same (`émile`, `ÉMILE`) both stay: the older keeps the name, the later is
        # parked and can still log in by typing its exact name (get_user).
        parked = self._tx(
            lambda c: ensure_key_column(
                c, "users", "username", "username_key", identity_key, "created_at, rowid"
            )
        )
        for row in parked:
            log.warning(
                "account name clashes with an older account once look-alikes are compared;"
                " it keeps working with its exact name, but consider renaming it"
                " username=%r",
                sanitize(row.value),
            )

    # ---- users -------------------------------------------------------------

    async def seeded(self, key: str) -> bool:
        def get() -> bool:
            return (
                self.conn.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone() is not None
            )

        return await self._run(get)

    async def seed_once(self, key: str, username: str, password_hash: str) -> bool:
        """Add a user the first time `key` is seen; never again (even after deletion)."""
        return await self._run(self._tx, lambda c: _seed_once(c, key, username, password_hash))

    async def add_user(self, username: str, password_hash: str) -> bool:
        """Add a user; False if the name, or a look-alike of it (identity_key), is taken."""

        def add(conn: sqlite3.Connection) -> bool:
            try:
                conn.execute(
                    "INSERT INTO users (username, password_hash, created_at, username_key)"
                    " VALUES (?, ?, ?, ?)",
                    (username, password_hash, time.time(), identity_key(username)),
                )
            except sqlite3.IntegrityError:
                return False
            return True

        return await self._run(self._tx, add)

    async def get_user(self, username: str) -> tuple[str, str] | None:
        """(stored username, password hash) of the account `username` names, or None.

        Any look-alike spelling finds the account holding the name's key; a parked account
        (see _after_open) is found only by its exact name, and then first.
        """

        def get() -> tuple[str, str] | None:
            row = self.conn.execute(
                "SELECT username, password_hash FROM users"
                " WHERE username_key = ? OR (username_key IS NULL AND username = ? COLLATE BINARY)"
                " ORDER BY username_key IS NULL DESC LIMIT 1",
                (identity_key(username), username),
            ).fetchone()
            return None if row is None else (str(row[0]), str(row[1]))

        return await self._run(get)

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        await self._run(
            self._tx,
            lambda c: c.execute(
                "UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username)
            ),
        )

    # ---- sessions ----------------------------------------------------------

    async def start_session(
        self, token: str, username: str, ttl: float, event: tuple[str, str]
    ) -> float:
        """Store a session and its audit event together; returns expires_at."""
        now = time.time()
        expires_at = now + ttl

        def start(conn: sqlite3.Connection) -> float:
            conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now - KEEP_ENDED_SECONDS,))
            conn.execute(
                "INSERT INTO sessions (token_sha256, username, created_at, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (hash_token(token), username, now, expires_at),
            )
            _enqueue(conn, *event, now)
            return expires_at

        return await self._run(self._tx, start)

    async def get_session(self, token: str) -> Session | None:
        def get() -> Session | None:
            row = self.conn.execute(
                "SELECT username, expires_at, ended_at FROM sessions WHERE token_sha256 = ?",
                (hash_token(token),),
            ).fetchone()
            return None if row is None else Session(str(row[0]), float(row[1]), row[2])

        return await self._run(get)

    async def end_session(
        self, token: str, make_event: Callable[[str], tuple[str, str]]
    ) -> tuple[Session | None, bool]:
        """End a live session and queue its event; returns (session, ended_now)."""

        def end(conn: sqlite3.Connection) -> tuple[Session | None, bool]:
            now = time.time()
            key = hash_token(token)
            row = conn.execute(
                "SELECT username, expires_at, ended_at FROM sessions WHERE token_sha256 = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None, False
            session = Session(str(row[0]), float(row[1]), row[2])
            if session.ended_at is not None or session.expires_at <= now:
                return session, False
            conn.execute("UPDATE sessions SET ended_at = ? WHERE token_sha256 = ?", (now, key))
            _enqueue(conn, *make_event(session.username), now)
            return session, True

        return await self._run(self._tx, end)

    # ---- outbox ------------------------------------------------------------

    async def enqueue(self, event_type: str, details: str) -> None:
        """Queue an event that goes with no other change (e.g. a failed login)."""
        now = time.time()
        await self._run(self._tx, lambda c: _enqueue(c, event_type, details, now))

    async def pending(self, limit: int = 100) -> list[Event]:
        def get() -> list[Event]:
            rows = self.conn.execute(
                "SELECT seq, event_id, event_type, details, created_at FROM outbox"
                " ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
            return [Event(int(r[0]), str(r[1]), str(r[2]), str(r[3]), float(r[4])) for r in rows]

        return await self._run(get)

    async def pending_count(self) -> int:
        """How many events wait for LoggerService."""
        return await self._run(
            lambda: int(self.conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
        )

    async def delivered(self, seq: int) -> None:
        await self._run(self._tx, lambda c: c.execute("DELETE FROM outbox WHERE seq = ?", (seq,)))


def _enqueue(conn: sqlite3.Connection, event_type: str, details: str, now: float) -> None:
    conn.execute(
        "INSERT INTO outbox (event_id, event_type, details, created_at) VALUES (?, ?, ?, ?)",
        (f"auth-{uuid.uuid4()}", event_type, details, now),
    )


def _seed_once(conn: sqlite3.Connection, key: str, username: str, password_hash: str) -> bool:
    if conn.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone() is not None:
        return False
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, str(time.time())))
    conn.execute(
        "INSERT OR IGNORE INTO users (username, password_hash, created_at, username_key)"
        " VALUES (?, ?, ?, ?)",
        (username, password_hash, time.time(), identity_key(username)),
    )
    return True
