"""Test helpers shared by the logger, auth and users tests: real servers on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from pyservices.runner import Running, start
from pyservices.spec import ServiceSpec, Settings

REPO = Path(__file__).resolve().parents[3]
PYTHON = sys.executable


def make_settings(data_dir: Path, logger_addr: str = "127.0.0.1:1") -> Settings:
    return Settings(
        data_dir=data_dir, addresses={"logger": logger_addr}, max_message_bytes=4 * 1024 * 1024
    )


def free_port() -> int:
    """A loopback port that was free a moment ago (for a child process to listen on)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_on(spec: ServiceSpec, settings: Settings, port: int = 0) -> Running:
    return await start(spec, f"127.0.0.1:{port}", settings)


async def wait_until(
    check: Callable[[], Awaitable[bool]], within: float = 15.0, what: str = "condition"
) -> None:
    """Poll `check` until it is true; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


async def run_module(
    *args: str, stdin: str | None = None, within: float = 30.0, **env: str
) -> Result:
    """Run `python -m ARGS` to completion, feeding `stdin`."""
    proc = await asyncio.create_subprocess_exec(
        PYTHON,
        "-m",
        *args,
        cwd=REPO,
        env=child_env(**env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(stdin.encode() if stdin is not None else b""), within
        )
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


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
    if proc.returncode is None:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
