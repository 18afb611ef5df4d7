"""`python -m pyservices NAME...` as a real process on loopback ports, for fault tests.

Every service listens on port 0; the ports are read from the "listening" log
lines. Everything the process writes to stderr is kept, line by line, so a test
can wait for a line and check what was (and was not) logged.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from pykit.testing.processes import REPO, child_env

TIMEOUT = 30.0
# The key the process's LoggerService takes events with, so that a test can write to it.
WRITE_KEY = "services-process-test-key"
LISTENING = re.compile(r"listening service=(\w+) address=\S+ port=(\d+)")


class ServicesProcess:
    """A running `python -m pyservices`; use `async with`, or `start` and `stop`."""

    def __init__(self, data_dir: Path, *names: str) -> None:
        self.data_dir = data_dir
        self.names = names
        self.ports: dict[str, int] = {}
        self.lines: list[str] = []
        self.returncode: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pyservices",
            *self.names,
            *(f"--{name}-addr=127.0.0.1:0" for name in self.names),
            "--data-dir",
            str(self.data_dir),
            "--metrics-addr",
            "",
            cwd=REPO,
            env=child_env(LOGGER_WRITE_KEY=WRITE_KEY),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        await self.wait_for(lambda: len(self.ports) == len(self.names), "every service listening")

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while line := (await self._proc.stderr.readline()).decode(errors="replace"):
            if match := LISTENING.search(line):
                self.ports[match[1]] = int(match[2])
            async with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        self.returncode = await self._proc.wait()
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, ready: Callable[[], bool], what: str) -> None:
        """Wait until `ready()` is true, checked at each new stderr line."""

        async def until() -> None:
            async with self._changed:
                while not ready():
                    if self.returncode is not None:
                        raise AssertionError(f"exited before {what}:\n{self.stderr}")
                    await self._changed.wait()

        try:
            await asyncio.wait_for(until(), TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}:\n{self.stderr}") from None

    async def wait_for_line(self, needle: str) -> None:
        await self.wait_for(lambda: any(needle in line for line in self.lines), repr(needle))

    async def stop(self) -> int:
        """SIGTERM, then wait for the exit; returns the exit status."""
        assert self._proc is not None
        if self._proc.returncode is None:
            self._proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._proc.wait(), TIMEOUT)
        finally:
            await self.kill()
        assert self._reader is not None
        await self._reader
        assert self._proc.returncode is not None
        return self._proc.returncode

    async def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()

    async def __aenter__(self) -> ServicesProcess:
        try:
            await self.start()
        except BaseException:
            await self.kill()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.kill()
        if self._reader is not None:
            await self._reader
