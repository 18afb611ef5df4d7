"""`python -m pyservices.logger.query` (logger_query): show stored events as a table.

Reads the database directly and read-only, so it works while the service runs
and never changes a record.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from tabulate import tabulate

from pykit import config
from pykit.text import sanitize
from pyservices.logger.store import Entry, db_path, query

DEFAULT_LIMIT = 20
HEADERS = ["ID", "Event Type", "Details", "Timestamp", "Writer"]


def default_db() -> Path:
    return db_path(config.Reader().get(config.DATA_DIR))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = config.ArgumentParser(
        prog="python -m pyservices.logger.query",
        description="Show the newest events stored by LoggerService.",
    )
    parser.add_argument(
        "--limit",
        type=config.argument_type(config.whole_number(1)),
        default=DEFAULT_LIMIT,
        help=f"show at most this many events (default: {DEFAULT_LIMIT})",
    )
    parser.add_argument("--type", dest="event_type", default="", help="only this event type")
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="database file (default: <POLYCHAT_DATA_DIR or data>/logs_data/logs.db)",
    )
    return parser.parse_args(argv)


def read_entries(path: Path, event_type: str, limit: int) -> list[Entry]:
    """Open `path` read-only and return the newest entries."""
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        return query(conn, event_type, limit, None)
    finally:
        conn.close()


def render(entries: list[Entry]) -> str:
    rows = [
        [
            e.id,
            sanitize(e.event_type),
            sanitize(e.details),
            e.timestamp.strftime("%Y-%m-%d %H:%M:%S"),
            sanitize(e.writer) or "-",
        ]
        for e in entries
    ]
    return tabulate(rows, headers=HEADERS, tablefmt="grid")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    path: Path = args.db or default_db()
    missing = f"no log database at {path}; start the logger service first or pass --db"
    if not path.is_file():
        print(missing, file=sys.stderr)
        return 1
    try:
        entries = read_entries(path, args.event_type, args.limit)
    except sqlite3.Error as err:
        print(f"cannot read log database at {path}: {err}", file=sys.stderr)
        return 1
    if not entries:
        what = f" of type {sanitize(args.event_type)}" if args.event_type else ""
        print(f"No events{what} in {path}.")
        return 0
    print(render(entries))
    print("(timestamps in UTC)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
