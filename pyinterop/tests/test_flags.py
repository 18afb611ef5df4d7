"""Flags of the client and server, parsed the way the reference interop binaries take them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyinterop import client, server
from pykit.testing.pki import PKI


def _usage_error(parse: object, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        parse(argv)  # type: ignore[operator]
    assert exited.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--server_port=0", "--test_case=empty_unary"], "is not a port number"),
        (["--server_port=1"], "--test_case"),
        (["--server_port=1", "--test_case=empty_unary", "--use_tls=maybe"], "'maybe' is not"),
        (
            ["--server_port=1", "--test_case=empty_unary", "--use_tls", "--use_test_ca"],
            "--use_test_ca=true needs --ca_file",
        ),
        (
            ["--server_port=1", "--test_case=empty_unary", "--use_tls=1", "--ca_file=/no/ca"],
            "cannot read --ca_file /no/ca",
        ),
    ],
)
def test_client_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in _usage_error(client.parse, argv, capsys)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port=1", "--tls_key_file=k"], "need --use_tls=true"),
        (["--port=70000"], "is not a port number"),
        (["--port=1", "--use_tls", "--tls_cert_file=/no/c", "--tls_key_file=/no/k"], "cannot read"),
        ([], "--port"),
    ],
)
def test_server_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in _usage_error(server.parse, argv, capsys)


def test_a_file_that_is_not_pem_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = tmp_path / "ca.txt"
    ca.write_text("not a certificate")
    argv = ["--server_port=1", "--test_case=empty_unary", "--use_tls", f"--ca_file={ca}"]
    assert f"--ca_file {ca} is not a PEM file" in _usage_error(client.parse, argv, capsys)


@pytest.mark.parametrize("flag", ["--use_tls", "--use_tls=true", "--use_tls=TRUE", "--use_tls=1"])
def test_boolean_flags_take_the_reference_spellings(flag: str, pki: PKI) -> None:
    options = client.parse(
        ["--server_port=443", "--test_case=large_unary", flag, f"--custom_ca_file={pki.ca}"]
    )
    assert options.tls
    assert options.ca_pem == pki.ca.read_bytes()


def test_plaintext_is_the_default() -> None:
    options = client.parse(["--server_port=8080", "--test_case=empty_unary", "--use_tls=false"])
    assert not options.tls
    assert (options.host, options.port) == ("localhost", 8080)


def test_server_reads_its_key_pair(pki: PKI) -> None:
    options = server.parse(
        [
            "--port=1234",
            "--use_tls=true",
            f"--tls_cert_file={pki.server_cert}",
            f"--tls_key_file={pki.server_key}",
        ]
    )
    assert options.tls == (pki.server_cert.read_bytes(), pki.server_key.read_bytes())
