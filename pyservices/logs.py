"""How the services' log lines look, and what writing one costs.

Every RPC writes one request log line (`pyservices.observers.LogObserver`), so the
cost of a line is part of the cost of a call. The standard library's defaults do
work no line here uses: they look up the thread, process and multiprocessing
names of every record, and format the date afresh for every line. This module
turns those off (as the logging HOWTO's "Optimization" section describes) and
formats a second's date once.

Two formats, as `POLYCHAT_LOG_FORMAT` says: `text` (`… level=INFO logger=… message`) and
`json`, one object a line with the keys and level names Go's log/slog uses (`time`, `level`,
`msg`; `WARN` rather than `WARNING`), plus `logger`.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime

FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
# pykit.config.LOG_LEVELS as the logging module numbers them.
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
_SLOG_NAMES = {logging.WARNING: "WARN", logging.CRITICAL: "ERROR"}


class Formatter(logging.Formatter):
    """The default `YYYY-MM-DD HH:MM:SS,mmm` date, formatted once per second."""

    def __init__(self, fmt: str = FORMAT) -> None:
        super().__init__(fmt)
        self._second = -1
        self._date = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        if second != self._second:
            self._date = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = second
        return f"{self._date},{int(record.msecs):03d}"


class JSONFormatter(logging.Formatter):
    """One JSON object a line: time (RFC 3339, local), level, logger, msg[, error]."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created)
            .astimezone()
            .isoformat(timespec="milliseconds"),
            "level": _SLOG_NAMES.get(record.levelno, record.levelname),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "info", fmt: str = "text") -> None:
    """Log to stderr at `level` (one of LOG_LEVELS) in format `fmt` (text or json)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter() if fmt == "json" else Formatter())
    logging.basicConfig(level=_LEVELS[level], handlers=[handler])
