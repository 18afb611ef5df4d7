"""Plain I/O for when stdin is not a terminal: lines in, lines out, no prompt, no escapes."""

from __future__ import annotations

import asyncio
import codecs
import concurrent.futures
import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

_CHUNK = 64 * 1024


class PlainUI:
    """Reads lines from a file descriptor in a thread; prints each message as one flushed line."""

    def __init__(self, fd: int = 0, out: TextIO | None = None) -> None:
        self._fd = fd
        self._out = out if out is not None else sys.stdout
        self._chunks: asyncio.Queue[bytes | None] | None = None
        self._pending = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._eof = False
        self.output_closed = False

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        reconfigure = getattr(self._out, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(Exception):
                reconfigure(errors="backslashreplace")
        yield

    def _start(self) -> asyncio.Queue[bytes | None]:
        loop = asyncio.get_running_loop()
        # Bounded: the thread blocks when we are behind instead of buffering all of stdin.
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=4)

        def pump() -> None:
            while True:
                try:
                    chunk: bytes | None = os.read(self._fd, _CHUNK) or None
                except OSError:
                    chunk = None
                try:
                    asyncio.run_coroutine_threadsafe(queue.put(chunk), loop).result()
                except (RuntimeError, asyncio.CancelledError, concurrent.futures.CancelledError):
                    # The loop is gone, or cancelled the put while shutting down: we are
                    # exiting. (concurrent.futures.CancelledError is not asyncio's.)
                    return
                if chunk is None:
                    return

        # os.read on the raw descriptor holds no lock of sys.stdin, so this daemon thread
        # can never stop the interpreter from exiting.
        threading.Thread(target=pump, name="stdin-reader", daemon=True).start()
        return queue

    async def read_line(self) -> str | None:
        """The next input line without its line ending, or None at end of input."""
        if self._chunks is None:
            self._chunks = self._start()
        while "\n" not in self._pending:
            if self._eof:
                if not self._pending:
                    return None
                line, self._pending = self._pending, ""
                return line
            chunk = await self._chunks.get()
            if chunk is None:
                self._eof = True
                self._pending += self._decoder.decode(b"", final=True)
            else:
                self._pending += self._decoder.decode(chunk)
        line, _, self._pending = self._pending.partition("\n")
        return line.removesuffix("\r")

    def show(self, line: str) -> None:
        """Print one line and flush it, so a reader sees each message as it arrives."""
        if self.output_closed:
            return
        try:
            self._out.write(line + "\n")
            self._out.flush()
        except (BrokenPipeError, ValueError):
            # Nobody reads our output any more: keep quiet from now on, including at exit.
            self.output_closed = True
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self._out.fileno())
                os.close(devnull)
