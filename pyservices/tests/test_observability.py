"""The runner's request log and Prometheus /metrics: what they show, and what they never show."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
from polychat.file.v1 import file_pb2, file_pb2_grpc
from polychat.random.v1 import random_pb2, random_pb2_grpc
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from pykit.testing.ports import free_port
from pykit.testing.processes import REPO, child_env
from pyservices.auth.server import SPEC as AUTH_SPEC
from pyservices.files.server import SPEC as FILE_SPEC
from pyservices.logger.server import SPEC as LOGGER_SPEC
from pyservices.metrics import MetricsServer, serve_metrics
from pyservices.rand.server import SPEC as RANDOM_SPEC
from pyservices.runner import Running
from pyservices.streaming.server import SPEC as STREAMING_SPEC
from pyservices.tests.servers import make_settings, start_on

TIMEOUT = 10.0
FILE_SERVICE = "polychat.file.v1.FileService"
HEALTH_SERVICE = "grpc.health.v1.Health"


@pytest.fixture
async def metrics_server() -> AsyncIterator[MetricsServer]:
    server = serve_metrics("127.0.0.1:0")
    assert server is not None
    yield server
    server.close()


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT) as reply:
        assert reply.status == 200
        return str(reply.read().decode())


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a scrape (0 when it is not there yet)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def test_metrics_endpoint_serves_the_rpc_counters(
    metrics_server: MetricsServer, tmp_path: Path
) -> None:
    files = await start_on(FILE_SPEC, make_settings(tmp_path))
    rand = await start_on(RANDOM_SPEC, make_settings(tmp_path))
    ok = {"grpc_service": FILE_SERVICE, "grpc_method": "SayHello", "grpc_type": "unary"}
    stream = {
        "grpc_service": "polychat.random.v1.RandomService",
        "grpc_method": "StreamRandomNumbers",
        "grpc_type": "server_stream",
    }
    before = await asyncio.to_thread(scrape, metrics_server.port)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{files.port}") as channel:
            stub = file_pb2_grpc.FileServiceStub(channel)
            await stub.SayHello(file_pb2.SayHelloRequest(name="metrics"), timeout=TIMEOUT)
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.SayHello(file_pb2.SayHelloRequest(name="x" * 300), timeout=TIMEOUT)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{rand.port}") as channel:
            interval = duration_pb2.Duration()
            interval.FromMilliseconds(10)
            request = random_pb2.StreamRandomNumbersRequest(
                min=1, max=6, count=3, interval=interval
            )
            numbers = random_pb2_grpc.RandomServiceStub(channel).StreamRandomNumbers(
                request, timeout=TIMEOUT
            )
            assert len([n async for n in numbers]) == 3
    finally:
        await files.stop(0)
        await rand.stop(0)
    after = await asyncio.to_thread(scrape, metrics_server.port)

    def grew(name: str, by: float, **labels: str) -> None:
        delta = sample(after, name, **labels) - sample(before, name, **labels)
        assert delta == by, f"{name} {labels}: grew by {delta}, expected {by}"

    grew("grpc_server_started_total", 2, **ok)
    grew("grpc_server_handled_total", 1, **ok, grpc_code="OK")
    grew("grpc_server_handled_total", 1, **ok, grpc_code="INVALID_ARGUMENT")
    grew("grpc_server_handling_seconds_count", 2, **ok)
    grew("grpc_server_msg_received_total", 2, **ok)
    grew("grpc_server_msg_sent_total", 1, **ok)  # the refused call answered nothing
    grew("grpc_server_handled_total", 1, **stream, grpc_code="OK")
    grew("grpc_server_msg_received_total", 1, **stream)
    grew("grpc_server_msg_sent_total", 3, **stream)
    assert "# TYPE grpc_server_handling_seconds histogram" in after


def test_a_metrics_port_in_use_is_an_error_in_the_log_not_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR, logger="pyservices.metrics"):
            assert serve_metrics(f"127.0.0.1:{port}") is None
    assert f"metrics off: cannot listen on 127.0.0.1:{port}" in caplog.text
    assert serve_metrics("") is None  # empty: off, quietly


async def run_file_service(data_dir: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    """`python -m pyservices file --data-dir DATA_DIR ARGS…` with `env` added; stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pyservices",
        "file",
        "--data-dir",
        str(data_dir),
        *args,
        cwd=REPO,
        env=child_env(**env),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_runner_process_serves_metrics(tmp_path: Path) -> None:
    proc = await run_file_service(
        tmp_path, "--file-addr", "127.0.0.1:0", SERVICES_METRICS_ADDR="127.0.0.1:0"
    )
    try:
        assert proc.stderr is not None
        ports: dict[str, int] = {}
        pattern = re.compile(
            r"(metrics) listening address=\S+ port=(\d+)|service=(file) .*port=(\d+)"
        )
        while len(ports) < 2:
            line = await asyncio.wait_for(proc.stderr.readline(), TIMEOUT * 3)
            assert line, "the runner exited early"
            if match := pattern.search(line.decode()):
                ports[match[1] or match[3]] = int(match[2] or match[4])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{ports['file']}") as channel:
            stub = file_pb2_grpc.FileServiceStub(channel)
            await stub.SayHello(file_pb2.SayHelloRequest(name="p"), timeout=TIMEOUT)
        text = await asyncio.to_thread(scrape, ports["metrics"])
        labels = {"grpc_service": FILE_SERVICE, "grpc_method": "SayHello", "grpc_code": "OK"}
        assert sample(text, "grpc_server_handled_total", **labels) == 1
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT * 3)
        assert proc.returncode == 0, err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# ---- request logging ------------------------------------------------------------------------


