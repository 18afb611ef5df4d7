"""Chat commands, private messages, actions and line endings, across the real processes.

The Go and Python clients are driven through stdin and stdout as a person would type; the
documented three-field client and a raw grpcio member stand for clients written by others.
A member that must not see something is checked after a later public message: the server
delivers to each member in order, so anything meant for it would have come first.
"""

from __future__ import annotations

import signal

import pytest

from pykit.testing.ports import free_port
from tests.interop import rawchat
from tests.interop.conftest import ChatServer, Processes
from tests.interop.harness import Proc
from tests.interop.test_chat_interop import CLIENT_KINDS, start, welcomed

OTHER = {"go": "py", "py": "go"}


def before(proc: Proc, pattern: str) -> list[str]:
    """The output lines before the first that matches `pattern` (which must come)."""
    line = proc.expect(pattern)
    return proc.lines[: proc.lines.index(line)]


@pytest.mark.parametrize(("sender", "recipient"), [("go", "py"), ("py", "go")])
def test_private_message_is_seen_only_by_its_recipient(
    procs: Processes, server: ChatServer, sender: str, recipient: str
) -> None:
    alice = start(procs, sender, server, "Alice")
    welcomed(alice, "Alice")
    bob = start(procs, recipient, server, "Bob")
    welcomed(bob, "Bob")
    carol = start(procs, sender, server, "Carol")
    welcomed(carol, "Carol")
    alice.expect(r">>> Carol joined the room$")

    alice.send("/msg bob psst, only for you")  # names are matched as people read them
    bob.expect(r"^\[private from Alice\] psst, only for you$")
    alice.expect(r"^\[private to Bob\] psst, only for you$")
    alice.send("now for everyone")
    assert not any("psst" in line for line in before(carol, r"^\[Alice\]: now for everyone$"))
    bob.expect(r"^\[Alice\]: now for everyone$")

    # The answer goes back the other way.
    bob.send("/msg Alice got it")
    alice.expect(r"^\[private from Bob\] got it$")
    bob.expect(r"^\[private to Alice\] got it$")

    # Nobody by that name: a notice to the sender only, and the session goes on.
    alice.send("/msg Zed hello?")
    alice.expect(r'\*\*\* Nobody named "Zed" is in room general; the private message was not sent$')
    alice.send("still here")
    bob.expect(r"^\[Alice\]: still here$")
    assert not any("Zed" in line for line in before(carol, r"^\[Alice\]: still here$"))


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_join_moves_between_rooms_with_history(
    procs: Processes, server: ChatServer, kind: str
) -> None:
    dave = start(procs, OTHER[kind], server, "Dave", "red")
    welcomed(dave, "Dave", "red")
    dave.send("said in red before Alice came")
    watcher = start(procs, OTHER[kind], server, "Watcher")
    welcomed(watcher, "Watcher")
    alice = start(procs, kind, server, "Alice")
    welcomed(alice, "Alice")
    watcher.expect(r">>> Alice joined the room$")

    alice.send("/join red")
    start_at = alice.lines.index(alice.expect(r"\*\*\* Welcome, Alice! You are in room red\.$"))
    alice.expect(r"^--- End of history ---$", start=start_at)
    block = alice.lines[alice.lines.index("--- Recent messages in red ---", start_at) :]
    assert block[:3] == [
        "--- Recent messages in red ---",
        "[Dave]: said in red before Alice came",
        "--- End of history ---",
    ]
    left = watcher.lines.index(watcher.expect(r">>> Alice left the room$"))
    dave.expect(r">>> Alice joined the room$")

    alice.send("hello red")
    dave.expect(r"^\[Alice\]: hello red$")
    watcher.send("anyone in general?")
    dave.send("/who")
    dave.expect(r"\*\*\* 2 members in room red: Alice, Dave$")

    # And back: the general room's history is shown, and red sees Alice leave.
    alice.send("/join general")
    welcomed(alice, "Alice", "general")
    dave.expect(r">>> Alice left the room$")
    alice.expect(r"^\[Watcher\]: anyone in general\?$", start=start_at)
    back = watcher.lines.index(watcher.expect(r">>> Alice joined the room$", start=left))
    assert not any("hello red" in line for line in watcher.lines[:back])
    alice.send("/quit")
    assert alice.wait() == 0
    watcher.expect(r">>> Alice left the room$", start=back)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_join_then_resume_after_a_server_restart(procs: Processes, tmp_path, kind: str) -> None:
    data, port = tmp_path / "persisted", free_port()  # the server restarts on it
    first = procs.server(data_dir=data, port=port)
    alice = start(procs, kind, first, "Alice")
    welcomed(alice, "Alice")
    alice.send("/join red")
    welcomed(alice, "Alice", "red")

    first.proc.signal(signal.SIGTERM)
    assert first.proc.wait() == 0
    alice.expect(r"\*\*\* Connection lost \(")
    second = procs.server(data_dir=data, port=port)
    alice.expect(r"\*\*\* Reconnected$")
    alice.expect(r"\*\*\* Welcome back, Alice! You are in room red\.$")
    eve = start(procs, OTHER[kind], second, "Eve", "red")
    welcomed(eve, "Eve", "red")
    eve.send("after the restart")
    alice.expect(r"^\[Eve\]: after the restart$")
    alice.send("still in red")
    eve.expect(r"^\[Alice\]: still in red$")


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_unknown_commands_never_reach_the_server(
    procs: Processes, server: ChatServer, kind: str
) -> None:
    alice = start(procs, kind, server, "Alice")
    welcomed(alice, "Alice")
    bob = start(procs, OTHER[kind], server, "Bob")
    welcomed(bob, "Bob")
    alice.expect(r">>> Bob joined the room$")
    alice.send("/dance wildly")
    alice.expect(r"\*\*\* unknown command /dance; /help lists them$")
    alice.send("/help")
    alice.expect(r"\*\*\* Commands:$")
    alice.expect(r"^    //TEXT            send TEXT that starts with /$")
    alice.send("//dance is a word too")
    bob.expect(r"^\[Alice\]: /dance is a word too$")
    alice.send("/me waves")
    seen = before(bob, r"^\* Alice waves$")
    assert not any("wildly" in line or "Commands" in line for line in seen)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_who_and_rooms(procs: Processes, server: ChatServer, kind: str) -> None:
    alice = start(procs, kind, server, "Alice")
    welcomed(alice, "Alice")
    bob = start(procs, OTHER[kind], server, "bob")
    welcomed(bob, "bob")
    dave = start(procs, OTHER[kind], server, "Dave", "red")
    welcomed(dave, "Dave", "red")
    alice.expect(r">>> bob joined the room$")
    alice.send("/who")
    alice.expect(r"\*\*\* 2 members in room general: Alice, bob$")
    alice.send("/who red")
    alice.expect(r"\*\*\* 1 member in room red: Dave$")
    alice.send("/rooms")
    alice.expect(r"\*\*\* 2 rooms: general \(2\), red \(1\)$")


