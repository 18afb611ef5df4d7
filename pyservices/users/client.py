"""`python -m pyservices.users.client [demo|get|create|list]`: talk to UserService.

With no command it runs the five demo scenarios, one per RPC pattern. The demo
uses fresh email addresses on every run, so it can run again and again against
the same database.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import grpc
from polychat.user.v1 import user_pb2, user_pb2_grpc

from pykit import config
from pykit.callstatus import stream_unary
from pykit.channels import (
    explain_unavailable,
    uses_tls,
)
from pykit.cli import add_server_arguments, channel_or_exit, run_client
from pykit.text import sanitize

DEFAULT_SERVER = "localhost:50057"
TIMEOUT_SECONDS = 10.0
COMMANDS = ("demo", "get", "create", "list")


def parse_args(argv: list[str]) -> argparse.Namespace:
    command = "demo"
    if argv and argv[0] in COMMANDS:
        command, argv = argv[0], argv[1:]
    parser = config.ArgumentParser(
        prog=f"python -m pyservices.users.client {command}",
        description="Call UserService; with no command, run the five demo scenarios.",
        epilog=f"commands: {', '.join(COMMANDS)} (default: demo)",
    )
    add_server_arguments(parser, env="USER_SERVER", default=DEFAULT_SERVER, what="UserService")
    if command == "get":
        parser.add_argument("user_id", metavar="ID", type=int)
    elif command == "create":
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("email", metavar="EMAIL")
        parser.add_argument("age", metavar="AGE", type=int)
    elif command == "list":
        parser.add_argument(
            "--limit",
            type=config.argument_type(config.whole_number(0)),
            default=0,
            help="at most N users (default: all)",
        )
    args = parser.parse_args(argv)
    args.command = command
    return args


def show(user: user_pb2.UserResponse) -> str:
    return (
        f"#{user.user_id} {sanitize(user.name)} <{sanitize(user.email)}>, age {user.age},"
        f" created {sanitize(user.created_at)}"
    )


def heading(number: int, title: str) -> None:
    print(f"\n=== {number}. {title} ===")


async def demo(stub: user_pb2_grpc.UserServiceStub) -> None:
    run = uuid.uuid4().hex[:8]

    heading(1, "Unary RPC: GetUser")
    user = await stub.GetUser(user_pb2.GetUserRequest(user_id=1), timeout=TIMEOUT_SECONDS)
    print(f"User 1: {show(user)}")
    try:
        await stub.GetUser(user_pb2.GetUserRequest(user_id=999_999), timeout=TIMEOUT_SECONDS)
    except grpc.aio.AioRpcError as err:
        print(f"User 999999: {err.code().name}: {sanitize(err.details() or '')}")

    heading(2, "Unary RPC: CreateUser")
    created = await stub.CreateUser(
        user_pb2.CreateUserRequest(name="John Doe", email=f"john.doe+{run}@example.com", age=32),
        timeout=TIMEOUT_SECONDS,
    )
    print(f"Created: {show(created)}")
    try:
        await stub.CreateUser(
            user_pb2.CreateUserRequest(name="No Email", email="not-an-email", age=20),
            timeout=TIMEOUT_SECONDS,
        )
    except grpc.aio.AioRpcError as err:
        print(f"Invalid user rejected: {err.code().name}: {sanitize(err.details() or '')}")

    heading(3, "Server streaming RPC: ListUsers (limit 3)")
    async for user in stub.ListUsers(user_pb2.ListUsersRequest(limit=3), timeout=TIMEOUT_SECONDS):
        print(f"  {show(user)}")

    heading(4, "Client streaming RPC: BatchCreateUsers")
    batch = [
        ("Diana Prince", "diana", 30),
        ("Ethan Hunt", "ethan", 40),
        ("Fiona Gallagher", "fiona", 25),
    ]

    async def requests() -> AsyncIterator[user_pb2.CreateUserRequest]:
        for name, local, age in batch:
            print(f"  sending {name}")
            yield user_pb2.CreateUserRequest(name=name, email=f"{local}+{run}@example.com", age=age)

    summary = await stream_unary(stub.BatchCreateUsers, requests(), timeout=TIMEOUT_SECONDS)
    ids = ", ".join(str(i) for i in summary.user_ids)
    print(f"Created {summary.users_created} users: ids {ids}")

    heading(5, "Bidirectional streaming RPC: StreamUsers")
    messages = [(1, "Hello from Alice"), (2, "Hi, Bob here"), (3, "Charlie says hello")]

    async def chat() -> AsyncIterator[user_pb2.UserMessage]:
        for user_id, text in messages:
            print(f"  -> user {user_id}: {text}")
            yield user_pb2.UserMessage(
                user_id=user_id,
                message=text,
                timestamp=datetime.now().replace(microsecond=0).isoformat(),
            )

    async for reply in stub.StreamUsers(chat(), timeout=TIMEOUT_SECONDS):
        print(f"  <- [{sanitize(reply.timestamp)}] {sanitize(reply.message)}")
    print("\nAll five scenarios completed.")


async def run(stub: user_pb2_grpc.UserServiceStub, args: argparse.Namespace) -> None:
    if args.command == "demo":
        await demo(stub)
    elif args.command == "get":
        user = await stub.GetUser(
            user_pb2.GetUserRequest(user_id=args.user_id), timeout=TIMEOUT_SECONDS
        )
        print(show(user))
    elif args.command == "create":
        user = await stub.CreateUser(
            user_pb2.CreateUserRequest(name=args.name, email=args.email, age=args.age),
            timeout=TIMEOUT_SECONDS,
        )
        print(f"Created: {show(user)}")
    elif args.command == "list":
        request = user_pb2.ListUsersRequest(limit=args.limit)
        async for user in stub.ListUsers(request, timeout=TIMEOUT_SECONDS):
            print(show(user))


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    channel = channel_or_exit(args.server, args)
    async with channel:
        stub = user_pb2_grpc.UserServiceStub(channel)
        try:
            await run(stub, args)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.UNAVAILABLE:
                reason = explain_unavailable(err.details() or "unavailable", uses_tls(args))
                print(
                    f"error: cannot reach UserService at {args.server}: {sanitize(reason)}",
                    file=sys.stderr,
                )
            else:
                print(f"error: {err.code().name}: {sanitize(err.details() or '')}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    run_client(main)
