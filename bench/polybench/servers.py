"""The Go side of the bench: building its binaries, and starting the chat server under test
or the grpc-go baseline."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from pykit.testing.ports import free_port

from .paths import OUT, ROOT
from .processes import PROCS, wait_port


def build(bindir: Path) -> None:
    """Build the chat server, bench/baseline, bench/loadgen, bench/resilience and nats-server
    (the release go.mod pins) into bindir."""
    for name, pkg in (
        ("chat-server", "./server"),
        ("baseline", "./bench/baseline"),
        ("loadgen", "./bench/loadgen"),
        ("resilience", "./bench/resilience"),
        ("nats-server", "github.com/nats-io/nats-server/v2"),
    ):
        subprocess.run(["go", "build", "-o", str(bindir / name), pkg], cwd=ROOT, check=True)


class Chat:
    """Starts the chat server under test, or the baseline, with the flags this build has."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        helptext = subprocess.run(
            [str(bindir / "chat-server"), "-h"], capture_output=True, text=True, check=False
        )
        have = set(re.findall(r"^\s+-([a-z][a-z-]*)", helptext.stdout + helptext.stderr, re.M))
        # The flags this build of the chat server has (an older one, compared, may lack some).
        self.have = have
        self.flags = ["-data-dir", "", "-log-level", "warn"]
        self.notes: list[str] = []
        for flag, value in (
            ("rate", "0"),
            ("max-connections", "20000"),
            ("max-streams-per-conn", "1000"),
            # Abuse limits off: the load comes from one address, opens
            # thousands of streams at once and joins many rooms.
            ("max-connections-per-ip", "0"),
            ("stream-rate", "0"),
            ("stream-rate-per-ip", "0"),
            ("notice-rate", "0"),
            ("max-rooms", "0"),
            ("max-rooms-per-ip", "0"),
        ):
            if flag in have:
                self.flags += [f"-{flag}", value]
            else:
                self.notes.append(f"chat-server has no -{flag} flag: not passed")

    def server_args(self, addr: str, extra: list[str] | None = None) -> list[str]:
        """The chat server's command line, listening on addr; extra flags come last, so they
        win over the bench's (e.g. -data-dir)."""
        return [str(self.bindir / "chat-server"), "-addr", addr, *self.flags, *(extra or [])]

    def start(
        self, kind: str, tag: str, extra: list[str] | None = None
    ) -> tuple[subprocess.Popen[bytes], str]:
        """Start kind ("polychat" or "baseline", which takes no extra flags) on a free port;
        its log goes to bench/out/<tag>.<kind>.log. Returns the process and its address once
        it listens."""
        port = free_port()
        addr = f"127.0.0.1:{port}"
        if kind == "polychat":
            args = self.server_args(addr, extra)
        else:
            args = [str(self.bindir / "baseline"), "-addr", addr, "-max-lifetime", "10m"]
        p = PROCS.start(args, OUT / f"{tag}.{kind}.log")
        wait_port(port, p)
        return p, addr

    def server_command(self, kind: str) -> str:
        """The command line of kind, as the report shows it."""
        if kind == "polychat":
            return shlex.join(["chat-server", "-addr", "127.0.0.1:PORT", *self.flags])
        return "baseline -addr 127.0.0.1:PORT"
