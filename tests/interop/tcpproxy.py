"""A TCP proxy between a chat client and the server, which a test drives to break the network.

The proxy runs its own asyncio loop on a thread, so that a test written as plain blocking code
can cut every connection (with a reset or an orderly close), black-hole the bytes of the open
connections in one direction (part-way through, to cut a stream mid-send), and refuse new
connections until told to let them through again. What it does is counted, and a test waits
on those counts (`wait_until`) instead of sleeping: connections accepted, open and refused,
bytes forwarded and dropped in each direction.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from tests.interop.harness import DEFAULT_TIMEOUT

Direction = Literal["up", "down"]  # up: client to server; down: server to client
How = Literal["rst", "fin"]

_CHUNK = 65536

T = TypeVar("T")


def _reset_on_close(writer: asyncio.StreamWriter) -> None:
    """Make closing this connection send RST instead of FIN (SO_LINGER with a zero timeout)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@dataclass
class Counts:
    """What the proxy has done so far. Read it through `TcpProxy.counts` or `wait_until`."""

    accepted: int = 0  # connections forwarded to the server
    open: int = 0  # of those, still open
    refused: int = 0  # connections reset at once because the proxy was refusing
    forwarded: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})
    dropped: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})


class _Link:
    """One client connection and its connection to the server."""

    def __init__(
        self, client: asyncio.StreamWriter, server: asyncio.StreamWriter, proxy: TcpProxy
    ) -> None:
        self.writers = {"up": server, "down": client}
        self.proxy = proxy
        # Bytes still let through in each direction; None: no limit. Beyond it, bytes are
        # read and dropped, as a network that black-holes packets would.
        self.budget: dict[str, int | None] = {"up": None, "down": None}

    async def pump(self, source: asyncio.StreamReader, direction: Direction) -> None:
        sink = self.writers[direction]
        try:
            while chunk := await source.read(_CHUNK):
                budget = self.budget[direction]
                passed = chunk if budget is None else chunk[:budget]
                if budget is not None:
                    self.budget[direction] = budget - len(passed)
                self.proxy._count(
                    direction, forwarded=len(passed), dropped=len(chunk) - len(passed)
                )
                if passed:
                    sink.write(passed)
                    await sink.drain()
            # An orderly close on one side is passed on as one.
            if sink.can_write_eof():
                sink.write_eof()
        except (ConnectionError, OSError):
            self.close("rst")

    def close(self, how: How) -> None:
        for writer in self.writers.values():
            if writer.is_closing():
                continue
            if how == "rst":
                _reset_on_close(writer)
                writer.transport.abort()
            else:
                writer.close()


class TcpProxy:
    """Listens on a loopback port and forwards every connection to `upstream` ("host:port")."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self._upstream = (host, int(port))
        self._state = threading.Condition()
        self._counts = Counts()
        self._links: set[_Link] = set()
        self._handlers: set[asyncio.Task[None]] = set()  # one per accepted connection
        self._refusing = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = self._call(self._listen())
        port = self._server.sockets[0].getsockname()[1]
        self.address = f"127.0.0.1:{port}"

    # ---- control (called from the test's thread) ------------------------------------------

    def cut(self, how: How = "rst") -> int:
        """Close every open connection, on both sides, with a reset or an orderly close (FIN).

        Returns how many connections were cut.
        """

        async def cut() -> int:
            links = list(self._links)
            for link in links:
                link.close(how)
            return len(links)

        return self._call(cut())

    def hold(self, direction: Direction, *, after: int = 0) -> int:
        """Black-hole the open connections in `direction` once `after` more bytes went through.

        The bytes beyond are read and dropped (counted in `dropped`), so the sender sees its
        writes succeed. Connections opened later are not held. Returns how many were held.
        """

        async def hold() -> int:
            for link in self._links:
                link.budget[direction] = after
            return len(self._links)

        return self._call(hold())

    def refuse(self) -> None:
        """Reset every new connection as soon as it is accepted (counted in `refused`)."""
        with self._state:
            self._refusing = True

    def allow(self) -> None:
        """Forward new connections again."""
        with self._state:
            self._refusing = False

    def close(self) -> None:
        """Stop listening, reset every connection and stop the loop."""

        async def close() -> None:
            self._server.close()
            for link in self._links:
                link.close("rst")
            await asyncio.gather(*self._handlers, return_exceptions=True)

        self._call(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(DEFAULT_TIMEOUT)
        self._loop.close()

    # ---- observation ---------------------------------------------------------------------

    @property
    def counts(self) -> Counts:
        """A copy of the counts as they are now."""
        with self._state:
            c = self._counts
            return Counts(c.accepted, c.open, c.refused, dict(c.forwarded), dict(c.dropped))

    def wait_until(
        self, what: str, check: Callable[[Counts], bool], timeout: float = DEFAULT_TIMEOUT
    ) -> Counts:
        """Wait until `check(counts)` holds, and return those counts; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._state:
            while not check(self._counts):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"proxy: {what} not within {timeout}s: {self._counts}")
                self._state.wait(remaining)
        return self.counts

    # ---- the loop's side -----------------------------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(DEFAULT_TIMEOUT)

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._accept, "127.0.0.1", 0)

    def _count(self, direction: Direction | None = None, **changes: int) -> None:
        with self._state:
            for name, delta in changes.items():
                counter = getattr(self._counts, name)
                if isinstance(counter, dict):
                    assert direction is not None
                    counter[direction] += delta
                else:
                    setattr(self._counts, name, counter + delta)
            self._state.notify_all()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        with self._state:
            refusing = self._refusing
        if refusing:
            _reset_on_close(writer)
            writer.transport.abort()
            self._count(refused=1)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            _reset_on_close(writer)
            writer.transport.abort()
            return
        link = _Link(writer, up_writer, self)
        self._links.add(link)
        self._count(accepted=1, open=1)
        try:
            await asyncio.gather(link.pump(reader, "up"), link.pump(up_reader, "down"))
        finally:
            link.close("fin")
            self._links.discard(link)
            self._count(open=-1)
