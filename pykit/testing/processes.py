"""Running `python -m MODULE` as a child process, the way a person runs a client or server.

Children start in the repository root with this interpreter and unbuffered output, so a test
reads each line as soon as it is printed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


@dataclass
class Result:
    """How a finished child process ended and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment, unbuffered output, and `extra` on top."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


async def spawn(*args: str, **env: str) -> asyncio.subprocess.Process:
    """Start `python -m ARGS` with pipes; the caller must call `kill` in a finally."""
    return await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        *args,
        cwd=REPO,
        env=child_env(**env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_module(
    *args: str, stdin: str | None = None, within: float = 30.0, **env: str
) -> Result:
    """Run `python -m ARGS` to completion, feeding `stdin`."""
    proc = await spawn(*args, **env)
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(stdin.encode() if stdin is not None else b""), within
        )
    finally:
        await kill(proc)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def read_until(stream: asyncio.StreamReader, needle: str, within: float = 15.0) -> str:
    """Read lines until one contains `needle`; returns everything read."""
    seen: list[str] = []

    async def scan() -> None:
        while True:
            line = await stream.readline()
            if not line:
                raise AssertionError(f"stream ended before {needle!r}; got {''.join(seen)!r}")
            seen.append(line.decode())
            if needle in seen[-1]:
                return

    await asyncio.wait_for(scan(), within)
    return "".join(seen)


async def kill(proc: asyncio.subprocess.Process) -> None:
    """End `proc` with SIGKILL if it still runs, and reap it."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
