"""On a terminal, the line being typed survives a lost connection and the reconnect."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator

import pytest

from pykit.testing.ports import free_port
from tests.interop.conftest import REPO, Processes
from tests.interop.ptyproc import PtyProc


@pytest.fixture
def terminals() -> Iterator[list[PtyProc]]:
    started: list[PtyProc] = []
    yield started
    for proc in started:
        proc.stop()


@pytest.mark.parametrize("kind", ["go", "py"])
def test_a_half_typed_line_is_kept_across_a_reconnect(
    procs: Processes, terminals: list[PtyProc], kind: str
) -> None:
    port = free_port()  # the server restarts on it
    server = procs.server(port=port)
    if kind == "go":
        argv = [str(procs.go_bin / "chat-client"), "Alice", "general", server.address]
    else:
        argv = [sys.executable, "pyclient/client.py", "Alice", "general", server.address]
    alice = PtyProc(f"{kind}-client Alice", argv, cwd=REPO)
    terminals.append(alice)
    alice.expect(r"Welcome, Alice! You are in room general\.")
    bob = procs.chat_client("py", server, "Bob", "general")
    bob.expect(r"\*\*\* Welcome, Bob! You are in room general\.$")
    alice.expect(r"Bob joined the room", r"^You:$")

    alice.type("half-")
    alice.expect(r"Bob joined the room", r"^You: half-$")
    server.proc.signal(signal.SIGKILL)
    assert server.proc.wait() == -signal.SIGKILL
    # The status line goes above the line being typed, which stays as it was.
    alice.expect(r"Connection lost \(.+\); reconnecting\.\.\.", r"^You: half-$")

    server = procs.server(port=port, data_dir=server.data_dir)
    alice.expect(r"Connection lost", r"\*\*\* Reconnected", r"^You: half-$", timeout=30)
    alice.type("typed\r")
    bob.expect(r"^\[Alice\]: half-typed$")

    alice.type("/quit\r")
    assert alice.wait() == 0
    assert sum(line == "[Alice]: half-typed" for line in bob.lines) == 1
