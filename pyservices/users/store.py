"""users.db behind one worker thread."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pyservices.identity import identity_key
from pyservices.storage.columns import ensure_key_column
from pyservices.storage.sqlite import SQLiteStore

T = TypeVar("T")

log = logging.getLogger("pyservices.users.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE COLLATE NOCASE,  -- as given, NFC
    age        INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    email_key  TEXT  -- identity_key(email), unique; see _after_open
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

SAMPLE_USERS: tuple[tuple[str, str, int], ...] = (
    ("Alice Johnson", "alice@example.com", 28),
    ("Bob Smith", "bob@example.com", 35),
    ("Charlie Brown", "charlie@example.com", 42),
)

# user_id is an int32 on the wire.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str
    age: int
    created_at: str


@dataclass(frozen=True)
class NewUser:
    name: str
    email: str
    age: int


class EmailTaken(Exception):
    def __init__(self, index: int, email: str) -> None:
        super().__init__(email)
        self.index = index
        self.email = email


def now_iso() -> str:
    return datetime.now().replace(microsecond=0).isoformat()


def _row(r: Sequence[object]) -> User:
    return User(int(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]))  # type: ignore[call-overload]


# How many users get() keeps in memory.
RECENT_USERS = 10_000


class UserStore(SQLiteStore):
    SCHEMA = SCHEMA
    LABEL = "the user database"

    def __init__(self, path: Path) -> None:
        super().__init__(path, thread_name="userstore")
        # Used only on the event loop's thread, for reads.
        self._reader: sqlite3.Connection | None = None
        self._recent: dict[int, User] = {}

    def _after_open(self) -> None:
        # Databases from before email_key get it here. Where two stored addresses are now
        # the same (`émile@…`, `ÉMILE@…`) both users stay; the older keeps the address and
        # the later is parked (named in a warning): it is still listed and read by id.
        parked = self._tx(
            lambda c: ensure_key_column(c, "users", "email", "email_key", identity_key, "id")
        )
        for row in parked:
            log.warning(
                "user's email clashes with an older user's once look-alikes are compared;"
                " both are kept, but consider correcting it user_id=%d",
                row.rowid,
            )
        self._tx(_seed_samples)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        await super().close()

    async def get(self, user_id: int) -> User | None:
        # A lost database answers nothing, not even from memory: its users
        # will be gone after a restart.
        self.refuse_if_lost()
        # Users are never changed or deleted once stored, so a user read once
        # is served from memory after that (a bounded number of them).
        cached = self._recent.get(user_id)
        if cached is not None:
            return cached
        # A primary-key read takes microseconds, far less than a hop to the
        # writer thread and back, so it runs on the event loop with its own
        # read-only connection (WAL lets it read while the writer writes).
        try:
            row = (
                self._read_conn()
                .execute(
                    "SELECT id, name, email, age, created_at FROM users WHERE id = ?", (user_id,)
                )
                .fetchone()
            )
        except sqlite3.Error as err:
            raise self._failure(err) from err
        if row is None:
            return None  # not cached: the id may be created later
        user = _row(row)
        self._remember(user)
        return user

    def _remember(self, user: User) -> None:
        if len(self._recent) >= RECENT_USERS:
            del self._recent[next(iter(self._recent))]  # the oldest entry
        self._recent[user.id] = user

    def _read_conn(self) -> sqlite3.Connection:
        if self._reader is None:
            if self._conn is None:
                raise RuntimeError("user store is not open")
            self._reader = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, isolation_level=None
            )
            self._reader.execute("PRAGMA busy_timeout=5000")
        return self._reader

    async def create_many(self, users: Sequence[NewUser]) -> list[User]:
        """Store all users in one transaction, or none (EmailTaken names the first clash)."""

        def create(conn: sqlite3.Connection) -> list[User]:
            created: list[User] = []
            for index, u in enumerate(users):
                stamp = now_iso()
                try:
                    cur = conn.execute(
                        "INSERT INTO users (name, email, age, created_at, email_key)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (u.name, u.email, u.age, stamp, identity_key(u.email)),
                    )
                except sqlite3.IntegrityError:
                    raise EmailTaken(index, u.email) from None
                created.append(User(int(cur.lastrowid or 0), u.name, u.email, u.age, stamp))
            return created

        return await self._run(self._tx, create)

    async def page(self, after_id: int, limit: int) -> list[User]:
        """Up to `limit` users with id greater than `after_id`, by id."""

        def page() -> list[User]:
            rows = self.conn.execute(
                "SELECT id, name, email, age, created_at FROM users WHERE id > ?"
                " ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
            return [_row(r) for r in rows]

        return await self._run(page)


def _seed_samples(conn: sqlite3.Connection) -> None:
    """Add the sample users once per database; never again, even after they are removed."""
    if conn.execute("SELECT 1 FROM meta WHERE key = 'samples'").fetchone() is not None:
        return
    stamp = now_iso()
    conn.execute("INSERT INTO meta (key, value) VALUES ('samples', ?)", (stamp,))
    conn.executemany(
        "INSERT OR IGNORE INTO users (name, email, age, created_at, email_key)"
        " VALUES (?, ?, ?, ?, ?)",
        [(name, email, age, stamp, identity_key(email)) for name, email, age in SAMPLE_USERS],
    )
