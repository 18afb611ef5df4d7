"""The services' log lines: their format, and how they reach stderr."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
import time

import pytest

from pyservices.logs import FORMAT, Formatter, JSONFormatter, LoopBatchingHandler, direct_handler


class CountingStream(io.StringIO):
    """A stream that counts the writes it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.written = asyncio.Event()  # set by a write on the event loop's thread

    def write(self, text: str) -> int:
        self.writes += 1
        self.written.set()
        return super().write(text)


def record(msg: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("pyservices.rpc", level, __file__, 1, msg, args, None)


def test_a_text_line_is_what_the_format_string_gives() -> None:
    fast, slow = Formatter(), logging.Formatter(FORMAT)
    slow.formatTime = fast.formatTime  # type: ignore[method-assign]
    for r in (record("rpc method=%s code=%s", "GetUser", "OK"), record("plain %s"), record("100%")):
        assert fast.format(r) == slow.format(r)


def test_a_line_with_a_traceback_keeps_it() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        r = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = Formatter().format(r)
    assert line.endswith("ValueError: boom") and "Traceback" in line


async def test_lines_of_one_loop_turn_go_out_in_one_write_in_order() -> None:
    stream = CountingStream()
    handler = LoopBatchingHandler(stream, interval=0)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for n in range(5):
        handler.handle(record("line %d", n))
    assert stream.getvalue() == ""  # not before the turn ends
    await asyncio.sleep(0)
    assert stream.getvalue() == "".join(f"line {n}\n" for n in range(5))
    assert stream.writes == 1
    handler.handle(record("next turn"))
    await asyncio.sleep(0)
    assert stream.getvalue().endswith("line 4\nnext turn\n") and stream.writes == 2


async def test_a_line_from_another_thread_goes_out_at_once_after_the_waiting_ones() -> None:
    stream = CountingStream()
    handler = LoopBatchingHandler(stream, interval=0)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record("from the loop"))
    worker = threading.Thread(target=handler.handle, args=(record("from a thread"),))
    worker.start()
    worker.join()
    assert stream.getvalue() == "from the loop\nfrom a thread\n"
    await asyncio.sleep(0)
    assert stream.getvalue() == "from the loop\nfrom a thread\n"  # nothing twice


def test_outside_an_event_loop_lines_go_out_at_once_and_flush_writes_the_rest() -> None:
    stream = CountingStream()
    handler = LoopBatchingHandler(stream, interval=0)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record("now"))
    assert stream.getvalue() == "now\n"

    async def log_and_stop() -> None:
        handler.handle(record("at the last turn"))

    loop = asyncio.new_event_loop()
    try:
        # The loop stops before the end of the turn it was logged in is handled.
        loop.run_until_complete(log_and_stop())
    finally:
        loop.close()
    handler.flush()  # as logging.shutdown does at exit
    assert stream.getvalue() == "now\nat the last turn\n"


async def test_lines_logged_within_the_interval_share_one_write() -> None:
    stream = CountingStream()
    # Long enough that a busy machine does not end it between the two lines below.
    handler = LoopBatchingHandler(stream, interval=0.5)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record("first"))
    await asyncio.sleep(0)
    handler.handle(record("a turn later"))
    await asyncio.sleep(0)
    assert stream.getvalue() == ""  # waiting for the interval to end
    await asyncio.wait_for(stream.written.wait(), 5)
    assert stream.getvalue() == "first\na turn later\n"
    assert stream.writes == 1
    handler.handle(record("unwritten at exit"))
    handler.flush()  # as logging.shutdown does
    assert stream.getvalue().endswith("a turn later\nunwritten at exit\n")


# A fixed clock for comparing lines: 2026-01-01T00:00:00.123 UTC, and a second later.
CLOCK = (1767225600.123, 1767225601.987)
LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
MESSAGES = ("rpc service=a.B method=C peer=ipv4:127.0.0.1:5 code=OK", '100% é "quoted" %s')


