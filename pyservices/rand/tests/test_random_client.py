"""The RandomService client as a script runs it: flags, no terminal, clean Ctrl+C."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

from pyservices.rand.tests.conftest import Harness

TIMEOUT = 30.0
LINE = re.compile(r"^#(\d+) (\d+) \(\d\d:\d\d:\d\d\.\d{3}\)$")


async def spawn(harness: Harness, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyservices.rand.client",
        "--server",
        harness.address,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_three_dice_rolls(rand: Harness) -> None:
    proc = await spawn(rand, "--min", "1", "--max", "6", "--count", "3", "--interval", "0.01")
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err
    matches = [LINE.match(line) for line in out.decode().splitlines()]
    assert all(matches) and len(matches) == 3
    assert [int(m[1]) for m in matches if m] == [1, 2, 3]
    assert all(1 <= int(m[2]) <= 6 for m in matches if m)


async def test_bad_range_is_one_line_error(rand: Harness) -> None:
    proc = await spawn(rand, "--min", "9", "--max", "1", "--count", "1")
    try:
        _out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 1
    assert err.decode().startswith("error: INVALID_ARGUMENT: min (9)")
    assert "Traceback" not in err.decode()


async def test_ctrl_c_stops_cleanly_and_server_loop_ends(rand: Harness) -> None:
    proc = await spawn(rand, "--count", "0", "--interval", "60")
    try:
        assert proc.stdout is not None
        first = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
        assert LINE.match(first.decode().strip())
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        assert proc.returncode == 0
        assert err.decode() == "Stopped.\n"
        assert await asyncio.wait_for(rand.ended.get(), TIMEOUT) == ("cancelled", 1)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
