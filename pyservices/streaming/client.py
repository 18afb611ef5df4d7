"""`python -m pyservices.streaming.client`: the documented flow on a terminal, or a subcommand.

On a terminal with no subcommand: server time until Ctrl+C, then
`Enter file path to upload: ` (Enter skips), then the chat.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc
from polychat.streaming.v1 import streaming_pb2_grpc
from prompt_toolkit import PromptSession

from pykit import config
from pykit.channels import uses_tls
from pykit.cli import (
    add_server_arguments,
    channel_or_exit,
    exit_status,
    require_command_off_terminal,
    run_client,
)
from pykit.terminal import rpc_error_line
from pyservices.streaming.chat_cmd import chat_lines, chat_terminal
from pyservices.streaming.time_cmd import show_time
from pyservices.streaming.upload_cmd import UploadFailed, upload

DEFAULT_SERVER = "localhost:50056"
COUNT = config.argument_type(config.whole_number(0))
SECONDS = config.argument_type(config.seconds())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = config.ArgumentParser(
        prog="python -m pyservices.streaming.client",
        description="StreamingService client: the guided flow on a terminal, or one subcommand.",
    )
    add_server_arguments(parser, env="STREAMING_SERVER", default=DEFAULT_SERVER)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    time = commands.add_parser("time", help="print the server's time until Ctrl+C")
    time.add_argument("--count", type=COUNT, default=0, help="stop after N updates (0: never)")
    time.add_argument("--interval", type=SECONDS, default=1.0, help="seconds between updates")
    up = commands.add_parser("upload", help="upload a file in chunks and check its SHA-256")
    up.add_argument("path", type=Path)
    up.add_argument("--name", help="name on the server (default: the file's own name)")
    up.add_argument("--overwrite", action="store_true", help="replace an existing file")
    commands.add_parser("chat", help="chat: stdin lines are sent, events printed")
    return parser.parse_args(argv)


async def guided(
    stub: streaming_pb2_grpc.StreamingServiceStub, server: str, tls: bool = False
) -> None:
    """The documented flow: time, an optional upload, then chat."""
    print("Server time updates (press Ctrl+C to stop):")
    await show_time(stub)
    print()
    session: PromptSession[str] = PromptSession()
    try:
        path = (await session.prompt_async("Enter file path to upload: ")).strip()
    except (EOFError, KeyboardInterrupt):
        path = ""
    if path:
        try:
            await upload(stub, Path(path))
        except grpc.aio.AioRpcError as err:
            print(f"error: {rpc_error_line(err, server, tls)}", file=sys.stderr)
        except UploadFailed as err:
            print(f"error: {err}", file=sys.stderr)
    await chat_terminal(stub)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_command_off_terminal(args.command, "time, upload, chat")
    channel = channel_or_exit(args.server, args)
    tls = uses_tls(args)
    async with channel:
        stub = streaming_pb2_grpc.StreamingServiceStub(channel)
        if args.command == "time":
            work = show_time(stub, args.count, args.interval)
        elif args.command == "upload":
            work = upload(stub, args.path, args.name, args.overwrite)
        elif args.command == "chat":
            work = chat_terminal(stub) if sys.stdin.isatty() else chat_lines(stub)
        else:
            work = guided(stub, args.server, tls)
        return await exit_status(work, args.server, tls, (UploadFailed,))


if __name__ == "__main__":
    run_client(main)