def test_seed_style_client_trailing_newline_and_what_it_is_sent(
    procs: Processes, server: ChatServer, documented_stubs
) -> None:
    go = start(procs, "go", server, "Gopher")
    welcomed(go, "Gopher")
    py = start(procs, "py", server, "Pythonista")
    welcomed(py, "Pythonista")
    legacy = procs.legacy_client(server, "Legacy", documented_stubs, as_read=True)
    legacy.expect(r"Welcome, Client\(\d+\)!")
    go.expect(r">>> Client\(\d+\) joined the room$")
    py.expect(r">>> Client\(\d+\) joined the room$")

    legacy.send("hello")  # sent as "hello\n"
    for client in (go, py):
        assert client.expect(r"^\[Legacy\]: ") == "[Legacy]: hello"

    # Three fields are enough to read a private message and an action.
    go.send("/msg Legacy just for you")
    legacy.expect(r"^\[Gopher\]: \[private from Gopher\] just for you$")
    py.send("/me waves at everyone")
    legacy.expect(r"^\[Pythonista\]: \* Pythonista waves at everyone$")
    go.expect(r"^\* Pythonista waves at everyone$")


def test_pasted_paragraph_is_shown_as_continuation_lines(
    procs: Processes, server: ChatServer
) -> None:
    go = start(procs, "go", server, "Gopher")
    welcomed(go, "Gopher")
    py = start(procs, "py", server, "Pythonista")
    welcomed(py, "Pythonista")
    raw = rawchat.join(server.address, "Paster")
    try:
        raw.expect(rawchat.SYSTEM)
        raw.send("Dear all,\r\nthe meeting moved\nto \x1b[1m3pm\x1b[0m.\n")
        for client in (go, py):
            first = client.expect(r"^\[Paster\]: Dear all,$")
            at = client.lines.index(first)
            client.expect(r"^    to ", start=at)
            assert client.lines[at : at + 3] == [
                "[Paster]: Dear all,",
                "    the meeting moved",
                r"    to \x1b[1m3pm\x1b[0m.",
            ]
    finally:
        raw.close()
