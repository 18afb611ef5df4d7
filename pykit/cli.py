"""What every command-line client does at its entry point.

Our clients report every failure in one line. gRPC's C core writes log lines
of its own straight to file descriptor 2 (for example "Corruption detected."
when a server drops a TLS handshake), and GRPC_VERBOSITY does not silence all
of them. A client's entry point therefore moves the C core's stderr to
/dev/null and gives Python a private copy of the real stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import grpc

from pykit.channels import TLSConfigError, add_tls_arguments, open_channel
from pykit.terminal import rpc_error_line

# GRPC_VERBOSITY values that ask to see the C core's lines: then they stay.
_WANTED = {"DEBUG", "INFO"}


def quiet_grpc_core() -> None:
    """Redirect fd 2 to /dev/null; sys.stderr keeps writing to the real stderr.

    Call it only from a command's entry point (never from a library or a test
    process): everything that writes to fd 2 directly is silenced from then on.
    """
    if os.environ.get("GRPC_VERBOSITY", "").upper() in _WANTED:
        return
    try:
        sys.stderr.flush()
        real = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return  # no stderr to protect
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(real, "w", buffering=1, errors="backslashreplace")


def run_client(main: Callable[[], Awaitable[int]]) -> NoReturn:
    """Run a client's `async def main()` as a command: its result is the exit status.

    Ctrl+C before the client installed its own handling (at a prompt, say)
    exits 130 without a traceback, after ending the prompt's line.
    """
    quiet_grpc_core()
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        sys.exit(130)


async def exit_status(
    work: Awaitable[object],
    server: str,
    tls: bool,
    failures: tuple[type[Exception], ...] = (),
) -> int:
    """Await a client's `work`: 0 when it is done, 1 after one line on stderr when it fails.

    A failed call is `error: CODE: details` (`rpc_error_line`); one of the client's own
    `failures` is `error: ` and its message.
    """
    try:
        await work
    except grpc.aio.AioRpcError as err:
        print(f"error: {rpc_error_line(err, server, tls)}", file=sys.stderr)
        return 1
    except failures as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def require_command_off_terminal(command: str | None, commands: str) -> None:
    """A client with prompts never prompts a pipe: without a command there, exit 2.

    `commands` lists the subcommands for the message, e.g. "time, upload, chat".
    """
    if command is None and not sys.stdin.isatty():
        print(
            "error: no command given and stdin is not a terminal; "
            f"use one of: {commands} (see --help)",
            file=sys.stderr,
        )
        raise SystemExit(2)


def channel_or_exit(address: str, args: Any) -> grpc.aio.Channel:
    """The client's channel to `address`, with the TLS options in `args`.

    A TLS option that cannot be used (a missing file, a key without a
    certificate) is a usage error: one line on stderr and exit status 2.
    """
    try:
        return open_channel(address, args)
    except TLSConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def add_server_arguments(
    parser: argparse.ArgumentParser, *, env: str, default: str, what: str = "server"
) -> None:
    """`--server` (from `env`, else `default`) and the TLS options every client takes."""
    parser.add_argument(
        "--server",
        default=os.environ.get(env, default),
        help=f"{what} address (env {env}, default: {default})",
    )
    add_tls_arguments(parser)
