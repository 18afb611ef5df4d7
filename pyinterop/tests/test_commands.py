"""`python -m pyinterop server|client` as the matrix runs them: processes, flags, exit codes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pykit.testing.pki import PKI
from pykit.testing.ports import free_port
from pykit.testing.processes import kill, read_until, run_module, spawn


@pytest.fixture
async def tls_server(pki: PKI) -> AsyncIterator[int]:
    """`python -m pyinterop server --use_tls=true` on a free port; its port."""
    port = free_port()
    proc = await spawn(
        "pyinterop",
        "server",
        f"--port={port}",
        "--host=127.0.0.1",
        "--use_tls=true",
        f"--tls_cert_file={pki.server_cert}",
        f"--tls_key_file={pki.server_key}",
    )
    try:
        assert proc.stdout is not None
        await read_until(proc.stdout, f"listening on port {port} (TLS)")
        yield port
    finally:
        await kill(proc)


def _tls_client(port: int, ca: object, override: str, case: str = "large_unary") -> list[str]:
    return [
        "pyinterop",
        "client",
        "--server_host=127.0.0.1",
        f"--server_port={port}",
        f"--test_case={case}",
        "--use_tls=true",
        "--use_test_ca=true",
        f"--ca_file={ca}",
        f"--server_host_override={override}",
    ]


async def test_client_passes_over_tls_with_the_host_override(tls_server: int, pki: PKI) -> None:
    result = await run_module(*_tls_client(tls_server, pki.ca, "localhost"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PASS large_unary (")
    assert result.stderr == ""


async def test_a_certificate_for_another_name_fails_in_one_line(tls_server: int, pki: PKI) -> None:
    result = await run_module(*_tls_client(tls_server, pki.ca, "elsewhere.example"))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("FAIL large_unary: unexpected status UNAVAILABLE")


async def test_unreachable_server_fails_in_one_line() -> None:
    port = free_port()
    result = await run_module(
        "pyinterop", "client", f"--server_port={port}", "--test_case=empty_unary"
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "FAIL empty_unary: unexpected status UNAVAILABLE"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["client", "--server_port=1", "--test_case=bogus"], "unknown --test_case 'bogus'"),
        (["server", "--port=1", "--use_tls=true"], "needs --tls_cert_file and --tls_key_file"),
        (["serve"], "unknown command 'serve'"),
    ],
)
async def test_bad_usage_is_one_line_and_status_2(args: list[str], message: str) -> None:
    result = await run_module("pyinterop", *args)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


async def test_server_stops_cleanly_on_sigterm() -> None:
    port = free_port()
    proc = await spawn("pyinterop", "server", f"--port={port}", "--host=127.0.0.1")
    try:
        assert proc.stdout is not None
        await read_until(proc.stdout, f"listening on port {port} (plaintext)")
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        await kill(proc)
