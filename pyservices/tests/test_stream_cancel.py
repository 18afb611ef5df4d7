"""Server-streaming calls cut off mid-stream, by the client or by their deadline.

grpc.aio releases a call as soon as the call's task ends. An async-generator
method cut off while gRPC was writing one of its responses stays suspended at
its `yield`, and Python closes it only later, from another task; the request
log then asked the released call for its peer, and the process died of a
segfault in grpc's C core. The request guard and the observing now run such a
method as one that writes its responses (`pyservices.handlers.as_writer`), so
the method and the observers finish inside the call.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest

from pykit.testing.processes import kill, read_until, spawn
from pyservices.guard import GuardedServer
from pyservices.observe import Call, ObservedServer, Observer
from pyservices.tests.endless_stream import CHUNK, METHOD, SERVICE

TIMEOUT = 10.0
DEADLINE = 0.1  # of the calls cut off by their deadline
CUTS = 20  # calls cut off per way of cutting one off, in the process test
# What the server can tell of a call cut off: a client's deadline may fire, and cancel
# the call, just before the server's own copy of it does.
CUT_OFF = {grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED}

Stub = Callable[..., grpc.aio.UnaryStreamCall]


class TaskRecorder(Observer):
    """Which task each call starts and finishes in, and the code it finishes with."""

    def __init__(self) -> None:
        self.calls: dict[Call, tuple[asyncio.Task[object] | None, ...]] = {}
        self.codes: list[grpc.StatusCode] = []
        self._finished = asyncio.Event()

    def started(self, call: Call) -> None:
        self.calls[call] = (asyncio.current_task(),)

    def finished(self, call: Call) -> None:
        self.calls[call] += (asyncio.current_task(),)
        self.codes.append(call.code)
        self._finished.set()

    async def all_finished(self) -> None:
        while len(self.codes) < len(self.calls):
            self._finished.clear()
            await self._finished.wait()


async def _read(call: grpc.aio.UnaryStreamCall, most: int | None = None) -> int:
    """Read up to `most` responses (None: until the call ends); returns how many."""
    received = 0
    try:
        while most is None or received < most:
            if await call.read() is grpc.aio.EOF:
                break
            received += 1
    except grpc.aio.AioRpcError:
        pass
    return received


async def _client_cancels(stub: Stub) -> tuple[grpc.StatusCode, int]:
    call = stub(b"")
    received = await _read(call, 1)
    call.cancel()
    return await call.code(), received


async def _deadline_unread(stub: Stub) -> tuple[grpc.StatusCode, int]:
    # One response, then no more reading: the server's writes soon wait on flow
    # control, and the deadline fails the one in progress.
    call = stub(b"", timeout=DEADLINE)
    received = await _read(call, 1)
    return await call.code(), received


async def _deadline_reading(stub: Stub) -> tuple[grpc.StatusCode, int]:
    call = stub(b"", timeout=DEADLINE)
    received = await _read(call)
    return await call.code(), received


CUTTERS = {
    "client cancels": (_client_cancels, grpc.StatusCode.CANCELLED),
    "deadline, client stops reading": (_deadline_unread, grpc.StatusCode.DEADLINE_EXCEEDED),
    "deadline, client reading": (_deadline_reading, grpc.StatusCode.DEADLINE_EXCEEDED),
}


@pytest.mark.parametrize("cut", CUTTERS)
async def test_a_cut_off_stream_ends_inside_its_call(cut: str) -> None:
    recorder = TaskRecorder()
    closed_in: list[asyncio.Task[object] | None] = []

    async def endless(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        try:
            while True:
                yield CHUNK
        finally:
            closed_in.append(asyncio.current_task())

    server = grpc.aio.server()
    # Composed as the runner composes them.
    GuardedServer(ObservedServer(server, recorder)).add_registered_method_handlers(
        SERVICE, {"Stream": grpc.unary_stream_rpc_method_handler(endless)}
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            cutter, code = CUTTERS[cut]
            # A call its deadline cuts before any response may never reach the method;
            # one answered call did.
            for _ in range(10):
                got, received = await cutter(channel.unary_stream(METHOD))
                assert got == code
                if received:
                    break
            assert received, "no call was answered before it was cut off"
            await asyncio.wait_for(recorder.all_finished(), TIMEOUT)
    finally:
        await server.stop(None)

    assert set(recorder.codes) <= CUT_OFF
    if code == grpc.StatusCode.CANCELLED:
        assert recorder.codes[-1] == code
    # Each call's generator was closed, and the observers told, in the call's own task:
    # before grpc.aio released the call.
    for started_in, finished_in in recorder.calls.values():
        assert finished_in is started_in
    assert sorted(map(id, closed_in)) == sorted(id(t[0]) for t in recorder.calls.values())


async def test_the_services_process_survives_streams_cut_off_mid_write(tmp_path: Path) -> None:
    """The crash as it happened: the request log of a real process reads each call's peer."""
    proc = await spawn("pyservices.tests.endless_stream", str(tmp_path / "data"))
    try:
        listening = await read_until(proc.stderr, "listening service=endless")  # type: ignore[arg-type]
        port = re.search(r"port=(\d+)", listening)
        assert port is not None, listening
        answered = 0
        lost: str | None = None
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port[1]}") as channel:
            stub = channel.unary_stream(METHOD)
            for cut, (cutter, code) in CUTTERS.items():
                for _ in range(CUTS):
                    got, received = await cutter(stub)
                    if got != code:  # the server is gone: its exit status says why
                        lost = lost or f"{cut}: {got}"
                    answered += received > 0
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        await kill(proc)
    log = err.decode(errors="replace")

    assert proc.returncode == 0, f"exit status {proc.returncode}:\n{log[-3000:]}"
    assert lost is None, lost
    # Every call that reached the method is logged once, as cut off.
    logged = re.findall(rf"rpc service={SERVICE} method=Stream .* code=(\w+)", log)
    assert answered <= len(logged) <= len(CUTTERS) * CUTS
    assert set(logged) <= {c.name for c in CUT_OFF}
