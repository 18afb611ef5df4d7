"""Both chat clients ride out a network that fails under them, with the real built server.

Alice (the client under test, Go or Python) reaches the server through a TCP proxy the test
controls (tests/interop/tcpproxy.py); Bob, the other client, is connected directly and is the
member "on the other side". The proxy cuts Alice's connection while she is idle, part-way
through a burst she is sending, part-way through a burst she is receiving, and refuses her
while she types. Each time she must say she lost the connection and that she is back, keep
her name without Bob seeing her leave or join, and every line must be shown exactly once, in
the order it was typed. Every wait ends on an event: a line printed, a server log line, a
proxy count.
"""

from __future__ import annotations

import re

import pytest

from tests.interop.conftest import ChatServer, Processes
from tests.interop.harness import Proc
from tests.interop.tcpproxy import Direction, TcpProxy

OTHER = {"go": "py", "py": "go"}
BURST = 20
# A line of a burst takes about 120 bytes on the wire to the server and about 135 from it
# (HTTP/2 and gRPC framing, a 36-byte client_msg_id, ids and times). A connection held after
# these many bytes passes one line whole and the next in part, then black-holes the rest.
HOLD_AFTER = {"up": 200, "down": 240}


class Room:
    """Alice (behind the proxy) and Bob (direct), both welcomed, having said hello."""

    def __init__(self, procs: Processes, server: ChatServer, proxy: TcpProxy, kind: str) -> None:
        self.server = server
        self.bob = procs.chat_client(OTHER[kind], server, "Bob", "general")
        self.bob.expect(r"\*\*\* Welcome, Bob! You are in room general\.$")
        self.alice = procs.chat_client(kind, proxy.address, "Alice", "general")
        self.alice.expect(r"\*\*\* Welcome, Alice! You are in room general\.$")
        self.bob.expect(r"^\[\d\d:\d\d:\d\d\] >>> Alice joined the room$")
        self.alice.send("hello from Alice")
        self.bob.expect(r"^\[Alice\]: hello from Alice$")
        self.bob.send("hello from Bob")
        self.alice.expect(r"^\[Bob\]: hello from Bob$")

    def server_log(self, pattern: str, start: int = 0) -> str:
        return self.server.proc.expect(pattern, stream="stderr", start=start)

    def alice_is_back(self, start: int) -> None:
        """Alice said she lost the connection and is back, under her own name."""
        self.alice.expect(r"\*\*\* Connection lost \(.+\); reconnecting\.\.\.$", start=start)
        self.alice.expect(r"\*\*\* Reconnected$", start=start)
        self.alice.expect(r"\*\*\* Welcome back, Alice! You are in room general\.$", start=start)

    def finish(self) -> None:
        """Both leave (Bob first, so that Bob's view ends before Alice leaves) and exit 0."""
        for member in (self.bob, self.alice):
            member.close_stdin()
            assert member.wait() == 0, member.stderr_lines
            assert member.stderr_lines == []
        # Alice came back as herself: the room never saw her go, nor a second Alice arrive.
        notices = [
            line for line in self.bob.lines if re.search(r">>> Alice\S* (joined|left)", line)
        ]
        assert len(notices) == 1 and notices[0].endswith(">>> Alice joined the room"), notices
        assert not any("Alice(" in line for line in self.bob.lines + self.alice.lines)
        # Every reconnect resumed the membership; none joined as a new member.
        assert not any("Could not resume" in line for line in self.alice.lines)


def texts(proc: Proc, user: str, lines: slice = slice(None)) -> list[str]:
    """The texts from `user` among the lines `proc` showed (those in `lines`), in order."""
    prefix = f"[{user}]: "
    return [line.removeprefix(prefix) for line in proc.lines[lines] if line.startswith(prefix)]


@pytest.mark.parametrize("how", ["rst", "fin"])
@pytest.mark.parametrize("kind", ["go", "py"])
def test_cut_while_idle(
    procs: Processes, server: ChatServer, proxy: TcpProxy, kind: str, how: str
) -> None:
    room = Room(procs, server, proxy, kind)
    alice, bob = room.alice, room.bob
    mark = len(alice.lines)

    assert proxy.cut(how) == 1
    room.alice_is_back(mark)
    room.server_log(r'msg="client joined".* user=Alice .*resumed=true')
    bob.send("after the cut")
    alice.expect(r"^\[Bob\]: after the cut$")
    alice.send("back again")
    bob.expect(r"^\[Alice\]: back again$")

    room.finish()
    assert proxy.counts.accepted == 2
    assert texts(alice, "Bob") == ["hello from Bob", "after the cut"]
    assert texts(bob, "Alice") == ["hello from Alice", "back again"]
    # Resumed from the last message shown: no second history block.
    assert not any(line.startswith("--- ") for line in alice.lines[mark:])


