"""Running gRPC's interop cases: every client peer against every server peer, as processes.

Each server runs once per transport on a free loopback port; each cell is one client
process running one case against it, with a bounded time. Cells run a few at a time (the
servers serve them concurrently, as servers do).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pykit.testing.ports import free_port
from tests.interop.harness import STARTUP_TIMEOUT, Proc
from tests.interop.matrix.outcomes import Note, Outcome, failure_reason
from tests.interop.matrix.peers import CASES, Peer, known_failure, not_applicable

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Transport:
    """Plaintext (no files), or TLS with the CA clients trust and the server's key pair."""

    name: str
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True)
class Cell:
    """One client peer running one case against one server peer over one transport."""

    transport: str
    client: str
    server: str
    case: str


class Server:
    """A running interop server peer."""

    def __init__(self, peer: Peer, transport: Transport) -> None:
        self.peer = peer
        self.transport = transport
        self.port = free_port()
        argv = peer.server_argv(self.port, transport.cert, transport.key)
        self.proc = Proc(f"{peer.key} server ({transport.name})", argv, cwd=REPO)
        self._wait_listening(STARTUP_TIMEOUT)

    def _wait_listening(self, timeout: float) -> None:
        """Poll until the port accepts connections: the reference server prints nothing."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.returncode is not None:
                raise RuntimeError(f"{self.proc.name} exited at start: {self.exit_summary()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.proc.name} did not listen on port {self.port} within {timeout}s"
                    ) from None
                time.sleep(0.05)

    def exit_summary(self) -> str:
        last = self.proc.stderr_lines[-1:] or self.proc.lines[-1:] or ["no output"]
        return f"status {self.proc.returncode}, last output: {last[0]}"

    def stop(self, timeout: float) -> str | None:
        """Stop the server with SIGTERM; a sentence when it did not end cleanly, else None."""
        if self.proc.returncode is not None:
            problem = f"{self.proc.name} had exited during the run ({self.exit_summary()})"
            self.proc.stop()
            return problem
        self.proc.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.stop()
            return f"{self.proc.name} did not stop within {timeout}s of SIGTERM"
        # Ours exits 0 after a graceful stop; the reference server dies of the signal.
        if code not in (0, -signal.SIGTERM):
            return f"{self.proc.name} stopped with {self.exit_summary()}"
        return None


def run_case(client: Peer, server: Server, case: str, timeout: float) -> Outcome:
    """Run `case` once with `client` against `server` and judge the result."""
    limit = not_applicable(client, server.peer, case)
    if limit is not None:
        return Outcome("n/a", (limit,))
    known = tuple(k.note for k in client.client_known.get(case, ()))
    argv = client.client_argv(server.port, case, server.transport.ca)
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv, cwd=REPO, capture_output=True, text=True, errors="replace", timeout=timeout
        )
        returncode: int | None = done.returncode
        stdout, stderr = done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        returncode = None
        stdout = _text(expired.stdout)
        stderr = _text(expired.stderr)
    seconds = time.monotonic() - started
    if returncode == 0:
        return Outcome("known" if known else "pass", known, seconds, "passed")
    reason = failure_reason(stderr, stdout, returncode)
    if server.proc.returncode is not None:
        reason += f" (the server had exited: {server.exit_summary()})"
    if (match := known_failure(client, case, reason)) is not None:
        return Outcome("known", known, seconds, f"failed as {match.note.link} describes: {reason}")
    return Outcome("fail", (Note(reason),), seconds, reason)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def combine(runs: Sequence[Outcome]) -> Outcome:
    """One outcome for a cell run several times: any failure wins, then a known issue."""
    seconds = sum(r.seconds for r in runs) / len(runs)
    failures = [r for r in runs if r.status == "fail"]
    if failures:
        detail = f"failed {len(failures)} of {len(runs)} runs: {failures[0].detail}"
        return Outcome("fail", failures[0].notes, seconds, detail)
    hit = [r for r in runs if r.status == "known" and r.detail != "passed"]
    first = runs[0]
    if len(runs) == 1:
        return first
    detail = f"hit the known issue in {len(hit)} of {len(runs)} runs" if hit else "passed"
    return Outcome(first.status, first.notes, seconds, detail)


def run_cells(
    peers: Sequence[Peer],
    transports: Sequence[Transport],
    *,
    jobs: int,
    timeout: float,
    repeat: int = 1,
) -> tuple[dict[Cell, Outcome], list[str]]:
    """Every cell of the matrix, and the servers' problems (a server that crashed, say)."""
    servers: list[Server] = []
    problems: list[str] = []
    results: dict[Cell, Outcome] = {}
    try:
        for transport in transports:
            for peer in peers:
                servers.append(Server(peer, transport))
        work = [
            (Cell(server.transport.name, client.key, server.peer.key, case), client, server)
            for server in servers
            for client in peers
            for case in CASES
        ]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {
                cell: [
                    pool.submit(run_case, client, server, cell.case, timeout) for _ in range(repeat)
                ]
                for cell, client, server in work
            }
            for cell, runs in futures.items():
                results[cell] = combine([run.result() for run in runs])
    finally:
        for server in servers:
            if (problem := server.stop(timeout)) is not None:
                problems.append(problem)
    return results, problems
