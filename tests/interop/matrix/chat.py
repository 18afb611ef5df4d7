"""The chat row of the matrix: every chat client against the Go chat server, as a person uses it.

The Go client, the Python client, the Node.js client (jsinterop/chat.js, on grpc-js) and a
client generated from only the documented three-field `chat.proto`
(tests/interop/legacy_client.py) join one room of a freshly built
chat server, in plaintext and over TLS, and each goes through four steps, each a cell:

- joins: it shows the server's welcome;
- is heard: the line it sends is shown by every other client;
- hears: it shows the line every other client sent;
- leaves: it ends cleanly when its user leaves (`/quit`; the three-field client, which has no
  way to say it leaves, is interrupted), and the others are told.

Every client is a real process driven through stdin and stdout (tests/interop/harness.py);
every wait is bounded.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pykit.testing.ports import free_port
from tests.interop.harness import STARTUP_TIMEOUT, Proc
from tests.interop.matrix.outcomes import Note, Outcome, one_line

REPO = Path(__file__).resolve().parents[3]
LEGACY_CLIENT = REPO / "tests" / "interop" / "legacy_client.py"
NODE_CHAT = ("node", "jsinterop/chat.js")
DOCUMENTED_PROTO = REPO / "tests" / "interop" / "documented_chat.proto"

STEPS = ("joins", "is heard", "hears", "leaves")
RESUME_GRACE = "1s"
ROOM = "general"

PLAINTEXT_ONLY = Note(
    "the documented three-field client (tests/interop/legacy_client.py) speaks plaintext only",
    "",
)


@dataclass(frozen=True)
class ChatClient:
    """One kind of chat client: its column title, the name it chats as, how it starts."""

    key: str
    title: str
    name: str
    tls: bool  # whether it can connect over TLS


CLIENTS = (
    ChatClient("go", "Go client", "Gopher", tls=True),
    ChatClient("py", "Python client", "Pythonista", tls=True),
    ChatClient("js", "Node client", "Noder", tls=True),
    ChatClient("legacy", "three-field client", "Legacy", tls=False),
)


@dataclass(frozen=True)
class ChatTools:
    """What the chat row runs: built binaries, the documented stubs and the certificates."""

    server: Path
    client: Path
    documented_stubs: Path
    ca: Path
    cert: Path
    key: Path


def build(out: Path) -> tuple[Path, Path, Path]:
    """Build the chat server and Go client into `out`, and generate the documented stubs."""
    server, client = out / "chat-server", out / "chat-client"
    for binary, package in ((server, "./server"), (client, "./client")):
        subprocess.run(["go", "build", "-o", str(binary), package], cwd=REPO, check=True)
    stubs = out / "documented"
    stubs.mkdir()
    (stubs / "chat.proto").write_text(DOCUMENTED_PROTO.read_text())
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{stubs}",
            f"--python_out={stubs}",
            f"--grpc_python_out={stubs}",
            str(stubs / "chat.proto"),
        ],
        check=True,
    )
    return server, client, stubs


class _Room:
    """A chat server and the clients in it; every process is stopped by `close`."""

    def __init__(self, tools: ChatTools, tls: bool, timeout: float) -> None:
        self.tools = tools
        self.tls = tls
        self.timeout = timeout
        self.procs: dict[str, Proc] = {}
        port = free_port()
        self.address = f"{'localhost' if tls else '127.0.0.1'}:{port}"
        argv = [
            str(tools.server),
            "-addr",
            f"127.0.0.1:{port}",
            "-data-dir",
            "",
            "-metrics-addr",
            "",
            # How long the room waits before it is told that a dropped client left: the
            # three-field client can only leave by dropping its connection.
            "-resume-grace",
            RESUME_GRACE,
        ]
        if tls:
            argv += ["-tls-cert", str(tools.cert), "-tls-key", str(tools.key)]
        self.server = Proc("chat-server", argv, cwd=REPO)

    def wait_listening(self) -> None:
        self.server.expect("chat server listening", stream="stderr", timeout=STARTUP_TIMEOUT)

    def start(self, client: ChatClient) -> Proc:
        if client.key == "go":
            argv = [str(self.tools.client)]
            argv += ["-ca", str(self.tools.ca)] if self.tls else []
            argv += [client.name, ROOM, self.address]
        elif client.key in {"py", "js"}:
            command = {"py": [sys.executable, "pyclient/client.py"], "js": [*NODE_CHAT]}
            argv = command[client.key]
            argv += ["--ca", str(self.tools.ca)] if self.tls else []
            argv += [client.name, ROOM, self.address]
        else:
            argv = [
                sys.executable,
                str(LEGACY_CLIENT),
                str(self.tools.documented_stubs),
                self.address,
                client.name,
            ]
        proc = Proc(f"{client.title} {client.name}", argv, cwd=REPO)
        self.procs[client.key] = proc
        return proc

    def close(self) -> None:
        for proc in self.procs.values():
            proc.stop()
        self.server.stop()


def _welcome(client: ChatClient) -> str:
    if client.key == "legacy":
        # It has no way to send a name before its first message: the server names it.
        return rf"^\[system\]: Welcome, Client\(\d+\)! You are in room {ROOM}\.$"
    return rf"\*\*\* Welcome, {re.escape(client.name)}! You are in room {ROOM}\.$"


def _left(client: ChatClient) -> str:
    return rf"(>>> |^\[system\]: ){re.escape(client.name)} left the room$"


def _line(client: ChatClient) -> str:
    return f"hello from the {client.title}"


def run_chat(tools: ChatTools, tls: bool, timeout: float) -> dict[tuple[str, str], Outcome]:
    """Every client through every step against one chat server: (client key, step) -> outcome."""
    clients = [c for c in CLIENTS if c.tls or not tls]
    results: dict[tuple[str, str], Outcome] = {
        (c.key, step): Outcome("n/a", (PLAINTEXT_ONLY,))
        for c in CLIENTS
        if c not in clients
        for step in STEPS
    }
    problems: dict[tuple[str, str], list[str]] = {
        (c.key, step): [] for c in clients for step in STEPS
    }

    def check(cell: tuple[str, str], action: Callable[..., object], *args: object) -> bool:
        """Run one bounded wait; a miss is noted against `cell` (its first line)."""
        try:
            action(*args)
        except AssertionError as err:
            problems[cell].append(str(err).splitlines()[0])
            return False
        return True

    def shows(proc: Proc, pattern: str) -> None:
        proc.expect(pattern, timeout=timeout)

    room = _Room(tools, tls, timeout)
    try:
        room.wait_listening()
        present: list[ChatClient] = []
        for client in clients:
            if check((client.key, "joins"), shows, room.start(client), _welcome(client)):
                present.append(client)
            else:
                for step in STEPS[1:]:
                    problems[(client.key, step)].append("it did not join")
        for sender in present:
            room.procs[sender.key].send(_line(sender))
            pattern = rf"^\[{re.escape(sender.name)}\]: {re.escape(_line(sender))}$"
            for receiver in present:
                if receiver is sender:
                    continue
                if not check((receiver.key, "hears"), shows, room.procs[receiver.key], pattern):
                    problems[(sender.key, "is heard")].append(
                        f"the {receiver.title} did not show its line"
                    )
        for i, leaver in enumerate(present):
            proc = room.procs[leaver.key]
            cell = (leaver.key, "leaves")
            if leaver.key == "legacy":
                # The documented protocol has no leave message: its user interrupts it and
                # the connection drops; the room is told once the resume grace is over.
                proc.signal(signal.SIGINT)
                ended = check(cell, _exits, proc, timeout)
            else:
                proc.send("/quit")
                ended = check(cell, _exits_cleanly, proc, timeout)
            if ended:
                for other in present[i + 1 :]:
                    check(cell, shows, room.procs[other.key], _left(leaver))
    finally:
        room.close()
    for cell, found in problems.items():
        status = "fail" if found else "pass"
        notes = (Note(one_line("; ".join(found))),) if found else ()
        results[cell] = Outcome(status, notes)
    return results


def _exits(proc: Proc, timeout: float) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{proc.name} did not exit within {timeout}s") from None


def _exits_cleanly(proc: Proc, timeout: float) -> None:
    code = _exits(proc, timeout)
    if code != 0:
        raise AssertionError(f"{proc.name} exited with status {code}: {proc.stderr_lines[-1:]}")
