"""The StreamingService client as scripts run it: subprocesses, no terminal."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc

from pyservices.streaming.tests.conftest import Harness

TIMEOUT = 30.0


async def spawn(server: str, *args: str, stdin: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyservices.streaming.client",
        "--server",
        server,
        *args,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run(server: str, *args: str) -> tuple[int, str, str]:
    proc = await spawn(server, *args, stdin=asyncio.subprocess.DEVNULL)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_upload_checks_sha256(streaming: Harness, tmp_path: Path) -> None:
    data = os.urandom(2 * 1024 * 1024 + 123)  # three chunks
    source = tmp_path / "example.txt"
    source.write_bytes(data)
    code, out, err = await run(streaming.address, "upload", str(source))
    assert code == 0, err
    digest = hashlib.sha256(data).hexdigest()
    assert out.splitlines() == [
        "Upload response: File example.txt uploaded successfully",
        "File path: streamed_files/example.txt",
        f"SHA-256: {digest} (verified)",
    ]
    assert (streaming.folder / "example.txt").read_bytes() == data

    code, _, err = await run(streaming.address, "upload", str(source))
    assert code == 1 and err.startswith("error: ALREADY_EXISTS: ")
    code, out, _ = await run(streaming.address, "upload", str(source), "--name", "copy.bin")
    assert code == 0 and "File path: streamed_files/copy.bin" in out
    code, _, err = await run(streaming.address, "upload", str(source), "--name", "../x")
    assert code == 1 and err.startswith("error: INVALID_ARGUMENT: ")


class WrongHashServer(streaming_pb2_grpc.StreamingServiceServicer):
    """Takes the whole upload and answers as if stored, with the SHA-256 of other bytes."""

    async def UploadFile(
        self,
        request_iterator: AsyncIterator[streaming_pb2.UploadFileRequest],
        context: grpc.aio.ServicerContext,
    ) -> streaming_pb2.UploadFileResponse:
        name, size = "", 0
        async for request in request_iterator:
            if request.WhichOneof("data") == "metadata":
                name = request.metadata.name
            else:
                size += len(request.chunk)
        return streaming_pb2.UploadFileResponse(
            name=name,
            size=size,
            sha256=hashlib.sha256(b"other bytes").hexdigest(),
            path=f"streamed_files/{name}",
            message=f"File {name} uploaded successfully",
        )


async def test_upload_refuses_a_wrong_sha256(tmp_path: Path) -> None:
    server = grpc.aio.server()
    streaming_pb2_grpc.add_StreamingServiceServicer_to_server(WrongHashServer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        data = os.urandom(1024 * 1024 + 7)  # two chunks
        source = tmp_path / "example.txt"
        source.write_bytes(data)
        code, out, err = await run(f"127.0.0.1:{port}", "upload", str(source))
    finally:
        await server.stop(0)
    assert code == 1
    local = hashlib.sha256(data).hexdigest()
    server_sha = hashlib.sha256(b"other bytes").hexdigest()
    assert err == f"error: SHA-256 mismatch: local {local}, server {server_sha}\n"
    assert "verified" not in out + err
    assert "SHA-256:" not in out


async def test_time_count(streaming: Harness) -> None:
    code, out, _ = await run(streaming.address, "time", "--count", "2", "--interval", "0.01")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert all(re.fullmatch(r"Server time: \d\d:\d\d:\d\d\.\d{3}", line) for line in lines)


async def test_chat_lines_between_two_clients(streaming: Harness) -> None:
    listener = await spawn(streaming.address, "chat", stdin=asyncio.subprocess.PIPE)
    talker = None
    try:
        assert listener.stdout is not None and listener.stdin is not None
        joined = await asyncio.wait_for(listener.stdout.readline(), TIMEOUT)
        assert joined.decode().endswith("] Client(1) has joined the chat\n")

        talker = await spawn(streaming.address, "chat", stdin=asyncio.subprocess.PIPE)
        assert talker.stdin is not None
        line = await asyncio.wait_for(listener.stdout.readline(), TIMEOUT)
        assert line.decode().endswith("] Client(2) has joined the chat\n")
        # Escape sequences from the network are printed neutralised.
        talker.stdin.write(b"Hello everyone! \x1b[31mred\x07\n")
        await talker.stdin.drain()
        line = await asyncio.wait_for(listener.stdout.readline(), TIMEOUT)
        assert re.fullmatch(
            r"\[\d\d:\d\d:\d\d\] Client\(2\): Hello everyone! \\x1b\[31mred\\x07\n",
            line.decode(),
        )
        talker.stdin.close()  # end of input: the talker leaves
        _, talker_err = await asyncio.wait_for(talker.communicate(), TIMEOUT)
        assert talker.returncode == 0, talker_err
        line = await asyncio.wait_for(listener.stdout.readline(), TIMEOUT)
        assert line.decode().endswith("] Client(2) has left the chat\n")

        listener.stdin.close()
        await asyncio.wait_for(listener.communicate(), TIMEOUT)
        assert listener.returncode == 0
    finally:
        for proc in (listener, talker):
            if proc is not None and proc.returncode is None:
                proc.kill()
                await proc.wait()


async def test_no_command_without_terminal_does_not_prompt(streaming: Harness) -> None:
    code, _, err = await run(streaming.address)
    assert code == 2 and "stdin is not a terminal" in err
