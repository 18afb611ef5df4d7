"""The chat client over TLS and mutual TLS, and signing in (--login, --token), as a user runs it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from pyclient.tests.fakeserver import FakeChat, running_auth, running_fake
from pyclient.tests.test_cli import finish, line, send
from pykit.testing.pki import PKI
from pykit.testing.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
WAIT = 10.0
# Settings the client reads from the environment; the tests give them explicitly.
CLIENT_ENV = (
    "CHAT_SERVER",
    "CHAT_TOKEN",
    "AUTH_SERVER",
    "POLYCHAT_TLS_CA",
    "POLYCHAT_TLS_CLIENT_CERT",
    "POLYCHAT_TLS_CLIENT_KEY",
)
USERS = {"Alice": "wonderland-7"}


@contextlib.asynccontextmanager
async def client(*args: str, **env: str) -> AsyncIterator[asyncio.subprocess.Process]:
    environ = {k: v for k, v in os.environ.items() if k not in CLIENT_ENV}
    environ.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "pyclient/client.py",
        *args,
        cwd=ROOT,
        env=environ,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def server_credentials(pki: PKI, mutual: bool = False) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials(
        [(pki.server_key.read_bytes(), pki.server_cert.read_bytes())],
        root_certificates=pki.ca.read_bytes() if mutual else None,
        require_client_auth=mutual,
    )


async def chat_then_quit(proc: asyncio.subprocess.Process, fake: FakeChat, name: str) -> None:
    """The client joined: say something, leave, and exit 0 with nothing on stderr."""
    assert (await line(proc)).endswith(f"*** Welcome, {name}! You are in room general.")
    await send(proc, "Hello over TLS\n")
    who, msg = await asyncio.wait_for(fake.received.get(), WAIT)
    assert (who, msg.message) == (name, "Hello over TLS")
    assert proc.stdin is not None
    proc.stdin.close()
    code, out, err = await finish(proc)
    assert (code, out, err) == (0, "", "")


# ---- TLS --------------------------------------------------------------------------------------


async def test_tls(pki: PKI) -> None:
    async with running_fake(server_credentials(pki)) as (fake, port, _):
        async with client("Alice", "--server", f"localhost:{port}", "--ca", str(pki.ca)) as proc:
            await chat_then_quit(proc, fake, "Alice")


async def test_mutual_tls_from_the_environment(pki: PKI) -> None:
    env = {
        "POLYCHAT_TLS_CA": str(pki.ca),
        "POLYCHAT_TLS_CLIENT_CERT": str(pki.client_cert),
        "POLYCHAT_TLS_CLIENT_KEY": str(pki.client_key),
    }
    async with running_fake(server_credentials(pki, mutual=True)) as (fake, port, _):
        async with client("Alice", "general", f"127.0.0.1:{port}", **env) as proc:
            await chat_then_quit(proc, fake, "Alice")


@pytest.mark.parametrize("case", ["wrong CA", "no client certificate", "plaintext"])
async def test_refused_connections_are_one_line(pki: PKI, other_pki: PKI, case: str) -> None:
    mutual = case == "no client certificate"
    flags = {
        "wrong CA": ["--ca", str(other_pki.ca)],
        "no client certificate": ["--ca", str(pki.ca)],
        "plaintext": [],
    }[case]
    async with running_fake(server_credentials(pki, mutual)) as (fake, port, _):
        address = f"localhost:{port}"
        async with client("Alice", "general", address, *flags) as proc:
            code, out, err = await finish(proc)
        assert fake.members == []
    assert (code, out) == (1, "")
    assert err.startswith(f"error: cannot reach chat server at {address}: "), err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    if case != "plaintext":
        assert ": TLS handshake failed" in err, err


async def test_missing_ca_file_is_one_line(tmp_path: Path) -> None:
    async with client("Alice", "--ca", str(tmp_path / "ca.pem")) as proc:
        code, out, err = await finish(proc)
    missing = tmp_path / "ca.pem"
    assert (code, out) == (2, "")
    assert err == f"error: cannot read CA certificate {missing} (--ca): No such file or directory\n"


# ---- sign-in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", [False, True])
async def test_login_reads_the_password_and_attaches_the_token(pki: PKI, tls: bool) -> None:
    creds = server_credentials(pki) if tls else None
    flags = ["--ca", str(pki.ca)] if tls else []
    async with running_auth(USERS, creds) as (auth, auth_port):
        async with running_fake(creds, tokens=auth.tokens) as (fake, port, _):
            async with client(
                "Alice",
                "--login",
                "--server",
                f"localhost:{port}",
                "--auth-server",
                f"localhost:{auth_port}",
                *flags,
            ) as proc:
                # The first line is the password; the lines after it are chat.
                await send(proc, "wonderland-7\n")
                member = await asyncio.wait_for(fake.joined.get(), WAIT)
                assert auth.logins == ["Alice"]
                (token,) = auth.tokens
                assert member.metadata["authorization"] == f"Bearer {token}"
                await chat_then_quit(proc, fake, "Alice")
    assert fake.received.empty()  # the password was never sent as a chat message


async def test_wrong_password_is_one_line() -> None:
    async with running_auth(USERS) as (auth, auth_port):
        async with running_fake(tokens=auth.tokens) as (fake, port, _):
            async with client(
                "Alice",
                "--login",
                "--server",
                f"127.0.0.1:{port}",
                AUTH_SERVER=f"127.0.0.1:{auth_port}",
            ) as proc:
                await send(proc, "not-the-password\nHello\n")
                code, out, err = await finish(proc)
            assert fake.members == [] and fake.joined.empty()
    assert (code, out, err) == (1, "", "error: sign-in failed: invalid username or password\n")


@pytest.mark.parametrize("how", ["--token", "CHAT_TOKEN"])
async def test_a_token_the_chat_server_refuses_is_one_line(how: str) -> None:
    async with running_fake(tokens={"good-token": "Alice"}) as (fake, port, _):
        flags = ["--token", "expired-token"] if how == "--token" else []
        env = {"CHAT_TOKEN": "expired-token"} if how == "CHAT_TOKEN" else {}
        async with client("Alice", "--server", f"127.0.0.1:{port}", *flags, **env) as proc:
            code, out, err = await finish(proc)
        assert fake.members == []
    assert (code, out, err) == (1, "", "error: sign-in failed: invalid or expired session token\n")


async def test_a_valid_token_names_the_member() -> None:
    async with running_fake(tokens={"good-token": "Alice"}) as (fake, port, _):
        # No name given: the token says who this is, and no prompt is needed.
        async with client("--server", f"127.0.0.1:{port}", CHAT_TOKEN="good-token") as proc:
            member = await asyncio.wait_for(fake.joined.get(), WAIT)
            assert member.metadata["authorization"] == "Bearer good-token"
            assert "chat-user" not in member.metadata
            await chat_then_quit(proc, fake, "Alice")


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (
            ["--login"],
            "pw\n",
            "error: --login needs your username: give it as the first argument or with --name\n",
        ),
        (
            ["Alice", "--login"],
            "",
            "error: sign-in failed: no password: stdin ended before its first line\n",
        ),
        (
            ["Alice", "--token", "two words"],
            "",
            "error: sign-in failed: a token is printable ASCII without spaces; check --token\n",
        ),
    ],
)
async def test_sign_in_mistakes_are_one_line(args: list[str], stdin: str, expected: str) -> None:
    async with running_fake() as (fake, port, _):
        async with client(*args, "--server", f"127.0.0.1:{port}") as proc:
            await send(proc, stdin)
            assert proc.stdin is not None
            proc.stdin.close()
            code, out, err = await finish(proc)
        assert fake.members == []
    assert (code, out, err) == (1, "", expected)


async def test_unreachable_auth_server_is_one_line() -> None:
    async with running_fake() as (fake, port, _):
        async with client(
            "Alice", "--login", "--server", f"127.0.0.1:{port}", "--auth-server", "127.0.0.1:1"
        ) as proc:
            await send(proc, "pw\n")
            code, out, err = await finish(proc)
        assert fake.members == []
    assert (code, out) == (1, "")
    assert err.startswith("error: cannot reach auth server at 127.0.0.1:1: "), err
    assert len(err.splitlines()) == 1


async def test_login_and_token_together_is_a_usage_error() -> None:
    async with client("Alice", "--login", "--token", "t") as proc:
        code, _, err = await finish(proc)
    assert code == 2 and "not allowed with argument" in err


# ---- signing out, and the shapes a person types ----------------------------------------------


async def test_login_as_typed_signs_out_on_exit() -> None:
    async with running_auth(USERS) as (auth, auth_port):
        async with running_fake(tokens=auth.tokens) as (fake, port, _):
            # Flags first, then name, room and server: `--login user1 general HOST:PORT`.
            async with client(
                "--login",
                "Alice",
                "general",
                f"127.0.0.1:{port}",
                AUTH_SERVER=f"127.0.0.1:{auth_port}",
            ) as proc:
                await send(proc, "wonderland-7\n")
                member = await asyncio.wait_for(fake.joined.get(), WAIT)
                token = member.metadata["authorization"].removeprefix("Bearer ")
                await chat_then_quit(proc, fake, "Alice")
    # The client exited only after AuthService ended its session.
    assert auth.logouts.get_nowait() == token
    assert token not in auth.tokens


async def test_login_signs_out_when_the_chat_server_cannot_be_reached() -> None:
    async with running_auth(USERS) as (auth, auth_port):
        nowhere = f"127.0.0.1:{free_port()}"
        async with client(
            "Alice", "--login", "general", nowhere, "--auth-server", f"127.0.0.1:{auth_port}"
        ) as proc:
            await send(proc, "wonderland-7\n")
            code, out, err = await finish(proc)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: cannot reach chat server at {nowhere}: "), err
    assert auth.logins == ["Alice"] and auth.logouts.qsize() == 1 and auth.tokens == {}


async def test_a_given_token_is_not_signed_out() -> None:
    # Like the Go client: only a session the client opened itself is ended.
    async with running_auth(USERS) as (auth, auth_port):
        auth.tokens["good-token"] = "Alice"
        async with running_fake(tokens=auth.tokens) as (fake, port, _):
            async with client(
                "--token",
                "good-token",
                "--server",
                f"127.0.0.1:{port}",
                AUTH_SERVER=f"127.0.0.1:{auth_port}",
            ) as proc:
                await chat_then_quit(proc, fake, "Alice")
    assert auth.logouts.empty() and "good-token" in auth.tokens