def cut_mid_burst(room: Room, proxy: TcpProxy, direction: Direction) -> list[str]:
    """Cut Alice's connection part-way through a burst of lines that crosses it in `direction`.

    The far end gets the start of the burst, the next line cut off part-way; the rest goes
    into a black hole (the sender took it as written), then the connection is reset. Alice
    must come back and a last line ("done") must follow the burst. Returns the burst.
    """
    sender, receiver, name = (
        (room.alice, room.bob, "Alice") if direction == "up" else (room.bob, room.alice, "Bob")
    )
    mark = len(room.alice.lines)
    burst = [f"burst {i:02}" for i in range(1, BURST + 1)]
    assert proxy.hold(direction, after=HOLD_AFTER[direction]) == 1
    for line in burst:
        sender.send(line)
    receiver.expect(rf"^\[{name}\]: burst 01$")
    proxy.wait_until("some of the burst dropped", lambda c: c.dropped[direction] > 0)
    assert proxy.cut("rst") == 1

    room.alice_is_back(mark)
    sender.send("done")
    receiver.expect(rf"^\[{name}\]: done$")
    room.finish()
    return burst


@pytest.mark.parametrize("kind", ["go", "py"])
def test_cut_mid_send(procs: Processes, server: ChatServer, proxy: TcpProxy, kind: str) -> None:
    room = Room(procs, server, proxy, kind)
    joined = room.server_log(r'msg="client joined".* user=Alice ')
    stream = re.search(r" stream=(\d+) ", joined)
    assert stream is not None, joined

    burst = cut_mid_burst(room, proxy, "up")

    assert texts(room.bob, "Alice") == ["hello from Alice", *burst, "done"]
    # The cut came mid-send: on the connection that was cut, the server had relayed some of
    # the burst (and the hello before it), not all of it.
    on_first = [
        line
        for line in server.proc.stderr_lines
        if "msg=message " in line and f" stream={stream[1]} " in line
    ]
    assert 1 < len(on_first) < 1 + BURST, on_first


@pytest.mark.parametrize("kind", ["go", "py"])
def test_cut_mid_receive(procs: Processes, server: ChatServer, proxy: TcpProxy, kind: str) -> None:
    room = Room(procs, server, proxy, kind)
    alice, mark = room.alice, len(room.alice.lines)

    burst = cut_mid_burst(room, proxy, "down")

    assert texts(alice, "Bob") == ["hello from Bob", *burst, "done"]
    # The cut came mid-stream: some of the burst was shown before it, the rest replayed after.
    lost = next(i for i in range(mark, len(alice.lines)) if "Connection lost" in alice.lines[i])
    assert 0 < len(texts(alice, "Bob", slice(mark, lost))) < BURST


@pytest.mark.parametrize("kind", ["go", "py"])
def test_lines_typed_while_refused_are_sent_once_in_order(
    procs: Processes, server: ChatServer, proxy: TcpProxy, kind: str
) -> None:
    room = Room(procs, server, proxy, kind)
    alice, bob = room.alice, room.bob
    log_mark, mark = len(server.proc.stderr_lines), len(alice.lines)
    typed = [f"typed offline {i}" for i in range(1, 6)]

    proxy.refuse()
    assert proxy.cut("rst") == 1
    alice.expect(r"\*\*\* Connection lost \(.+\); reconnecting\.\.\.$", start=mark)
    room.server_log(r'msg="client left".* user=Alice .*name_reserved=true', log_mark)
    for line in typed:
        alice.send(line)
        alice.expect(rf"^\(pending\) {line}$", start=mark)
    bob.send("while you were away")
    room.server_log(r"msg=message .* user=Bob ", log_mark)
    # Alice's client has tried to come back and was turned away at least once.
    proxy.wait_until("a reconnect attempt refused", lambda c: c.refused >= 1)
    assert proxy.counts.accepted == 1

    proxy.allow()
    room.alice_is_back(mark)
    alice.expect(r"^\[Bob\]: while you were away$", start=mark)
    alice.send("done")
    bob.expect(r"^\[Alice\]: done$")

    room.finish()
    assert texts(bob, "Alice") == ["hello from Alice", *typed, "done"]
    assert texts(alice, "Bob") == ["hello from Bob", "while you were away"]
