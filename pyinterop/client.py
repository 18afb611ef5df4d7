"""`python -m pyinterop client`: run one interop test case against a server.

    python -m pyinterop client --server_port=10000 --test_case=large_unary
    python -m pyinterop client --server_host=127.0.0.1 --server_port=10000 \\
        --test_case=ping_pong --use_tls=true --use_test_ca=true --ca_file=certs/ca.pem \\
        --server_host_override=localhost

The flags are those of gRPC's reference interop clients (grpc-go's takes the same;
`--custom_ca_file` is accepted for `--ca_file`). Exit status: 0 and `PASS case` on stdout
when the case passed; 1 and one line `FAIL case: why` on stderr when it failed; 2 for a bad
flag or an unknown case.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from pyinterop import flags
from pyinterop.cases import CASES, CaseFailed
from pykit.config import fail


@dataclass(frozen=True)
class ClientOptions:
    """Which case to run against which server, and how to reach it."""

    host: str
    port: int
    test_case: str
    ca_pem: bytes | None = None  # TLS trusting this CA; None and `tls`: the system's roots
    tls: bool = False
    host_override: str | None = None


def parse(argv: Sequence[str]) -> ClientOptions:
    """The options in `argv`; a bad flag is one line on stderr and exit status 2."""
    parser = flags.parser("python -m pyinterop client", "Run one gRPC interop test case.")
    parser.add_argument("--server_host", default="localhost", help="server host name")
    parser.add_argument("--server_port", type=flags.port, required=True, help="server port")
    parser.add_argument(
        "--test_case", required=True, help=f"the case to run, one of: {', '.join(CASES)}"
    )
    flags.add_boolean(parser, "--use_tls", "connect with TLS")
    flags.add_boolean(parser, "--use_test_ca", "trust the CA in --ca_file (not the system's)")
    parser.add_argument(
        "--ca_file", "--custom_ca_file", dest="ca_file", type=Path, help="CA certificate (PEM)"
    )
    parser.add_argument(
        "--server_host_override",
        help="the name to expect in the server's certificate and to send as :authority",
    )
    args = parser.parse_args(argv)
    if args.test_case not in CASES:
        fail(f"unknown --test_case {args.test_case!r}; one of: {', '.join(CASES)}")
    if not args.use_tls:
        return ClientOptions(args.server_host, args.server_port, args.test_case)
    ca_pem = None
    if args.use_test_ca or args.ca_file is not None:
        if args.ca_file is None:
            fail("--use_test_ca=true needs --ca_file: this client ships no test CA of its own")
        try:
            ca_pem = flags.read_pem(args.ca_file, "--ca_file")
        except ValueError as err:
            fail(str(err))
    return ClientOptions(
        args.server_host,
        args.server_port,
        args.test_case,
        ca_pem,
        tls=True,
        host_override=args.server_host_override,
    )


def open_channel(options: ClientOptions) -> grpc.aio.Channel:
    """A channel to the server, plaintext or TLS as the options say."""
    target = f"{options.host}:{options.port}"
    if ":" in options.host and not options.host.startswith("["):
        target = f"[{options.host}]:{options.port}"
    if not options.tls:
        return grpc.aio.insecure_channel(target)
    channel_options: list[tuple[str, str]] = []
    if options.host_override:
        channel_options = [
            ("grpc.ssl_target_name_override", options.host_override),
            ("grpc.default_authority", options.host_override),
        ]
    credentials = grpc.ssl_channel_credentials(root_certificates=options.ca_pem)
    return grpc.aio.secure_channel(target, credentials, options=channel_options)


def _one_line(text: str) -> str:
    return " ".join(text.split())


async def run(options: ClientOptions) -> int:
    """Run the case; print its outcome; 0 when it passed, 1 when it failed."""
    case = CASES[options.test_case]
    started = time.monotonic()
    try:
        async with open_channel(options) as channel:
            await case(channel)
    except CaseFailed as err:
        reason = str(err)
    except grpc.aio.AioRpcError as err:
        reason = f"unexpected status {err.code().name}: {err.details()}"
    else:
        elapsed_ms = (time.monotonic() - started) * 1000
        print(f"PASS {options.test_case} ({elapsed_ms:.0f} ms)", flush=True)
        return 0
    print(f"FAIL {options.test_case}: {_one_line(reason)}", file=sys.stderr, flush=True)
    return 1