@pytest.fixture
async def auth_stack(tmp_path: Path) -> AsyncIterator[tuple[Running, Running]]:
    logger = await start_on(LOGGER_SPEC, make_settings(tmp_path / "logger"))
    auth = await start_on(AUTH_SPEC, make_settings(tmp_path / "auth", f"127.0.0.1:{logger.port}"))
    yield auth, logger
    await auth.stop(0)
    await logger.stop(0)


RPC_LINE = re.compile(
    r"rpc service=(\S+) method=(\w+) type=(\w+) peer=\S+ code=(\w+) duration_ms=[\d.]+"
)


async def test_request_log_has_method_and_code_and_no_secrets(
    auth_stack: tuple[Running, Running],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    auth, _ = auth_stack
    username = f"logcheck{uuid.uuid4().hex[:6]}"
    password = f"Secret-{uuid.uuid4().hex}"
    wrong = f"Wrong-{uuid.uuid4().hex}"
    with caplog.at_level(logging.DEBUG):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{auth.port}") as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            await stub.RegisterUser(
                auth_pb2.RegisterUserRequest(username=username, password=password),
                timeout=TIMEOUT,
            )
            login = await stub.Login(
                auth_pb2.LoginRequest(username=username, password=password), timeout=TIMEOUT
            )
            token = login.session_id
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.Login(
                    auth_pb2.LoginRequest(username=username, password=wrong), timeout=TIMEOUT
                )
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            # The token as a request field and as metadata: neither may be logged.
            await stub.ValidateSession(
                auth_pb2.ValidateSessionRequest(session_id=token),
                metadata=(("authorization", f"Bearer {token}"),),
                timeout=TIMEOUT,
            )
            await stub.Logout(auth_pb2.LogoutRequest(session_id=token), timeout=TIMEOUT)

    lines = [r.getMessage() for r in caplog.records if r.name == "pyservices.rpc"]
    seen = {m.group(2, 4) for line in lines if (m := RPC_LINE.search(line))}
    assert {
        ("RegisterUser", "OK"),
        ("Login", "OK"),
        ("Login", "UNAUTHENTICATED"),
        ("ValidateSession", "OK"),
        ("Logout", "OK"),
    } <= seen, lines
    out, err = capfd.readouterr()
    everything = "\n".join([caplog.text, *(r.getMessage() for r in caplog.records), out, err])
    assert "Login" in everything
    for secret in (password, wrong, token):
        assert secret not in everything


async def test_request_log_shows_stream_message_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rand = await start_on(RANDOM_SPEC, make_settings(tmp_path))
    try:
        with caplog.at_level(logging.INFO, logger="pyservices.rpc"):
            async with grpc.aio.insecure_channel(f"127.0.0.1:{rand.port}") as channel:
                interval = duration_pb2.Duration()
                interval.FromMilliseconds(10)
                request = random_pb2.StreamRandomNumbersRequest(
                    min=1, max=2, count=0, interval=interval
                )
                call = random_pb2_grpc.RandomServiceStub(channel).StreamRandomNumbers(request)
                await call.read()
                await call.read()
                call.cancel()

                async def logged() -> bool:
                    return "method=StreamRandomNumbers" in caplog.text

                for _ in range(200):
                    if await logged():
                        break
                    await asyncio.sleep(0.02)
    finally:
        await rand.stop(0)
    line = next(r.getMessage() for r in caplog.records if "StreamRandomNumbers" in r.getMessage())
    assert "type=server_stream" in line and "code=CANCELLED" in line, line
    assert "received=1 sent=" in line, line


