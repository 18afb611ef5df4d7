"""`python -m pyservices.files.client`: a menu on a terminal, subcommands for scripts."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path

import grpc
from polychat.file.v1 import file_pb2, file_pb2_grpc
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
from pykit.text import sanitize

DEFAULT_SERVER = "localhost:50051"
CALL_TIMEOUT = 30.0
MENU = (
    "\n  1) Greet   2) Server time   3) Write a file   4) List files   5) Quit\n"
    "Choose an option [1-5]: "
)


class ClientError(Exception):
    """A local problem (unreadable file, bad input) reported as one line."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = config.ArgumentParser(
        prog="python -m pyservices.files.client",
        description="FileService client: a menu on a terminal, or one subcommand.",
    )
    add_server_arguments(parser, env="FILE_SERVER", default=DEFAULT_SERVER)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    hello = commands.add_parser("hello", help="greet NAME")
    hello.add_argument("name", nargs="?", default="")
    commands.add_parser("time", help="show the server's time")
    write = commands.add_parser("write", help="store a file on the server")
    write.add_argument("name", help="plain file name on the server")
    source = write.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", type=Path, help="local file to send")
    source.add_argument("--text", help="text to store (UTF-8)")
    write.add_argument("--overwrite", action="store_true", help="replace an existing file")
    commands.add_parser("list", help="list the stored files")
    return parser.parse_args(argv)


class FileClient:
    """The four calls, printed for people."""

    def __init__(self, stub: file_pb2_grpc.FileServiceStub) -> None:
        self._stub = stub

    async def hello(self, name: str) -> None:
        reply = await self._stub.SayHello(file_pb2.SayHelloRequest(name=name), timeout=CALL_TIMEOUT)
        print(sanitize(reply.message))

    async def time(self) -> None:
        reply = await self._stub.GetServerTime(
            file_pb2.GetServerTimeRequest(), timeout=CALL_TIMEOUT
        )
        print(f"Server time: {sanitize(reply.formatted)}")

    async def write(self, name: str, content: bytes, overwrite: bool) -> None:
        request = file_pb2.WriteFileRequest(name=name, content=content, overwrite=overwrite)
        reply = await self._stub.WriteFile(request, timeout=CALL_TIMEOUT)
        print(sanitize(reply.message))
        print(f"File path: {sanitize(reply.path)}")

    async def list(self) -> None:
        reply = await self._stub.ListFiles(file_pb2.ListFilesRequest(), timeout=CALL_TIMEOUT)
        if not reply.files:
            print("No files uploaded yet.")
            return
        rows = [
            (
                sanitize(f.name),
                str(f.size),
                datetime.fromtimestamp(f.modified_at.seconds).strftime("%Y-%m-%d %H:%M:%S"),
            )
            for f in reply.files
        ]
        width = max(len("NAME"), *(len(r[0]) for r in rows))
        size_width = max(len("SIZE"), *(len(r[1]) for r in rows))
        print(f"{'NAME':<{width}}  {'SIZE':>{size_width}}  MODIFIED")
        for name, size, modified in rows:
            print(f"{name:<{width}}  {size:>{size_width}}  {modified}")


async def read_local(path: Path) -> bytes:
    try:
        return await asyncio.to_thread(lambda: path.expanduser().read_bytes())
    except OSError as err:
        raise ClientError(f"cannot read {path}: {err.strerror}") from None


async def run_command(client: FileClient, args: argparse.Namespace) -> None:
    if args.command == "hello":
        await client.hello(args.name)
    elif args.command == "time":
        await client.time()
    elif args.command == "list":
        await client.list()
    elif args.command == "write":
        content = args.text.encode() if args.text is not None else await read_local(args.source)
        await client.write(args.name, content, args.overwrite)


async def interactive(client: FileClient, server: str, tls: bool = False) -> None:
    """The documented menu: greet, time, write, list, quit. Errors do not end it."""
    session: PromptSession[str] = PromptSession()
    print(f"FileService at {server}")
    while True:
        try:
            choice = (await session.prompt_async(MENU)).strip().lower()
            if choice in ("5", "q", "quit", "exit"):
                return
            if choice in ("1", "greet", "hello"):
                await client.hello(await session.prompt_async("Your name: "))
            elif choice in ("2", "time"):
                await client.time()
            elif choice in ("3", "write"):
                await interactive_write(client, session)
            elif choice in ("4", "list"):
                await client.list()
            else:
                print("Please choose 1, 2, 3, 4 or 5.")
        except (EOFError, KeyboardInterrupt):
            return
        except grpc.aio.AioRpcError as err:
            print(f"error: {rpc_error_line(err, server, tls)}", file=sys.stderr)
        except ClientError as err:
            print(f"error: {err}", file=sys.stderr)


async def interactive_write(client: FileClient, session: PromptSession[str]) -> None:
    prompt = session.prompt_async
    name = (await prompt("File name on the server: ")).strip()
    local = (await prompt("Local file to send (Enter to type text instead): ")).strip()
    if local:
        content = await read_local(Path(local))
    else:
        content = (await prompt("Text to store: ")).encode()
    try:
        await client.write(name, content, overwrite=False)
    except grpc.aio.AioRpcError as err:
        if err.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
        answer = await prompt(f"{sanitize(name)} already exists. Overwrite it? [y/N]: ")
        if answer.strip().lower() in ("y", "yes"):
            await client.write(name, content, overwrite=True)
        else:
            print("Kept the existing file.")


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_command_off_terminal(args.command, "hello, time, write, list")
    channel = channel_or_exit(args.server, args)
    tls = uses_tls(args)
    async with channel:
        client = FileClient(file_pb2_grpc.FileServiceStub(channel))
        if args.command is None:
            work = interactive(client, args.server, tls)
        else:
            work = run_command(client, args)
        return await exit_status(work, args.server, tls, (ClientError,))


if __name__ == "__main__":
    run_client(main)
