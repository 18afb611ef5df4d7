"""`python -m pyservices.rand.client`: stream random numbers; prompts on a terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.protobuf import duration_pb2
from polychat.random.v1 import random_pb2, random_pb2_grpc
from prompt_toolkit import PromptSession

from pykit import config
from pykit.channels import uses_tls
from pykit.cli import add_server_arguments, channel_or_exit, run_client
from pykit.terminal import local_time, rpc_error_line, run_until_signal

DEFAULT_SERVER = "localhost:50052"
DEFAULTS = {"min": 1, "max": 100, "count": 10, "interval": 1.0}
T = TypeVar("T")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = config.ArgumentParser(
        prog="python -m pyservices.rand.client",
        description="Stream random numbers. On a terminal, asks for any value not given.",
    )
    add_server_arguments(parser, env="RANDOM_SERVER", default=DEFAULT_SERVER)
    parser.add_argument("--min", type=int, help=f"smallest value (default: {DEFAULTS['min']})")
    parser.add_argument("--max", type=int, help=f"largest value (default: {DEFAULTS['max']})")
    parser.add_argument(
        "--count",
        type=config.argument_type(config.whole_number(0)),
        help=f"how many, 0 = until Ctrl+C (default: {DEFAULTS['count']})",
    )
    parser.add_argument(
        "--interval",
        type=config.argument_type(config.seconds()),
        help=f"seconds between numbers, at least 0.01 (default: {DEFAULTS['interval']})",
    )
    return parser.parse_args(argv)


async def ask(session: PromptSession[str], label: str, default: T, parse: Callable[[str], T]) -> T:
    """Prompt until the answer parses; Enter takes the default."""
    while True:
        text = (await session.prompt_async(f"{label} [{default}]: ")).strip()
        if not text:
            return default
        try:
            return parse(text)
        except ValueError:
            print(f"Please enter a number, or press Enter for {default}.")


async def fill_in(args: argparse.Namespace) -> None:
    """Missing values: asked for on a terminal, defaults otherwise (never prompts in scripts)."""
    labels = {
        "min": ("Minimum value", int),
        "max": ("Maximum value", int),
        "count": ("How many numbers (0 = until Ctrl+C)", int),
        "interval": ("Seconds between numbers", float),
    }
    interactive = sys.stdin.isatty()
    session: PromptSession[str] | None = PromptSession() if interactive else None
    for key, (label, parse) in labels.items():
        if getattr(args, key) is None:
            value = DEFAULTS[key]
            if session is not None:
                value = await ask(session, label, value, parse)
            setattr(args, key, value)


def make_request(args: argparse.Namespace) -> random_pb2.StreamRandomNumbersRequest:
    interval = duration_pb2.Duration()
    interval.FromNanoseconds(round(args.interval * 1e9))
    return random_pb2.StreamRandomNumbersRequest(
        min=args.min, max=args.max, count=args.count, interval=interval
    )


async def stream(stub: random_pb2_grpc.RandomServiceStub, request: object) -> int:
    received = 0
    call = stub.StreamRandomNumbers(request)
    try:
        async for item in call:
            received += 1
            print(f"#{item.sequence} {item.value} ({local_time(item.timestamp)})", flush=True)
    finally:
        call.cancel()
    return received


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    channel = channel_or_exit(args.server, args)
    async with channel:
        try:
            await fill_in(args)
        except (EOFError, KeyboardInterrupt):
            return 130
        stub = random_pb2_grpc.RandomServiceStub(channel)
        try:
            interrupted, _ = await run_until_signal(stream(stub, make_request(args)))
        except grpc.aio.AioRpcError as err:
            print(f"error: {rpc_error_line(err, args.server, uses_tls(args))}", file=sys.stderr)
            return 1
    if interrupted:
        print("Stopped.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_client(main)