def formatters() -> list[logging.Formatter]:
    return [Formatter(), JSONFormatter()]


def lone_logger(formatter: logging.Formatter, level: int = logging.DEBUG) -> logging.Logger:
    """A logger outside the hierarchy whose only handler is a LoopBatchingHandler."""
    logger = logging.Logger("pyservices.rpc", level)
    handler = LoopBatchingHandler(io.StringIO(), interval=0)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    return logger


def written(logger: logging.Logger) -> str:
    return logger.handlers[0].stream.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("formatter", formatters(), ids=["text", "json"])
def test_a_message_given_to_the_handler_is_written_as_logging_it_writes(
    formatter: logging.Formatter, monkeypatch: pytest.MonkeyPatch
) -> None:
    logged, direct = lone_logger(formatter), lone_logger(type(formatter)())
    for now in CLOCK:
        monkeypatch.setattr(time, "time", lambda now=now: now)
        for level in LEVELS:
            for message in MESSAGES:
                logged.log(level, message)
                handler = direct_handler(direct, level)
                assert handler is direct.handlers[0]
                handler.emit_message(level, direct.name, message)
    assert written(direct) == written(logged)
    assert written(direct).count("\n") == len(CLOCK) * len(LEVELS) * len(MESSAGES)


async def test_messages_given_to_the_handler_and_records_keep_their_order() -> None:
    stream = CountingStream()
    handler = LoopBatchingHandler(stream, interval=0)
    handler.setFormatter(Formatter())
    handler.emit_message(logging.INFO, "a", "one")
    handler.handle(record("two"))
    handler.emit_message(logging.INFO, "a", "three")
    assert stream.getvalue() == ""  # not before the turn ends
    await asyncio.sleep(0)
    assert [line.rpartition(" ")[2] for line in stream.getvalue().splitlines()] == [
        "one",
        "two",
        "three",
    ]
    assert stream.writes == 1


class Collecting(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_no_direct_handler_where_something_else_would_see_the_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert direct_handler(lone_logger(Formatter()), logging.INFO) is not None
    assert direct_handler(lone_logger(Formatter(), logging.WARNING), logging.INFO) is None

    another_handler = lone_logger(Formatter())
    another_handler.addHandler(Collecting())
    assert direct_handler(another_handler, logging.INFO) is None

    parent = lone_logger(JSONFormatter())
    child = logging.Logger("pyservices.rpc.child")
    child.parent = parent
    assert direct_handler(child, logging.INFO) is parent.handlers[0]
    child.addHandler(Collecting())  # e.g. caplog
    assert direct_handler(child, logging.INFO) is None
    child.handlers.clear()
    child.propagate = False  # the parent's handler would not be reached
    assert direct_handler(child, logging.INFO) is None

    logger_filter = lone_logger(Formatter())
    logger_filter.addFilter(lambda r: False)
    assert direct_handler(logger_filter, logging.INFO) is None

    handler_filter = lone_logger(Formatter())
    handler_filter.handlers[0].addFilter(lambda r: False)
    assert direct_handler(handler_filter, logging.INFO) is None

    quiet_handler = lone_logger(Formatter())
    quiet_handler.handlers[0].setLevel(logging.ERROR)
    assert direct_handler(quiet_handler, logging.WARNING) is None

    for other in (logging.Formatter(FORMAT), Formatter("%(message)s")):
        assert direct_handler(lone_logger(other), logging.INFO) is None

    plain = logging.Logger("x")
    plain.addHandler(logging.StreamHandler(io.StringIO()))
    assert direct_handler(plain, logging.INFO) is None

    factory = logging.getLogRecordFactory()
    monkeypatch.setattr(logging, "_logRecordFactory", lambda *a, **k: factory(*a, **k))
    assert direct_handler(lone_logger(Formatter()), logging.INFO) is None
