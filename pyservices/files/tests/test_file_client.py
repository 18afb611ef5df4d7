"""The FileService client as a user's script runs it: a subprocess, no terminal."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from pyservices.files.tests.conftest import Harness

TIMEOUT = 30.0


async def client(harness: Harness, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyservices.files.client",
        "--server",
        harness.address,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_write_then_list(files: Harness, tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(b"some notes\n")
    code, out, err = await client(files, "write", "notes.txt", "--from", str(source))
    assert (code, err) == (0, "")
    assert "File path: uploaded_files/notes.txt" in out
    code, out, _ = await client(files, "write", "hi.txt", "--text", "hello")
    assert code == 0
    code, out, _ = await client(files, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "MODIFIED"]
    assert [line.split()[:2] for line in lines[1:]] == [["hi.txt", "5"], ["notes.txt", "11"]]


async def test_errors_are_one_line_and_exit_1(files: Harness) -> None:
    await client(files, "write", "a.txt", "--text", "one")
    code, _out, err = await client(files, "write", "a.txt", "--text", "two")
    assert code == 1
    assert err.startswith("error: ALREADY_EXISTS: ") and err.count("\n") == 1
    assert "Traceback" not in err
    code, _, err = await client(files, "write", "../evil", "--text", "x")
    assert code == 1 and err.startswith("error: INVALID_ARGUMENT: ")
    code, _, err = await client(files, "write", "b.txt", "--from", "/no/such/file")
    assert code == 1 and err.startswith("error: cannot read")


async def test_hello_time_and_no_prompt_without_terminal(files: Harness) -> None:
    code, out, _ = await client(files, "hello", "Alice")
    assert (code, out) == (0, "Hello, Alice!\n")
    code, out, _ = await client(files, "time")
    assert code == 0 and out.startswith("Server time: ")
    code, out, err = await client(files)
    assert code == 2 and "stdin is not a terminal" in err


async def test_unreachable_server(files: Harness) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyservices.files.client",
        "--server",
        "127.0.0.1:1",
        "time",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 1
    assert err.decode().startswith("error: UNAVAILABLE: cannot reach the server at 127.0.0.1:1")


async def test_text_from_the_server_is_printed_with_bidi_controls_escaped(files: Harness) -> None:
    # A right-to-left override would make "evil<RLO>txt.exe" display as "evilexe.txt".
    code, out, _ = await client(files, "hello", "evil\u202etxt.exe \x1b[2J")
    assert (code, out) == (0, "Hello, evil\\u202etxt.exe \\x1b[2J!\n")
