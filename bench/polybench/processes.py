"""The processes a run starts: every server is stopped however the run ends."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .paths import ROOT


def log(msg: str) -> None:
    """One progress line on stderr: stdout is the report's."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """A preexec_fn that runs the child on `cpus` only (None: anywhere)."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def child_options(cpus: set[int] | None) -> dict[str, Any]:
    """What every child shares: the repository as its directory, on `cpus` only."""
    return {"cwd": ROOT, "preexec_fn": pinned(cpus)}


class Procs:
    """Every server started, so that all are stopped however the run ends."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(
        self, args: list[str], log_path: Path, cpus: set[int] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start args in a session of its own (so that stop reaches its children), its
        stdout and stderr into log_path."""
        with open(log_path, "wb") as out:
            p = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **child_options(cpus),
            )
        self.running.append(p)
        return p

    def stop(self, p: subprocess.Popen[bytes]) -> None:
        """SIGTERM to p's process group, SIGKILL if it is still there 5 s later."""
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        if p in self.running:
            self.running.remove(p)

    def stop_all(self) -> None:
        for p in list(self.running):
            self.stop(p)


PROCS = Procs()
atexit.register(PROCS.stop_all)


def _on_signal(signum: int, _frame: object) -> None:
    PROCS.stop_all()
    sys.exit(128 + signum)


def stop_all_on_signals() -> None:
    """SIGTERM and SIGINT (Ctrl+C) stop every server, then end the run with 128 + signal."""
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Return once something listens on 127.0.0.1:port; raise if proc exits first, or after
    timeout seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def run_json(
    args: list[str], timeout: float, raw: Path, cpus: set[int] | None = None
) -> dict[str, Any]:
    """Run a command that prints JSON; its stdout is kept in raw, its stderr passes through."""
    try:
        cp = subprocess.run(
            args, stdout=subprocess.PIPE, timeout=timeout, check=False, **child_options(cpus)
        )
        out = cp.stdout
    except subprocess.TimeoutExpired as err:
        out = err.stdout or b""
        raw.write_bytes(out)
        return {"error": f"timed out after {timeout:.0f}s"}
    raw.write_bytes(out)
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        return {"error": f"exit {cp.returncode}, no JSON output"}
    if cp.returncode != 0 and not data.get("error"):
        data["error"] = f"exit {cp.returncode}"
    return data
