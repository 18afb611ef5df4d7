"""The services' log lines: their format, and how they reach stderr."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading

from pyservices.logs import FORMAT, Formatter, LoopBatchingHandler


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
    handler = LoopBatchingHandler(stream, interval=0.05)
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
