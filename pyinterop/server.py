"""`python -m pyinterop server`: the interop TestService on a port, as the reference servers run.

    python -m pyinterop server --port=10000
    python -m pyinterop server --port=10000 --use_tls=true \\
        --tls_cert_file=certs/server.pem --tls_key_file=certs/server-key.pem

The flags are those of gRPC's reference interop servers (grpc-go's takes the same), so a
test runner starts either the same way. It prints one line once it listens and stops
cleanly on SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from polychat.grpc_testing import test_pb2_grpc

from pyinterop import flags
from pyinterop.service import TestService
from pykit.config import fail

# How long calls still running at shutdown get to finish.
GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class ServerOptions:
    """Where the server listens and, with TLS, its certificate chain and key."""

    port: int
    host: str = "[::]"
    tls: tuple[bytes, bytes] | None = None  # (certificate chain PEM, private key PEM)


def parse(argv: Sequence[str]) -> ServerOptions:
    """The options in `argv`; a bad flag is one line on stderr and exit status 2."""
    parser = flags.parser("python -m pyinterop server", "Serve grpc.testing.TestService.")
    parser.add_argument("--port", type=flags.port, required=True, help="port to listen on")
    parser.add_argument(
        "--host", default="[::]", help="address to listen on (default: every interface)"
    )
    flags.add_boolean(parser, "--use_tls", "serve TLS (needs --tls_cert_file and --tls_key_file)")
    parser.add_argument("--tls_cert_file", type=Path, help="server certificate chain (PEM)")
    parser.add_argument("--tls_key_file", type=Path, help="server private key (PEM)")
    args = parser.parse_args(argv)
    if not args.use_tls:
        if args.tls_cert_file or args.tls_key_file:
            fail("--tls_cert_file and --tls_key_file need --use_tls=true")
        return ServerOptions(args.port, args.host)
    if args.tls_cert_file is None or args.tls_key_file is None:
        fail("--use_tls=true needs --tls_cert_file and --tls_key_file")
    try:
        cert = flags.read_pem(args.tls_cert_file, "--tls_cert_file")
        key = flags.read_pem(args.tls_key_file, "--tls_key_file")
    except ValueError as err:
        fail(str(err))
    return ServerOptions(args.port, args.host, (cert, key))


async def start(options: ServerOptions) -> tuple[grpc.aio.Server, int]:
    """A started server and the port it listens on (useful when `options.port` is 0)."""
    server = grpc.aio.server()
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    address = f"{options.host}:{options.port}"
    if options.tls is None:
        port = server.add_insecure_port(address)
    else:
        cert, key = options.tls
        port = server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
    await server.start()
    return server, port


async def serve(options: ServerOptions) -> int:
    """Serve until SIGINT or SIGTERM, then stop, letting running calls finish briefly."""
    try:
        server, port = await start(options)
    except RuntimeError as err:
        # grpcio raises RuntimeError when it cannot bind the port or use the key pair.
        print(f"error: cannot serve on port {options.port}: {err}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    transport = "TLS" if options.tls else "plaintext"
    print(f"grpc.testing.TestService listening on port {port} ({transport})", flush=True)
    await stop.wait()
    await server.stop(GRACE_SECONDS)
    return 0


def main(argv: Sequence[str]) -> int:
    """Parse `argv`, then serve until stopped; the exit status."""
    return asyncio.run(serve(parse(argv)))
