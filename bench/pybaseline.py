"""The Python services bench's reference: bare grpc.aio servers with the same RPCs.

UserService.GetUser answers from a constant record (no database, no
interceptors) and RandomService.StreamRandomNumbers streams on the same fixed
schedule as the real one, with the same message shapes (the generated
polychat.user.v1 and polychat.random.v1 modules). Both have server reflection,
so ghz can call them without a .proto file. Each service listens on its own
port, as in pyservices. Stops on SIGINT/SIGTERM, and after --max-lifetime.

    .venv/bin/python bench/pybaseline.py --user-addr 127.0.0.1:P1 --random-addr 127.0.0.1:P2
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import time
from collections.abc import AsyncIterator

import grpc
from google.protobuf import timestamp_pb2
from grpc_reflection.v1alpha import reflection
from polychat.random.v1 import random_pb2, random_pb2_grpc
from polychat.user.v1 import user_pb2, user_pb2_grpc

MIN_INTERVAL = 0.01


class BareUsers(user_pb2_grpc.UserServiceServicer):
    async def GetUser(
        self, request: user_pb2.GetUserRequest, context: grpc.aio.ServicerContext
    ) -> user_pb2.UserResponse:
        return user_pb2.UserResponse(
            user_id=request.user_id,
            name="Bench User",
            email="bench@example.com",
            age=30,
            created_at="2026-01-01T00:00:00+00:00",
        )


class BareRandom(random_pb2_grpc.RandomServiceServicer):
    async def StreamRandomNumbers(
        self,
        request: random_pb2.StreamRandomNumbersRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[random_pb2.StreamRandomNumbersResponse]:
        interval = MIN_INTERVAL
        if request.HasField("interval"):
            interval = max(MIN_INTERVAL, request.interval.ToNanoseconds() / 1e9)
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        while request.count == 0 or sent < request.count:
            if sent:
                await asyncio.sleep(max(0.0, start + sent * interval - loop.time()))
            ts = timestamp_pb2.Timestamp()
            ts.FromNanoseconds(time.time_ns())
            sent += 1
            yield random_pb2.StreamRandomNumbersResponse(
                value=random.randint(request.min, request.max), sequence=sent, timestamp=ts
            )


async def start(address: str, add, servicer, service_name: str) -> grpc.aio.Server:
    server = grpc.aio.server()
    add(servicer, server)
    reflection.enable_server_reflection((service_name, reflection.SERVICE_NAME), server)
    if server.add_insecure_port(address) == 0:
        raise OSError(f"cannot listen on {address}")
    await server.start()
    return server


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user-addr", required=True)
    parser.add_argument("--random-addr", required=True)
    parser.add_argument("--max-lifetime", type=float, default=600.0, help="seconds")
    args = parser.parse_args()

    user_name = user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name
    random_name = random_pb2.DESCRIPTOR.services_by_name["RandomService"].full_name
    servers = [
        await start(
            args.user_addr, user_pb2_grpc.add_UserServiceServicer_to_server, BareUsers(), user_name
        ),
        await start(
            args.random_addr,
            random_pb2_grpc.add_RandomServiceServicer_to_server,
            BareRandom(),
            random_name,
        ),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("pybaseline listening", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.max_lifetime)
    except TimeoutError:
        pass
    await asyncio.gather(*(s.stop(0.5) for s in servers))


if __name__ == "__main__":
    asyncio.run(main())
