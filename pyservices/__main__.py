"""`python -m pyservices [NAME ...]`: start all services, or the named ones."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

# gRPC's C core reads GRPC_VERBOSITY when grpc is first imported (below) and would log a line
# of its own per failed TLS handshake; the servers log what matters themselves.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from pykit.tls import (
    CLIENT_CA_ENV,
    CLIENT_CERT_ENV,
    CLIENT_KEY_ENV,
    SERVER_CERT_ENV,
    SERVER_CLIENT_CA_ENV,
    SERVER_KEY_ENV,
    ClientTLS,
    ServerTLS,
    TLSConfigError,
)
from pyservices import logs
from pyservices.logs import LEVELS, LOG_LEVEL_ENV
from pyservices.metrics import DEFAULT_METRICS_ADDR, METRICS_ADDR_ENV
from pyservices.registry import SPECS
from pyservices.runner import serve
from pyservices.spec import Settings

EXIT_CONFIG = 2
log = logging.getLogger("pyservices")

DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pyservices",
        description="Start Polychat's Python gRPC services, each on its own port.",
    )
    parser.add_argument(
        "services",
        nargs="*",
        metavar="NAME",
        help=f"services to start (default: all): {', '.join(SPECS)}",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("POLYCHAT_DATA_DIR", "data")),
        help="folder for uploaded files and databases (env POLYCHAT_DATA_DIR, default: data)",
    )
    parser.add_argument(
        "--max-message-bytes",
        type=int,
        default=int(os.environ.get("POLYCHAT_MAX_MESSAGE_BYTES", DEFAULT_MAX_MESSAGE_BYTES)),
        help="largest gRPC message accepted or sent (env POLYCHAT_MAX_MESSAGE_BYTES, "
        f"default: {DEFAULT_MAX_MESSAGE_BYTES})",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        help="seconds in-flight RPCs get to finish on shutdown (default: 5)",
    )
    parser.add_argument(
        "--metrics-addr",
        default=os.environ.get(METRICS_ADDR_ENV, DEFAULT_METRICS_ADDR),
        help="address of the Prometheus /metrics endpoint, empty to turn it off "
        f"(env {METRICS_ADDR_ENV}, default: {DEFAULT_METRICS_ADDR})",
    )
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        default=os.environ.get(LOG_LEVEL_ENV, "info").lower(),
        help="lowest level logged: info logs one line per RPC, warning only problems "
        f"(env {LOG_LEVEL_ENV}, default: info)",
    )
    tls = parser.add_argument_group(
        "TLS (every service in this process; default: plaintext)",
        "AuthService reaches LoggerService with the client settings "
        f"{CLIENT_CA_ENV}, {CLIENT_CERT_ENV} and {CLIENT_KEY_ENV}.",
    )
    tls.add_argument(
        "--tls-cert",
        metavar="PEM",
        default=os.environ.get(SERVER_CERT_ENV) or None,
        help=f"server certificate (chain); with --tls-key turns TLS on (env {SERVER_CERT_ENV})",
    )
    tls.add_argument(
        "--tls-key",
        metavar="PEM",
        default=os.environ.get(SERVER_KEY_ENV) or None,
        help=f"the server certificate's private key (env {SERVER_KEY_ENV})",
    )
    tls.add_argument(
        "--tls-client-ca",
        metavar="PEM",
        default=os.environ.get(SERVER_CLIENT_CA_ENV) or None,
        help="require client certificates signed by this CA: mutual TLS "
        f"(env {SERVER_CLIENT_CA_ENV})",
    )
    for spec in SPECS.values():
        parser.add_argument(
            f"--{spec.name}-addr",
            default=os.environ.get(spec.env_var, spec.default_address),
            help=f"listen address of the {spec.name} service "
            f"(env {spec.env_var}, default: {spec.default_address})",
        )
        if spec.add_arguments is not None:
            spec.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.log_level not in LEVELS:  # a default from the environment is not checked
        parser.error(f"{LOG_LEVEL_ENV}={args.log_level!r}: choose from {', '.join(LEVELS)}")
    unknown = [name for name in args.services if name not in SPECS]
    if unknown:
        parser.error(f"unknown service {', '.join(unknown)}; choose from {', '.join(SPECS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logs.configure(args.log_level)
    try:
        server_tls = ServerTLS.load(args.tls_cert, args.tls_key, args.tls_client_ca)
        client_tls = ClientTLS.from_env()
    except TLSConfigError as err:
        print(f"pyservices: {err}", file=sys.stderr)
        return EXIT_CONFIG
    names = args.services or list(SPECS)
    if server_tls is not None and "auth" in names:
        # AuthService calls LoggerService as a client; say so if that cannot work as set up.
        if not client_tls.enabled:
            log.warning(
                "TLS is on but %s is not set: AuthService reaches LoggerService without TLS",
                CLIENT_CA_ENV,
            )
        elif server_tls.mutual and not client_tls.mutual:
            log.warning(
                "mutual TLS is on but %s and %s are not set: AuthService has no client "
                "certificate for LoggerService",
                CLIENT_CERT_ENV,
                CLIENT_KEY_ENV,
            )
    addresses = {name: getattr(args, f"{name}_addr") for name in SPECS}
    settings = Settings(
        data_dir=args.data_dir,
        addresses=addresses,
        max_message_bytes=args.max_message_bytes,
        options=vars(args),
        server_tls=server_tls,
        client_tls=client_tls,
    )
    specs = [(SPECS[name], addresses[name]) for name in names]
    try:
        asyncio.run(serve(specs, settings, grace=args.grace, metrics_addr=args.metrics_addr))
    except OSError as err:
        print(f"pyservices: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
