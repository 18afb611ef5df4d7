"""TLS and mutual TLS in the runner, the shared channel helper, the clients and Auth -> Logger."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
from polychat.file.v1 import file_pb2, file_pb2_grpc
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from pykit.channels import explain_unavailable, open_channel
from pykit.testing.pki import PKI
from pykit.testing.polling import wait_until
from pykit.testing.processes import REPO, child_env, run_module
from pykit.tls import ClientTLS, ServerTLS, TLSConfigError
from pyservices.auth.server import SPEC as AUTH_SPEC
from pyservices.files.server import SPEC as FILE_SPEC
from pyservices.logger.server import SPEC as LOGGER_SPEC
from pyservices.runner import Running, start
from pyservices.spec import Settings

TIMEOUT = 10.0
MAX_MESSAGE = 4 * 1024 * 1024

StartFile = Callable[[ServerTLS | None], Awaitable[Running]]


def server_tls(pki: PKI, mutual: bool = False) -> ServerTLS:
    tls = ServerTLS.load(pki.server_cert, pki.server_key, pki.ca if mutual else None)
    assert tls is not None
    return tls


def settings(data_dir: Path, tls: ServerTLS | None, **kw: object) -> Settings:
    return Settings(
        data_dir=data_dir,
        addresses=kw.pop("addresses", {}),  # type: ignore[arg-type]
        max_message_bytes=MAX_MESSAGE,
        server_tls=tls,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def start_file(tmp_path: Path) -> AsyncIterator[StartFile]:
    started: list[Running] = []

    async def _start(tls: ServerTLS | None) -> Running:
        running = await start(FILE_SPEC, "127.0.0.1:0", settings(tmp_path, tls))
        started.append(running)
        return running

    yield _start
    for running in started:
        await running.stop(0)


async def say_hello(port: int, tls: ClientTLS, host: str = "127.0.0.1") -> str:
    async with open_channel(f"{host}:{port}", tls) as channel:
        stub = file_pb2_grpc.FileServiceStub(channel)
        reply = await stub.SayHello(file_pb2.SayHelloRequest(name="TLS"), timeout=TIMEOUT)
    return reply.message


async def refused(port: int, tls: ClientTLS) -> str:
    """The explained reason a call is refused (it must be UNAVAILABLE)."""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await say_hello(port, tls)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    return explain_unavailable(info.value.details() or "", tls.enabled)


async def test_plaintext(start_file: StartFile) -> None:
    running = await start_file(None)
    assert await say_hello(running.port, ClientTLS()) == "Hello, TLS!"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_tls(start_file: StartFile, pki: PKI, host: str) -> None:
    running = await start_file(server_tls(pki))
    assert await say_hello(running.port, ClientTLS.load(pki.ca), host) == "Hello, TLS!"


async def test_mutual_tls(start_file: StartFile, pki: PKI) -> None:
    running = await start_file(server_tls(pki, mutual=True))
    tls = ClientTLS.load(pki.ca, pki.client_cert, pki.client_key)
    assert tls.mutual
    assert await say_hello(running.port, tls) == "Hello, TLS!"


async def test_wrong_ca_is_refused(start_file: StartFile, pki: PKI, other_pki: PKI) -> None:
    running = await start_file(server_tls(pki))
    reason = await refused(running.port, ClientTLS.load(other_pki.ca))
    assert reason.startswith("TLS handshake failed: the server's certificate is not trusted")


async def test_system_roots_do_not_trust_a_private_ca(start_file: StartFile, pki: PKI) -> None:
    running = await start_file(server_tls(pki))
    reason = await refused(running.port, ClientTLS.load(system_roots=True))
    assert reason.startswith("TLS handshake failed")


@pytest.mark.parametrize("client", ["no certificate", "certificate from another CA"])
async def test_mutual_tls_refuses_clients_without_a_trusted_certificate(
    start_file: StartFile, pki: PKI, other_pki: PKI, client: str
) -> None:
    running = await start_file(server_tls(pki, mutual=True))
    if client == "no certificate":
        tls = ClientTLS.load(pki.ca)
    else:
        tls = ClientTLS.load(pki.ca, other_pki.client_cert, other_pki.client_key)
    reason = await refused(running.port, tls)
    assert "TLS handshake failed" in reason


async def test_plaintext_client_and_tls_server_do_not_mix(start_file: StartFile, pki: PKI) -> None:
    tls_server = await start_file(server_tls(pki))
    assert "does it require TLS?" in await refused(tls_server.port, ClientTLS())
    plain_server = await start_file(None)
    reason = await refused(plain_server.port, ClientTLS.load(pki.ca))
    assert reason.startswith("TLS handshake failed: the server does not speak TLS")


def test_server_tls_setup_errors(pki: PKI, other_pki: PKI, tmp_path: Path) -> None:
    assert ServerTLS.load(None, None, None) is None
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello\n")
    cases: list[tuple[tuple[object, object, object], str]] = [
        ((pki.server_cert, None, None), "--tls-key"),
        ((None, pki.server_key, None), "--tls-cert"),
        ((None, None, pki.ca), "--tls-client-ca needs --tls-cert"),
        ((tmp_path / "missing.pem", pki.server_key, None), "cannot read certificate"),
        ((not_pem, pki.server_key, None), "is not a PEM file"),
        ((pki.server_cert, other_pki.server_key, None), "cannot be used together"),
        ((pki.server_cert, pki.server_key, not_pem), "--tls-client-ca"),
    ]
    for (cert, key, ca), expected in cases:
        with pytest.raises(TLSConfigError) as info:
            ServerTLS.load(cert, key, ca)  # type: ignore[arg-type]
        message = str(info.value)
        assert expected in message, message
        assert "\n" not in message


def test_client_tls_setup(pki: PKI, tmp_path: Path) -> None:
    assert not ClientTLS.load().enabled
    assert ClientTLS.load(system_roots=True).enabled
    assert ClientTLS.load(pki.ca).ca_pem == pki.ca.read_bytes()
    env = {
        "POLYCHAT_TLS_CA": str(pki.ca),
        "POLYCHAT_TLS_CLIENT_CERT": str(pki.client_cert),
        "POLYCHAT_TLS_CLIENT_KEY": str(pki.client_key),
    }
    assert ClientTLS.from_env(env).mutual
    assert not ClientTLS.from_env({"POLYCHAT_TLS_CA": ""}).enabled
    with pytest.raises(TLSConfigError, match="needs both --cert and --key"):
        ClientTLS.load(pki.ca, pki.client_cert)
    with pytest.raises(TLSConfigError, match="cannot read CA certificate"):
        ClientTLS.load(tmp_path / "nope.pem")


# ---- the clients, as processes ------------------------------------------------------------


async def test_file_client_over_tls_mtls_and_with_the_wrong_ca(
    start_file: StartFile, pki: PKI, other_pki: PKI
) -> None:
    running = await start_file(server_tls(pki, mutual=True))
    server = f"localhost:{running.port}"
    ok = await run_module(
        "pyservices.files.client",
        "--server",
        server,
        "--cert",
        str(pki.client_cert),
        "--key",
        str(pki.client_key),
        "hello",
        "Ada",
        POLYCHAT_TLS_CA=str(pki.ca),  # the CA from the environment, the rest from flags
    )
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "Hello, Ada!\n", "")

    wrong = await run_module(
        "pyservices.files.client",
        "--server",
        server,
        "--ca",
        str(other_pki.ca),
        "--cert",
        str(pki.client_cert),
        "--key",
        str(pki.client_key),
        "hello",
    )
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert len(wrong.stderr.splitlines()) == 1, wrong.stderr
    assert wrong.stderr.startswith(f"error: UNAVAILABLE: cannot reach the server at {server}: ")
    assert "TLS handshake failed" in wrong.stderr and "Traceback" not in wrong.stderr


FLAGS = "FLAGS"  # where --server and --ca go: before a subcommand, or after a command word


@pytest.mark.parametrize(
    "argv",
    [
        ("pyservices.files.client", FLAGS, "hello"),
        ("pyservices.rand.client", FLAGS, "--count", "1", "--min", "1", "--max", "2"),
        ("pyservices.streaming.client", FLAGS, "time", "--count", "1"),
        ("pyservices.users.client", "get", "1", FLAGS),
        ("pyservices.logger.client", "T", "d", FLAGS),
        ("pyservices.auth.client", "validate", "token", FLAGS),
    ],
    ids=lambda argv: argv[0].split(".")[1],
)
async def test_every_client_takes_tls_flags_and_explains_a_wrong_ca(
    start_file: StartFile, pki: PKI, other_pki: PKI, argv: tuple[str, ...]
) -> None:
    # Any TLS server will do: the handshake fails before the service matters.
    running = await start_file(server_tls(pki))
    flags = ("--server", f"127.0.0.1:{running.port}", "--ca", str(other_pki.ca))
    args = [part for arg in argv for part in (flags if arg == FLAGS else (arg,))]
    result = await run_module(*args)
    assert result.returncode == 1, result
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "cannot reach" in result.stderr and "TLS handshake failed" in result.stderr
    assert "Traceback" not in result.stderr


async def test_client_with_a_missing_ca_file_says_so(tmp_path: Path) -> None:
    result = await run_module("pyservices.files.client", "--ca", str(tmp_path / "ca.pem"), "hello")
    missing = tmp_path / "ca.pem"
    assert result.returncode == 2
    assert result.stderr == (
        f"error: cannot read CA certificate {missing} (--ca): No such file or directory\n"
    )


# ---- the runner as a process ----------------------------------------------------------------


async def test_runner_with_a_missing_certificate_exits_2(tmp_path: Path, pki: PKI) -> None:
    result = await run_module(
        "pyservices",
        "file",
        "--file-addr",
        "127.0.0.1:0",
        "--data-dir",
        str(tmp_path),
        "--metrics-addr",
        "",
        POLYCHAT_TLS_CERT=str(tmp_path / "missing.pem"),
        POLYCHAT_TLS_KEY=str(pki.server_key),
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "cannot read certificate" in lines[0], result.stderr
    assert "missing.pem" in lines[0]


LISTENING = re.compile(r"listening service=file address=\S+ port=(\d+) security=(\w+)")


async def test_runner_serves_mutual_tls(tmp_path: Path, pki: PKI) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
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
        "--tls-client-ca",
        str(pki.ca),
        cwd=REPO,
        env=child_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        while True:
            line = await asyncio.wait_for(proc.stderr.readline(), TIMEOUT * 3)
            assert line, "the runner exited before listening"
            if match := LISTENING.search(line.decode()):
                break
        port, security = int(match[1]), match[2]
        assert security == "mtls"
        tls = ClientTLS.load(pki.ca, pki.client_cert, pki.client_key)
        assert await say_hello(port, tls, "localhost") == "Hello, TLS!"
        assert "TLS handshake failed" in await refused(port, ClientTLS.load(pki.ca))
        proc.terminate()
        await asyncio.wait_for(proc.communicate(), TIMEOUT * 3)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


# ---- AuthService -> LoggerService over mutual TLS -------------------------------------------


async def test_auth_reaches_logger_over_mutual_tls(tmp_path: Path, pki: PKI) -> None:
    mtls = server_tls(pki, mutual=True)
    client = ClientTLS.load(pki.ca, pki.client_cert, pki.client_key)
    logger = await start(LOGGER_SPEC, "127.0.0.1:0", settings(tmp_path / "logger", mtls))
    auth = await start(
        AUTH_SPEC,
        "127.0.0.1:0",
        settings(
            tmp_path / "auth",
            mtls,
            addresses={"logger": f"localhost:{logger.port}"},
            client_tls=client,
        ),
    )
    try:
        async with open_channel(f"localhost:{auth.port}", client) as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            await stub.Login(
                auth_pb2.LoginRequest(username="user1", password="password1"), timeout=TIMEOUT
            )

        async with open_channel(f"localhost:{logger.port}", client) as channel:
            logs = logger_pb2_grpc.LoggerServiceStub(channel)

            async def logged_in() -> bool:
                reply = await logs.QueryLogs(
                    logger_pb2.QueryLogsRequest(event_type="SESSION_STARTED"), timeout=TIMEOUT
                )
                return len(reply.entries) == 1

            await wait_until(logged_in, within=20, what="the login event over mutual TLS")
    finally:
        await auth.stop(0)
        await logger.stop(0)
