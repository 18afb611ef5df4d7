"""Both chat clients say why the connection failed in the same few words.

A Go and a Python client see the same failure at once (through the same TCP proxy, or on the
same server), and each prints its status line; the reason in parentheses must be the same,
and the short one a person reads ("connection closed"), not a transport's log text.
"""

from __future__ import annotations

import re
import signal

import pytest

from pykit.testing.ports import free_port
from tests.interop.conftest import ChatServer, Processes
from tests.interop.harness import Proc
from tests.interop.tcpproxy import TcpProxy

LOST = re.compile(r"\*\*\* Connection lost \((.+)\); reconnecting\.\.\.$")
KINDS = ("go", "py")


def welcomed(procs: Processes, server: ChatServer | str) -> dict[str, Proc]:
    clients = {kind: procs.chat_client(kind, server, f"Alice{kind}", "general") for kind in KINDS}
    for kind, client in clients.items():
        client.expect(rf"\*\*\* Welcome, Alice{kind}! You are in room general\.$")
    return clients


def lost_reasons(clients: dict[str, Proc]) -> dict[str, str]:
    reasons = {}
    for kind, client in clients.items():
        match = LOST.search(client.expect(LOST.pattern))
        assert match is not None
        reasons[kind] = match[1]
    return reasons


@pytest.mark.parametrize(
    ("how", "reason"), [("fin", "connection closed"), ("rst", "connection reset by peer")]
)
def test_a_cut_connection(
    procs: Processes, server: ChatServer, proxy: TcpProxy, how: str, reason: str
) -> None:
    clients = welcomed(procs, proxy.address)
    proxy.refuse()
    assert proxy.cut(how) == len(clients)  # type: ignore[arg-type]
    assert lost_reasons(clients) == {kind: reason for kind in KINDS}


def test_a_killed_server(procs: Processes) -> None:
    server = procs.server()
    clients = welcomed(procs, server)
    server.proc.signal(signal.SIGKILL)
    # The kernel closes a killed process's connections with a FIN, or with a RST when it
    # had not read all that its client sent (an HTTP/2 ping, a window update): each
    # connection's own timing, so each client may see either, in the same words.
    reasons = lost_reasons(clients)
    assert set(reasons.values()) <= {"connection closed", "connection reset by peer"}, reasons


@pytest.mark.parametrize(
    ("where", "reason"),
    [("127.0.0.1:{port}", "connection refused"), ("nowhere.invalid:50053", "host name not found")],
)
def test_a_server_not_reached(procs: Processes, where: str, reason: str) -> None:
    address = where.format(port=free_port())
    errors = {}
    for kind in KINDS:
        client = procs.chat_client(kind, address, "Alice", "general")
        assert client.wait() == 1
        errors[kind] = client.stderr_lines
    line = f"error: cannot reach chat server at {address}: {reason}"
    assert errors == {kind: [line] for kind in KINDS}
