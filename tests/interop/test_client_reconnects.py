"""Both chat clients ride out a restart of the real chat server."""

from __future__ import annotations

import signal

import pytest

from pykit.testing.ports import free_port
from tests.interop.conftest import Processes


@pytest.mark.parametrize("kind", ["go", "py"])
def test_client_reconnects_after_a_restart(procs: Processes, kind: str) -> None:
    port = free_port()  # the server restarts on it
    server = procs.server(port=port)
    alice = procs.chat_client(kind, server, "Alice", "general")
    alice.expect(r"\*\*\* Welcome, Alice! You are in room general\.$")
    alice.send("before")

    server.proc.signal(signal.SIGTERM)
    alice.expect(r"\*\*\* Server is shutting down$")
    alice.expect(r"\*\*\* Connection lost \(server is shutting down\); reconnecting\.\.\.$")
    assert server.proc.wait() == 0
    alice.send("during")
    alice.expect(r"^\(pending\) during$")

    server = procs.server(port=port, data_dir=server.data_dir)
    alice.expect(r"\*\*\* Reconnected$")
    # A server that resumes says "Welcome back"; one that does not, "Welcome": same name.
    alice.expect(r"\*\*\* Welcome( back)?, Alice! You are in room general\.$")
    bob = procs.chat_client(kind, server, "Bob", "general")
    bob.expect(r"^\[Alice\]: during$")  # the pending line, now in history
    bob.send("hello again")
    alice.expect(r"^\[Bob\]: hello again$")

    alice.close_stdin()
    assert alice.wait() == 0
    assert alice.stderr_lines == []
    # Never twice. ("before" went just before the shutdown: a server without client_msg_id
    # dedupe may have lost it, and is not sent it again, so that nothing shows twice.)
    assert sum(line == "[Alice]: during" for line in bob.lines) == 1
    assert sum(line == "[Alice]: before" for line in bob.lines) <= 1
