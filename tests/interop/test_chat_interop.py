"""The Go server with the Go and Python clients, driven as a person would.

Every client here is a real process reading stdin and writing stdout. A
client is known to be live once it printed its welcome line: from then on the
server has registered it, so anything sent afterwards reaches it.
"""

from __future__ import annotations

import re
import signal

import grpc
import pytest
from polychat.chat import chat_pb2, chat_pb2_grpc

from pykit.testing.ports import free_port
from tests.interop.conftest import ChatServer, Processes
from tests.interop.harness import Proc


def welcomed(proc: Proc, name: str, room: str = "general") -> None:
    proc.expect(rf"\*\*\* Welcome, {re.escape(name)}! You are in room {re.escape(room)}\.")


CLIENT_KINDS = ["go", "py"]


def start(
    procs: Processes,
    kind: str,
    server: ChatServer,
    name: str,
    room: str = "general",
    env: dict[str, str] | None = None,
) -> Proc:
    return procs.chat_client(kind, server, name, room, env)


@pytest.mark.parametrize(("sender", "receiver"), [("go", "py"), ("py", "go")])
def test_messages_cross_languages(
    procs: Processes, server: ChatServer, sender: str, receiver: str
) -> None:
    alice = start(procs, receiver, server, "Alice")
    welcomed(alice, "Alice")
    bob = start(procs, sender, server, "Bob")
    welcomed(bob, "Bob")
    alice.expect(r"^\[\d\d:\d\d:\d\d\] >>> Bob joined the room$")

    bob.send("Hi Alice!")
    alice.expect(r"^\[Bob\]: Hi Alice!$")
    alice.send("Nice to meet you Bob!")
    bob.expect(r"^\[Alice\]: Nice to meet you Bob!$")

    bob.send("/quit")
    assert bob.wait() == 0
    alice.expect(r"^\[\d\d:\d\d:\d\d\] >>> Bob left the room$")
    # No echo: the sender never sees its own text come back.
    assert not any("Hi Alice!" in line for line in bob.lines)


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_end_of_input_leaves_cleanly(procs: Processes, server: ChatServer, kind: str) -> None:
    watcher = start(procs, "go", server, "Watcher")
    welcomed(watcher, "Watcher")
    leaver = start(procs, kind, server, "Leaver")
    welcomed(leaver, "Leaver")
    leaver.send("bye")
    leaver.close_stdin()
    assert leaver.wait() == 0
    watcher.expect(r"^\[Leaver\]: bye$")
    watcher.expect(r">>> Leaver left the room$")


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_interrupt_leaves_cleanly(procs: Processes, server: ChatServer, kind: str) -> None:
    watcher = start(procs, "py", server, "Watcher")
    welcomed(watcher, "Watcher")
    leaver = start(procs, kind, server, "Leaver")
    welcomed(leaver, "Leaver")
    leaver.signal(signal.SIGINT)
    assert leaver.wait() == 0
    watcher.expect(r">>> Leaver left the room$")
    assert not any("Traceback" in line for line in leaver.stderr_lines)


def test_rooms_are_isolated(procs: Processes, server: ChatServer) -> None:
    alice = start(procs, "py", server, "Alice", "red")
    welcomed(alice, "Alice", "red")
    carol = start(procs, "go", server, "Carol", "red")
    welcomed(carol, "Carol", "red")
    bob = start(procs, "go", server, "Bob", "blue")
    welcomed(bob, "Bob", "blue")
    dave = start(procs, "py", server, "Dave", "blue")
    welcomed(dave, "Dave", "blue")

    bob.send("blue secret")
    # Dave got it, so the server has finished fanning it out to room blue.
    dave.expect(r"^\[Bob\]: blue secret$")
    carol.send("red news")
    alice.expect(r"^\[Carol\]: red news$")
    alice_saw = "\n".join(alice.lines)
    assert "blue secret" not in alice_saw
    assert "Bob" not in alice_saw and "Dave" not in alice_saw


@pytest.mark.parametrize("late", CLIENT_KINDS)
def test_late_joiner_gets_history(procs: Processes, server: ChatServer, late: str) -> None:
    alice = start(procs, "go", server, "Alice", "lobby")
    welcomed(alice, "Alice", "lobby")
    listener = start(procs, "py", server, "Listener", "lobby")
    welcomed(listener, "Listener", "lobby")
    alice.send("first")
    alice.send("second")
    listener.expect(r"^\[Alice\]: second$")

    bob = start(procs, late, server, "Bob", "lobby")
    welcomed(bob, "Bob", "lobby")
    bob.expect(r"^--- End of history ---$")
    block = bob.lines[bob.lines.index("--- Recent messages in lobby ---") :]
    assert block[:4] == [
        "--- Recent messages in lobby ---",
        "[Alice]: first",
        "[Alice]: second",
        "--- End of history ---",
    ]


def test_history_survives_a_server_restart(procs: Processes, tmp_path) -> None:
    data = tmp_path / "persisted"
    port = free_port()  # the server restarts on it
    first = procs.server(data_dir=data, port=port)
    alice = start(procs, "go", first, "Alice")
    welcomed(alice, "Alice")
    listener = start(procs, "py", first, "Listener")
    welcomed(listener, "Listener")
    alice.send("remember me")
    listener.expect(r"^\[Alice\]: remember me$")
    first.proc.signal(signal.SIGTERM)
    assert first.proc.wait() == 0

    second = procs.server(data_dir=data, port=port)
    bob = start(procs, "py", second, "Bob")
    welcomed(bob, "Bob")
    bob.expect(r"^\[Alice\]: remember me$")
    bob.expect(r"^--- End of history ---$")


