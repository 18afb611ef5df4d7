"""`python -m pyservices [NAME ...]`: start all services, or the named ones."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

# gRPC's C core reads GRPC_VERBOSITY when grpc is first imported (below) and would log a line
# of its own per failed TLS handshake; the servers log what matters themselves.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from pykit.config import ConfigError, fail
from pykit.tls import (
    CLIENT_CA_ENV,
    CLIENT_CERT_ENV,
    CLIENT_KEY_ENV,
    ClientTLS,
    ServerTLS,
    TLSConfigError,
)
from pyservices import logs, options
from pyservices.logger.writers import WRITE_KEY_ENV, configured_write_key, process_write_key
from pyservices.options import ERROR_PREFIX
from pyservices.registry import SPECS
from pyservices.runner import serve
from pyservices.spec import Settings

log = logging.getLogger("pyservices")


def main(argv: list[str] | None = None) -> int:
    try:
        opts, renamed = options.read(SPECS, argv)
        server_tls = ServerTLS.load(opts.tls_cert, opts.tls_key, opts.tls_client_ca)
        client_tls = ClientTLS.from_env()
    except (ConfigError, TLSConfigError) as err:
        fail(str(err), ERROR_PREFIX)
    logs.configure(opts.log_level, opts.log_format)
    for line in renamed:
        log.warning("%s", line)
    if server_tls is not None and "auth" in opts.services:
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
    write_key = configured_write_key()
    if write_key is None and "logger" in opts.services:
        log.info(
            "%s is not set: LoggerService takes events from the services in this process%s",
            WRITE_KEY_ENV,
            " and from client certificates" if server_tls is not None and server_tls.mutual else "",
        )
    settings = Settings(
        data_dir=opts.data_dir,
        addresses=dict(opts.addresses),
        max_message_bytes=opts.max_grpc_message_bytes,
        server_tls=server_tls,
        client_tls=client_tls,
        logger_write_key=write_key or process_write_key(),
    )
    services = [
        (SPECS[name], opts.addresses[name], opts.service_options[name]) for name in opts.services
    ]
    try:
        asyncio.run(serve(services, settings, grace=opts.grace, metrics_addr=opts.metrics_addr))
    except OSError as err:
        print(f"pyservices: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
