"""Processes driven through stdin and stdout, the way a person or a script would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# Every wait in these tests is bounded by this many seconds.
DEFAULT_TIMEOUT = 15.0
# How long a server process may take to start serving: a bound, met in a second or two on a
# quiet machine, generous for a loaded one (a Python process imports grpc first).
STARTUP_TIMEOUT = 60.0


def kill_group(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Kill a process started in a session of its own, and its children, if it still runs;
    wait (at most 5 s) for it to be gone."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


class Proc:
    """A child process whose output lines are collected as they arrive."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._new_line = threading.Condition()
        self._proc = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
        self._readers = [
            threading.Thread(target=self._pump, args=(self._proc.stdout, self.lines), daemon=True),
            threading.Thread(
                target=self._pump, args=(self._proc.stderr, self.stderr_lines), daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream, sink: list[str]) -> None:
        try:
            for line in stream:
                with self._new_line:
                    sink.append(line.rstrip("\n"))
                    self._new_line.notify_all()
        except (ValueError, OSError):
            pass  # stop() closed the pipe after its wait: nothing more will come
        finally:
            with self._new_line:
                self._new_line.notify_all()

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while the process runs."""
        return self._proc.poll()

    def send(self, line: str) -> None:
        """Type one line into the process's stdin."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def close_stdin(self) -> None:
        """End of input, as Ctrl+D would give."""
        assert self._proc.stdin is not None
        self._proc.stdin.close()

    def signal(self, sig: int) -> None:
        self._proc.send_signal(sig)

    def expect(
        self,
        pattern: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        stream: str = "stdout",
        start: int = 0,
    ) -> str:
        """Wait for a line matching the regex `pattern` (searched, not anchored) and return it."""
        regex = re.compile(pattern)
        sink = self.lines if stream == "stdout" else self.stderr_lines
        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                for line in sink[start:]:
                    if regex.search(line):
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{self.name}: no {stream} line matching {pattern!r} within {timeout}s\n"
                        f"stdout: {self.lines!r}\nstderr: {self.stderr_lines!r}"
                    )
                if self._proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                    raise AssertionError(
                        f"{self.name} exited ({self._proc.returncode}) before printing "
                        f"{pattern!r}\nstdout: {self.lines!r}\nstderr: {self.stderr_lines!r}"
                    )
                self._new_line.wait(min(remaining, 0.2))

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Wait for the process to exit and for its output to be read; return the exit code."""
        code = self._proc.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return code

    def stop(self) -> None:
        """Kill the process (and its group) if it still runs."""
        kill_group(self._proc)
        # Let the readers reach end of output before their pipes are closed.
        for reader in self._readers:
            reader.join(5)
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


def wait_serving(
    address: str, procs: Sequence[Proc], service: str = "", timeout: float = STARTUP_TIMEOUT
) -> None:
    """Wait until `service` ("": the server as a whole) at `address` answers its health check
    as SERVING. Fails at once, with what the processes printed, if one of them exits."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            exited = [p for p in procs if p.returncode is not None]
            if exited or time.monotonic() > deadline:
                why = "a process exited" if exited else f"not serving within {timeout:g}s"
                printed = "\n".join(
                    f"{p.name} (exit code {p.returncode}): {p.stderr_lines[-20:]!r}" for p in procs
                )
                raise AssertionError(f"{service or 'server'} at {address}: {why}\n{printed}")
            try:
                reply = stub.Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=1, wait_for_ready=True
                )
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise
                continue
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, reply
            return