async def test_request_log_counts_a_bidi_stream_written_with_context_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    streaming = await start_on(STREAMING_SPEC, make_settings(tmp_path))
    try:
        with caplog.at_level(logging.INFO, logger="pyservices.rpc"):
            async with grpc.aio.insecure_channel(f"127.0.0.1:{streaming.port}") as channel:
                stub = streaming_pb2_grpc.StreamingServiceStub(channel)

                async def two_messages() -> AsyncIterator[streaming_pb2.ChatRequest]:
                    yield streaming_pb2.ChatRequest(message="one")
                    yield streaming_pb2.ChatRequest(message="two")

                # Alone in the chat: it hears only its own join notice, then leaves.
                events = [e async for e in stub.Chat(two_messages(), timeout=TIMEOUT)]
                assert len(events) == 1
            for _ in range(200):
                if "method=Chat " in caplog.text:
                    break
                await asyncio.sleep(0.02)
    finally:
        await streaming.stop(0)
    line = next(r.getMessage() for r in caplog.records if "method=Chat " in r.getMessage())
    assert "type=bidi_stream" in line and "code=OK" in line, line
    assert line.endswith("received=2 sent=1"), line


@pytest.mark.parametrize(("level", "logged"), [("info", True), ("warning", False)])
async def test_log_level_decides_the_request_log(level: str, logged: bool, tmp_path: Path) -> None:
    port = free_port()
    proc = await run_file_service(
        tmp_path, "--file-addr", f"127.0.0.1:{port}", "--metrics-addr", "", POLYCHAT_LOG_LEVEL=level
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await asyncio.wait_for(channel.channel_ready(), TIMEOUT * 3)
            stub = file_pb2_grpc.FileServiceStub(channel)
            await stub.SayHello(file_pb2.SayHelloRequest(name="p"), timeout=TIMEOUT)
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT * 3)
        assert proc.returncode == 0, err.decode()
        text = err.decode()
        assert ("method=SayHello" in text) is logged, text
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_an_unknown_log_level_is_a_usage_error(tmp_path: Path) -> None:
    proc = await run_file_service(tmp_path, POLYCHAT_LOG_LEVEL="loud")
    _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT * 3)
    assert proc.returncode == 2
    assert err.decode() == (
        'pyservices: error: invalid value "loud" for POLYCHAT_LOG_LEVEL (flag --log-level): '
        "choose from debug, info, warn, error\n"
    )


async def test_health_checks_are_logged_at_debug_and_counted(
    metrics_server: MetricsServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = await start_on(FILE_SPEC, make_settings(tmp_path))
    check = {"grpc_service": HEALTH_SERVICE, "grpc_method": "Check", "grpc_type": "unary"}
    before = await asyncio.to_thread(scrape, metrics_server.port)
    try:
        with caplog.at_level(logging.DEBUG, logger="pyservices.rpc"):
            async with grpc.aio.insecure_channel(f"127.0.0.1:{files.port}") as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                request = health_pb2.HealthCheckRequest(service=FILE_SERVICE)
                reply = await stub.Check(request, timeout=TIMEOUT)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=TIMEOUT)
                assert info.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await files.stop(0)
    after = await asyncio.to_thread(scrape, metrics_server.port)
    lines = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == "pyservices.rpc" and f"{HEALTH_SERVICE} method=Check " in r.getMessage()
    ]
    assert [(level, RPC_LINE.search(m)[4]) for level, m in lines] == [  # type: ignore[index]
        (logging.DEBUG, "OK"),
        (logging.DEBUG, "NOT_FOUND"),
    ], lines
    for name, by, labels in [
        ("grpc_server_started_total", 2, check),
        ("grpc_server_handled_total", 1, {**check, "grpc_code": "OK"}),
        ("grpc_server_handled_total", 1, {**check, "grpc_code": "NOT_FOUND"}),
    ]:
        assert sample(after, name, **labels) - sample(before, name, **labels) == by, (name, labels)
