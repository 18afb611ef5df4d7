"""`python -m pyservices.auth.client [login|register|validate] ...`: talk to AuthService.

login (the default) signs in, keeps the session until Ctrl+C, SIGTERM or (when
stdin is not a terminal) end of input, then logs out. On a terminal it prompts
for the username and password; otherwise the password is the first line of
stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import signal
import sys
import threading

import grpc
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc

from pykit import config
from pykit.channels import (
    explain_unavailable,
    uses_tls,
)
from pykit.chatwire import DEFAULT_AUTH_SERVER
from pykit.cli import add_server_arguments, channel_or_exit, run_client
from pykit.text import sanitize

DEFAULT_SERVER = DEFAULT_AUTH_SERVER
DEFAULT_USERNAME = "user1"
TIMEOUT_SECONDS = 10.0
COMMANDS = ("login", "register", "validate")


class InputClosed(Exception):
    """stdin ended before a password was read."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    command = "login"
    if argv and argv[0] in COMMANDS:
        command, argv = argv[0], argv[1:]
    parser = config.ArgumentParser(
        prog=f"python -m pyservices.auth.client {command}",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    add_server_arguments(parser, env="AUTH_SERVER", default=DEFAULT_SERVER, what="AuthService")
    if command == "login":
        parser.add_argument("--username", help=f"skip the prompt (default: {DEFAULT_USERNAME})")
    if command == "register":
        parser.add_argument("username", metavar="USER", help="the new user's name")
    if command in ("login", "register"):
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin, even on a terminal",
        )
    if command == "validate":
        parser.add_argument("session_id", metavar="TOKEN", help="a session token")
    args = parser.parse_args(argv)
    args.command = command
    return args


def read_password(args: argparse.Namespace, prompt: str) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise InputClosed
        return line.rstrip("\r\n")
    return getpass.getpass(prompt)


def read_username(args: argparse.Namespace) -> str:
    if args.username is not None:
        return str(args.username)
    if sys.stdin.isatty() and not args.password_stdin:
        return input(f"Username [{DEFAULT_USERNAME}]: ").strip() or DEFAULT_USERNAME
    return DEFAULT_USERNAME


def rpc_error(what: str, err: grpc.aio.AioRpcError, server: str, tls: bool = False) -> str:
    if err.code() == grpc.StatusCode.UNAVAILABLE:
        reason = explain_unavailable(err.details() or "unavailable", tls)
        return f"{what} failed: cannot reach AuthService at {server}: {sanitize(reason)}"
    return f"{what} failed: {sanitize(err.details() or err.code().name)}"


def watch_for_shutdown() -> asyncio.Event:
    """An event set on SIGINT, SIGTERM, or end of stdin when stdin is not a terminal.

    Installed before the session is announced, so a Ctrl+C right after the announcement is a
    clean logout rather than a KeyboardInterrupt.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not sys.stdin.isatty():

        def drain_stdin() -> None:
            # A daemon thread: a blocked read must not keep the process alive.
            while sys.stdin.readline():
                pass
            with contextlib.suppress(RuntimeError):  # the loop is gone: we are exiting
                loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=drain_stdin, name="stdin-eof", daemon=True).start()
    return stop


async def wait_for_shutdown(stop: asyncio.Event) -> None:
    """Wait for `stop` (see watch_for_shutdown), then give SIGINT and SIGTERM back."""
    loop = asyncio.get_running_loop()
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def login(stub: auth_pb2_grpc.AuthServiceStub, args: argparse.Namespace) -> int:
    username = read_username(args)
    password = read_password(args, f"Password for {username}: ")
    try:
        response = await stub.Login(
            auth_pb2.LoginRequest(username=username, password=password), timeout=TIMEOUT_SECONDS
        )
    except grpc.aio.AioRpcError as err:
        print(rpc_error("Login", err, args.server, uses_tls(args)), file=sys.stderr)
        return 1
    stop = watch_for_shutdown()
    print(f"Login: {sanitize(response.message)} (Session ID: {sanitize(response.session_id)})")
    print("Session active. Press Ctrl+C to logout and exit.", flush=True)
    await wait_for_shutdown(stop)
    print("Received shutdown signal. Logging out...", flush=True)
    try:
        logout = await stub.Logout(
            auth_pb2.LogoutRequest(session_id=response.session_id), timeout=TIMEOUT_SECONDS
        )
    except grpc.aio.AioRpcError as err:
        print(rpc_error("Logout", err, args.server, uses_tls(args)), file=sys.stderr)
        return 1
    print(f"Logout: {sanitize(logout.message)}")
    return 0


async def register(stub: auth_pb2_grpc.AuthServiceStub, args: argparse.Namespace) -> int:
    password = read_password(args, f"New password for {args.username}: ")
    if sys.stdin.isatty() and not args.password_stdin:
        if getpass.getpass("Repeat the password: ") != password:
            print("Register failed: the passwords do not match", file=sys.stderr)
            return 1
    try:
        response = await stub.RegisterUser(
            auth_pb2.RegisterUserRequest(username=args.username, password=password),
            timeout=TIMEOUT_SECONDS,
        )
    except grpc.aio.AioRpcError as err:
        print(rpc_error("Register", err, args.server, uses_tls(args)), file=sys.stderr)
        return 1
    print(f"Register: {sanitize(response.message)} ({sanitize(response.username)})")
    return 0


async def validate(stub: auth_pb2_grpc.AuthServiceStub, args: argparse.Namespace) -> int:
    try:
        response = await stub.ValidateSession(
            auth_pb2.ValidateSessionRequest(session_id=args.session_id), timeout=TIMEOUT_SECONDS
        )
    except grpc.aio.AioRpcError as err:
        print(rpc_error("Validate", err, args.server, uses_tls(args)), file=sys.stderr)
        return 1
    expires = response.expires_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S UTC")
    print(f"Session valid: user {sanitize(response.username)}, expires {expires}")
    return 0


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    commands = {"login": login, "register": register, "validate": validate}
    channel = channel_or_exit(args.server, args)
    async with channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        try:
            return await commands[args.command](stub, args)
        except InputClosed:
            print(f"{args.command}: no password given on stdin", file=sys.stderr)
            return 1
        except EOFError:
            print(file=sys.stderr)
            return 1


if __name__ == "__main__":
    run_client(main)
