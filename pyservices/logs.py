"""How the services' log lines look, and what writing one costs.

Every RPC writes one request log line (`pyservices.observe.LogObserver`), so the
cost of a line is part of the cost of a call. The standard library's defaults do
work no line here uses: they look up the thread, process and multiprocessing
names of every record, and format the date afresh for every line. This module
turns those off (as the logging HOWTO's "Optimization" section describes) and
formats a second's date once.
"""

from __future__ import annotations

import logging
import time

LOG_LEVEL_ENV = "POLYCHAT_LOG_LEVEL"
LEVELS = ("debug", "info", "warning", "error")
FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


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


def configure(level: str = "info") -> None:
    """Log to stderr at `level` (one of LEVELS) in the services' format."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(Formatter())
    logging.basicConfig(level=level.upper(), handlers=[handler])