@pytest.mark.parametrize(("first", "second"), [("go", "py"), ("py", "go")])
def test_duplicate_names_are_made_distinct(
    procs: Processes, server: ChatServer, first: str, second: str
) -> None:
    sam = start(procs, first, server, "Sam")
    welcomed(sam, "Sam")
    sam2 = start(procs, second, server, "Sam")
    welcomed(sam2, "Sam(2)")
    sam.expect(r">>> Sam\(2\) joined the room$")
    sam2.send("I am the second Sam")
    sam.expect(r"^\[Sam\(2\)\]: I am the second Sam$")
    sam.send("and I am the first")
    sam2.expect(r"^\[Sam\]: and I am the first$")


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_listen_only_client_receives(procs: Processes, server: ChatServer, kind: str) -> None:
    quiet = start(procs, kind, server, "Quiet")
    welcomed(quiet, "Quiet")
    talker = start(procs, "go" if kind == "py" else "py", server, "Talker")
    welcomed(talker, "Talker")
    talker.send("anyone there?")
    quiet.expect(r"^\[Talker\]: anyone there\?$")


def test_documented_three_field_client(
    procs: Processes, server: ChatServer, documented_stubs
) -> None:
    bob = start(procs, "go", server, "Bob")
    welcomed(bob, "Bob")
    legacy = procs.legacy_client(server, "Legacy", documented_stubs)
    # It is registered on connect, before it ever sends: Bob sees it join.
    bob.expect(r">>> Client\(\d+\) joined the room$")
    legacy.expect(r"^\[system\]: Welcome, Client\(\d+\)! You are in room general\.$")

    legacy.send("hello from the documented protocol")
    bob.expect(r"\*\*\* Client\(\d+\) is now known as Legacy$")
    bob.expect(r"^\[Legacy\]: hello from the documented protocol$")

    bob.send("hi legacy")
    legacy.expect(r"^\[Bob\]: hi legacy$")
    py = start(procs, "py", server, "Pat")
    welcomed(py, "Pat")
    legacy.expect(r"^\[system\]: Pat joined the room$")
    py.send("python says hi")
    legacy.expect(r"^\[Pat\]: python says hi$")


def test_documented_listen_only_client(
    procs: Processes, server: ChatServer, documented_stubs
) -> None:
    legacy = procs.legacy_client(server, "Silent", documented_stubs)
    legacy.expect(r"Welcome, Client\(\d+\)!")
    talker = start(procs, "py", server, "Talker")
    welcomed(talker, "Talker")
    talker.send("for the silent one")
    legacy.expect(r"^\[Talker\]: for the silent one$")


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_unreachable_server_is_one_clear_line(procs: Processes, kind: str) -> None:
    address = f"127.0.0.1:{free_port()}"
    client = start(procs, kind, address, "Nobody")
    assert client.wait(timeout=30) == 1
    assert len(client.stderr_lines) == 1, client.stderr_lines
    assert "cannot reach chat server" in client.stderr_lines[0]
    assert client.lines == []


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_server_shutdown_notifies_clients(procs: Processes, kind: str) -> None:
    server = procs.server()
    # A client that does not reconnect ends with the server's words.
    client = start(procs, kind, server, "Alice", env={"CHAT_NO_RECONNECT": "1"})
    welcomed(client, "Alice")
    server.proc.signal(signal.SIGTERM)
    client.expect(r"\*\*\* Server is shutting down$")
    assert server.proc.wait() == 0
    assert client.wait() == 1
    # One line that says why, and no traceback.
    assert len(client.stderr_lines) == 1, client.stderr_lines
    assert "server is shutting down" in client.stderr_lines[0]


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_escape_sequences_are_neutralised(procs: Processes, server: ChatServer, kind: str) -> None:
    victim = start(procs, kind, server, "Victim")
    welcomed(victim, "Victim")
    mallory = start(procs, "go", server, "Mallory")
    welcomed(mallory, "Mallory")
    # A raw ESC typed into a pipe is sent as-is; the receiver must not emit it.
    mallory.send("\x1b[2Jcleared\x1b]0;pwned\x07")
    line = victim.expect(r"^\[Mallory\]: ")
    assert "\x1b" not in line and "\x07" not in line
    assert line == r"[Mallory]: \x1b[2Jcleared\x1b]0;pwned\x07"


def test_grpcio_client_sees_the_status_for_an_oversized_room(server: ChatServer) -> None:
    """A huge field gets a short INVALID_ARGUMENT a grpcio client can read.

    Echoing the value made the grpc-message trailer larger than grpcio
    accepts, and the client saw "INTERNAL: Stream removed" instead.
    """
    with grpc.insecure_channel(server.address) as channel:
        stub = chat_pb2_grpc.ChatServiceStub(channel)
        call = stub.ChatStream(iter([chat_pb2.ChatMessage(room="R" * 60_000, message="hi")]))
        with pytest.raises(grpc.RpcError) as caught:
            for _ in call:
                pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "message room is 60000 bytes; the limit is 64 bytes"
