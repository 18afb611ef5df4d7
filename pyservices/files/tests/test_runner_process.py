"""`python -m pyservices file random streaming` as a process: flags, health, SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from polychat.file.v1 import file_pb2, file_pb2_grpc

TIMEOUT = 30.0
LISTENING = re.compile(r"listening service=(\w+) address=\S+ port=(\d+)")
SERVICES = {
    "file": "polychat.file.v1.FileService",
    "random": "polychat.random.v1.RandomService",
    "streaming": "polychat.streaming.v1.StreamingService",
}


async def test_services_start_report_serving_and_stop_on_sigterm(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyservices",
        *SERVICES,
        *(f"--{name}-addr=127.0.0.1:0" for name in SERVICES),
        "--data-dir",
        str(tmp_path),
        "--file-max-bytes",
        "16",
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        ports: dict[str, int] = {}
        while len(ports) < len(SERVICES):
            line = await asyncio.wait_for(proc.stderr.readline(), TIMEOUT)
            assert line, "server exited before listening"
            if match := LISTENING.search(line.decode()):
                ports[match[1]] = int(match[2])
        for name, service in SERVICES.items():
            async with grpc.aio.insecure_channel(f"127.0.0.1:{ports[name]}") as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                reply = await stub.Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT
                )
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
                if name == "file":  # --file-max-bytes reached the service
                    request = file_pb2.WriteFileRequest(name="big.bin", content=b"x" * 17)
                    with pytest.raises(grpc.aio.AioRpcError) as info:
                        await file_pb2_grpc.FileServiceStub(channel).WriteFile(
                            request, timeout=TIMEOUT
                        )
                    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), TIMEOUT)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
