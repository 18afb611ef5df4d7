"""An endless server-streaming method, served the way every service is served.

`python -m pyservices.tests.endless_stream DATA_DIR` runs it through the runner
(request guard, request log with each call's peer, metrics) on a free loopback
port until SIGTERM, logging like `python -m pyservices`. The method sends as fast
as the client reads and never waits on anything else, so a call the client cuts
off (cancel, deadline) is cut while gRPC is writing one of its responses.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from pyservices import logs
from pyservices.runner import serve
from pyservices.spec import Cleanup, NoOptions, ServiceSpec, Settings
from pyservices.tests.servers import make_settings

SERVICE = "polychat.test.v1.Endless"
METHOD = f"/{SERVICE}/Stream"
# Big enough that the server's writes soon wait on flow control for a client that
# stops reading: its deadline then fails a write in progress.
CHUNK = b"x" * 256 * 1024


async def endless(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    while True:
        yield CHUNK


async def register(
    server: grpc.aio.Server, settings: Settings, options: NoOptions
) -> Cleanup | None:
    # No serializers: requests and responses are raw bytes.
    server.add_registered_method_handlers(
        SERVICE, {"Stream": grpc.unary_stream_rpc_method_handler(endless)}
    )
    return None


SPEC: ServiceSpec[NoOptions] = ServiceSpec(
    name="endless", service_names=(SERVICE,), default_port=0, register=register
)


def main(data_dir: Path) -> None:
    logs.configure("info")
    asyncio.run(serve([(SPEC, "127.0.0.1:0", NoOptions())], make_settings(data_dir)))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
