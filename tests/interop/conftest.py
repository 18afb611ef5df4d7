"""Fixtures that build the real Go binaries and start servers and clients as processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pykit.testing.ports import free_port
from tests.interop.harness import Proc, wait_serving
from tests.interop.tcpproxy import TcpProxy

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def go_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chat server and Go client, built once per test session."""
    out = tmp_path_factory.mktemp("bin")
    for name, pkg in (("chat-server", "./server"), ("chat-client", "./client")):
        subprocess.run(["go", "build", "-o", str(out / name), pkg], cwd=REPO, check=True)
    return out


class ChatServer:
    """A running chat server process."""

    def __init__(self, proc: Proc, address: str, data_dir: Path) -> None:
        self.proc = proc
        self.address = address
        self.data_dir = data_dir


class Processes:
    """Starts servers and clients and kills whatever is left when the test ends."""

    def __init__(self, go_bin: Path, tmp_path: Path) -> None:
        self.go_bin = go_bin
        self.tmp_path = tmp_path
        self.procs: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        """Start `argv` from the repository root; it is killed when the test ends."""
        proc = Proc(name, argv, cwd=REPO, env=env)
        self.procs.append(proc)
        return proc

    def server(
        self,
        *args: str,
        data_dir: Path | None = None,
        port: int = 0,
        env: dict[str, str] | None = None,
    ) -> ChatServer:
        address = f"127.0.0.1:{port or free_port()}"
        data = data_dir or self.tmp_path / "chat-data"
        proc = self.start(
            "chat-server",
            [
                str(self.go_bin / "chat-server"),
                *("-addr", address, "-data-dir", str(data)),
                # No fixed ports: the page and metrics are off unless args turn them on.
                *("-web-addr", "", "-metrics-addr", ""),
                *args,
            ],
            env,
        )
        wait_serving(address, [proc], "chat.ChatService")
        return ChatServer(proc, address, data)

    def chat_client(
        self,
        kind: str,
        server: ChatServer | str,
        name: str,
        room: str,
        env: dict[str, str] | None = None,
    ) -> Proc:
        """A Go ("go") or Python ("py") chat client, started as a user would start it."""
        address = server.address if isinstance(server, ChatServer) else server
        if kind == "go":
            argv = [str(self.go_bin / "chat-client"), name, room, address]
        else:
            argv = [sys.executable, "pyclient/client.py", name, room, address]
        return self.start(f"{kind}-client {name}", argv, env)

    def legacy_client(
        self, server: ChatServer, name: str, generated: Path, *, as_read: bool = False
    ) -> Proc:
        """The documented three-field client; `as_read` sends lines with their line ending."""
        return self.start(
            f"legacy-client {name}",
            [
                sys.executable,
                str(Path(__file__).with_name("legacy_client.py")),
                str(generated),
                server.address,
                name,
                *(["--as-read"] if as_read else []),
            ],
        )

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()


# How many of a process's last stderr lines a failed test shows.
STDERR_TAIL = 40


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """Keep each phase's report on the test, for fixtures to see whether it failed."""
    report: pytest.TestReport = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def procs(request: pytest.FixtureRequest, go_bin: Path, tmp_path: Path) -> Iterator[Processes]:
    processes = Processes(go_bin, tmp_path)
    try:
        yield processes
    finally:
        report = getattr(request.node, "report_call", None)
        processes.stop_all()
        if report is not None and report.failed:
            # What the servers said is often the only clue to why a test failed.
            for proc in processes.procs:
                tail = "\n".join(proc.stderr_lines[-STDERR_TAIL:])
                report.sections.append((f"stderr of {proc.name}", tail))


@pytest.fixture
def server(procs: Processes) -> ChatServer:
    return procs.server()


@pytest.fixture
def proxy(server: ChatServer) -> Iterator[TcpProxy]:
    """A TCP proxy in front of `server` that a test can cut, hold or make refuse."""
    p = TcpProxy(server.address)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture(scope="session")
def documented_stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Python code generated from a copy of the documented three-field chat.proto."""
    out = tmp_path_factory.mktemp("documented")
    proto = Path(__file__).with_name("documented_chat.proto")
    (out / "chat.proto").write_text(proto.read_text())
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{out}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            str(out / "chat.proto"),
        ],
        check=True,
    )
    return out
