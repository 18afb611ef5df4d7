"""How the services' log lines look, and what writing one costs.

Every RPC writes one request log line (`pyservices.observers.LogObserver`), so the
cost of a line is part of the cost of a call. The standard library's defaults do
work no line here uses: they look up the caller's file and line and the thread,
process and multiprocessing names of every record, and format the date afresh for
every line. This module turns those off (as the logging HOWTO's "Optimization"
section describes), formats a second's date once and a text line with one f-string,
and writes the lines logged within `FLUSH_INTERVAL` (50 ms) of each other on the event
loop with one write (`LoopBatchingHandler`) rather than one system call per line or per
turn of the loop: under load a turn handles a call or two, and a write per turn cost
about as much as formatting the line. (Handing records to a
writer thread costs more than it saves: the calls and the writer share one CPU and the
GIL, and the writer's formatting is no cheaper for being elsewhere.) Making a
`LogRecord` and passing it through the logger and handler costs more than the line
itself, so the request log hands its line straight to the handler (`direct_handler`,
`LoopBatchingHandler.emit_message`) where nothing else would see the record: the same
bytes, in the same order, as logging it.

Two formats, as `POLYCHAT_LOG_FORMAT` says: `text` (`… level=INFO logger=… message`) and
`json`, one object a line with the keys and level names Go's log/slog uses (`time`, `level`,
`msg`; `WARN` rather than `WARNING`), plus `logger`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime
from typing import TextIO

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
        return self._stamp(record.created, record.msecs)

    def _stamp(self, created: float, msecs: float) -> str:
        second = int(created)
        if second != self._second:
            self._date = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = second
        return f"{self._date},{int(msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        if self._fmt != FORMAT or record.exc_info or record.stack_info:
            return super().format(record)
        message = record.msg % record.args if record.args else str(record.msg)
        return self.line(record.created, record.msecs, record.levelno, record.name, message)

    def line(self, created: float, msecs: float, levelno: int, name: str, message: str) -> str:
        """The line of a record made at `created` (`msecs` its milliseconds) with no traceback;
        `FORMAT` only."""
        level = logging.getLevelName(levelno)
        return f"{self._stamp(created, msecs)} level={level} logger={name} {message}"


class JSONFormatter(logging.Formatter):
    """One JSON object a line: time (RFC 3339, local), level, logger, msg[, error]."""

    def format(self, record: logging.LogRecord) -> str:
        if not record.exc_info:
            return self.line(
                record.created, record.msecs, record.levelno, record.name, record.getMessage()
            )
        entry = self._entry(record.created, record.levelno, record.name, record.getMessage())
        entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)

    def line(self, created: float, msecs: float, levelno: int, name: str, message: str) -> str:
        """The line of a record made at `created` with no traceback (`msecs` is unused: the
        time is formatted from `created`)."""
        return json.dumps(self._entry(created, levelno, name, message), ensure_ascii=False)

    @staticmethod
    def _entry(created: float, levelno: int, name: str, message: str) -> dict[str, str]:
        return {
            "time": datetime.fromtimestamp(created).astimezone().isoformat(timespec="milliseconds"),
            "level": _SLOG_NAMES.get(levelno) or logging.getLevelName(levelno),
            "logger": name,
            "msg": message,
        }


# How long a line logged on the event loop may wait for others to share its write.
FLUSH_INTERVAL = 0.05


class LoopBatchingHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that writes the lines logged on an event loop `interval` seconds
    after the first of them (0: at the end of the loop's turn), in one write. A line logged
    where no event loop runs is written at once, after any still waiting, so the order of
    lines is kept; `flush` (which `logging.shutdown` calls at exit) writes what waits."""

    def __init__(self, stream: TextIO | None = None, interval: float = FLUSH_INTERVAL) -> None:
        super().__init__(stream)
        self.interval = interval
        self._lines: list[str] = []
        self._scheduled: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._add(self.format(record))
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def emit_message(self, levelno: int, name: str, message: str) -> None:
        """Write what logging `message` (no arguments) at `levelno` through logger `name`
        would, without the record: for a handler `direct_handler` returned."""
        created = time.time()
        # As logging.LogRecord takes the milliseconds.
        msecs = int((created - int(created)) * 1000) + 0.0
        try:
            line = self.formatter.line(created, msecs, levelno, name, message)  # type: ignore[union-attr]
            with self.lock:  # type: ignore[union-attr]
                self._add(line)
        except RecursionError:
            raise
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": message, "levelno": levelno}))

    def _add(self, line: str) -> None:
        # Called with the lock held (logging.Handler.handle takes it around emit).
        self._lines.append(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write()
            return
        if self._scheduled is not loop:
            self._scheduled = loop
            if self.interval > 0:
                loop.call_later(self.interval, self._end_of_batch)
            else:
                loop.call_soon(self._end_of_batch)

    def _end_of_batch(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._scheduled = None
            self._write()

    def _write(self) -> None:
        if not self._lines:
            return
        text = "\n".join(self._lines) + "\n"
        self._lines.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # a closed or broken stderr: there is nowhere to say so
            pass

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()


def direct_handler(logger: logging.Logger, levelno: int) -> LoopBatchingHandler | None:
    """The handler that `emit_message` may give a line of `logger` at `levelno` to, when that
    writes exactly what logging it would; None when the line must be logged.

    A record costs more to make and pass along than the line it becomes, and the request
    log writes one per call. Skipping it is only right where nothing but our handler and
    formatter would see the record: `levelno` is enabled, no filter, no other handler (a
    test's caplog, say), no record factory or Logger subclass of someone else's. Checked at
    every line, as handlers come and go.
    """
    if (
        not logger.isEnabledFor(levelno)
        or logger.filters
        or type(logger) is not logging.Logger
        or logging.getLogRecordFactory() is not logging.LogRecord
    ):
        return None
    found: logging.Handler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if found is not None:
                return None
            found = handler
        if not current.propagate:
            break
        current = current.parent
    if type(found) is not LoopBatchingHandler or found.filters or levelno < found.level:
        return None
    formatter = found.formatter
    if type(formatter) is JSONFormatter or (
        type(formatter) is Formatter and formatter._fmt == FORMAT
    ):
        return found
    return None


def configure(level: str = "info", fmt: str = "text") -> None:
    """Log to stderr at `level` (one of LOG_LEVELS) in format `fmt` (text or json)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # no line shows the caller's file or line: do not look them up
    handler = LoopBatchingHandler()
    handler.setFormatter(JSONFormatter() if fmt == "json" else Formatter())
    logging.basicConfig(level=_LEVELS[level], handlers=[handler])
