"""`python -m pyservices` keeps gRPC core's own log lines out of the services' log."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import grpc
import pytest
from polychat.file.v1 import file_pb2, file_pb2_grpc

from pykit.testing.pki import PKI
from pykit.testing.processes import kill, read_until, spawn

TIMEOUT = 30.0
LISTENING = re.compile(r"listening service=file address=\S+ port=(\d+)")
# gRPC core's own format: severity letter, MMDD, time, thread, file:line]
CORE_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]", re.MULTILINE)


async def test_a_failed_handshake_is_not_logged_by_grpc_core(
    tmp_path: Path, pki: PKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a person starts it: nothing in the environment says how verbose gRPC should be.
    for name in [k for k in os.environ if k.startswith("GRPC_")]:
        monkeypatch.delenv(name)
    proc = await spawn(
        "pyservices",
        "file",
        "--file-addr",
        "127.0.0.1:0",
        "--data-dir",
        str(tmp_path),
        "--metrics-addr",
        "",
        "--tls-cert",
        str(pki.server_cert),
        "--tls-key",
        str(pki.server_key),
    )
    try:
        assert proc.stderr is not None
        match = LISTENING.search(await read_until(proc.stderr, "listening service=file", TIMEOUT))
        assert match
        # A plaintext client against the TLS port: the server's handshake fails.
        async with grpc.aio.insecure_channel(f"127.0.0.1:{match[1]}") as channel:
            stub = file_pb2_grpc.FileServiceStub(channel)
            try:
                await stub.SayHello(file_pb2.SayHelloRequest(name="x"), timeout=5)
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.UNAVAILABLE
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    finally:
        await kill(proc)
    assert not CORE_LINE.search(err.decode()), err.decode()
