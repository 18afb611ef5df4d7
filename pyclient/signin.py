"""Signing in to chat: read the password, get a session token from AuthService, sign out.

The token goes with the chat stream as `authorization: Bearer <token>` metadata; a chat server
started with `-auth-server` checks it with AuthService.ValidateSession and names the member after
the signed-in user. The password is never printed, logged, or kept after the Login call.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import threading

import grpc
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc

from pyclient.session import ChatError
from pykit.channels import ClientTLS, explain_unavailable, open_channel
from pykit.text import sanitize

LOGIN_TIMEOUT = 10.0
# Signing out is best effort (the session expires anyway): it must not hold up the exit.
LOGOUT_TIMEOUT = 2.0
MAX_PASSWORD_BYTES = 64 * 1024


async def read_password_line(fd: int = 0) -> str | None:
    """The first line of `fd` (not a terminal): the password. None at end of input.

    Reads one byte at a time, straight from the descriptor, so not a byte after the newline is
    taken: the lines that follow are the chat messages, read later from the same descriptor.
    A daemon thread does the reading, so a pipe that never delivers cannot keep us from exiting.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes | None] = loop.create_future()

    def deliver(value: bytes | None) -> None:
        if not done.done():
            done.set_result(value)

    def read() -> None:
        line = bytearray()
        result: bytes | None = None
        try:
            while len(line) <= MAX_PASSWORD_BYTES:
                byte = os.read(fd, 1)
                if not byte:
                    result = bytes(line) if line else None
                    break
                if byte == b"\n":
                    result = bytes(line)
                    break
                line += byte
        except OSError:
            result = None
        with contextlib.suppress(RuntimeError):  # the loop is gone: we are exiting
            loop.call_soon_threadsafe(deliver, result)

    threading.Thread(target=read, name="password-reader", daemon=True).start()
    raw = await done
    if raw is None:
        return None
    return raw.decode("utf-8", errors="replace").removesuffix("\r")


def ask_password(prompt: str) -> str:
    """Ask on the terminal without echo. Ctrl+C raises KeyboardInterrupt, Ctrl+D EOFError.

    getpass blocks: call it while nothing else runs, with Python's SIGINT handling in place.
    """
    return getpass.getpass(prompt)


async def sign_in(
    target: str,
    username: str,
    password: str,
    tls: ClientTLS,
    display_address: str,
    rpc_timeout: float = LOGIN_TIMEOUT,
) -> auth_pb2.LoginResponse:
    """AuthService.Login; ChatError (one line) when it fails."""
    async with open_channel(target, tls) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        try:
            return await stub.Login(
                auth_pb2.LoginRequest(username=username, password=password), timeout=rpc_timeout
            )
        except grpc.aio.AioRpcError as err:
            raise _login_error(err, tls, display_address, rpc_timeout) from None


async def sign_out(
    target: str, token: str, tls: ClientTLS, rpc_timeout: float = LOGOUT_TIMEOUT
) -> None:
    """AuthService.Logout for the session `sign_in` opened; a failure is ignored."""
    async with open_channel(target, tls) as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        with contextlib.suppress(grpc.aio.AioRpcError):
            await stub.Logout(auth_pb2.LogoutRequest(session_id=token), timeout=rpc_timeout)


def _login_error(
    err: grpc.aio.AioRpcError, tls: ClientTLS, address: str, timeout: float
) -> ChatError:
    code = err.code()
    details = err.details() or ""
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return ChatError(f"error: sign-in failed: {sanitize(details or 'invalid credentials')}")
    if code == grpc.StatusCode.UNAVAILABLE:
        reason = explain_unavailable(details or "unavailable", tls.enabled)
        return ChatError(f"error: cannot reach auth server at {address}: {sanitize(reason)}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ChatError(
            f"error: cannot reach auth server at {address}: no answer after {timeout:g} s"
        )
    return ChatError(f"error: sign-in failed: {code.name}: {sanitize(details or 'no details')}")
