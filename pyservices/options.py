"""What `python -m pyservices` is told: its flags and variables, read once at start.

Names follow pykit.config's scheme: `POLYCHAT_…` for what every Polychat process has,
`SERVICES_…` for this process as a whole, and each service's own scope (`FILE_…`, `AUTH_…`,
`STREAMING_…`) for its listen address and options.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pykit import config
from pykit.config import ArgumentParser, Reader, Setting
from pykit.tls import (
    CLIENT_CA_ENV,
    CLIENT_CERT_ENV,
    CLIENT_KEY_ENV,
    SERVER_CERT_ENV,
    SERVER_CLIENT_CA_ENV,
    SERVER_KEY_ENV,
)
from pyservices.auth.config import LOGGER_SERVER
from pyservices.spec import ServiceSpec, read_options, settings_of

ERROR_PREFIX = "pyservices: error"
DEFAULT_MAX_GRPC_MESSAGE_BYTES = 8 * 1024 * 1024
DEFAULT_METRICS_ADDR = ":9050"

MAX_GRPC_MESSAGE_BYTES = Setting(
    "--max-grpc-message-bytes",
    "SERVICES_MAX_GRPC_MESSAGE_BYTES",
    config.whole_number(1),
    DEFAULT_MAX_GRPC_MESSAGE_BYTES,
    "largest gRPC message accepted or sent",
    metavar="BYTES",
    renamed_from=("--max-message-bytes", "POLYCHAT_MAX_MESSAGE_BYTES"),
)
GRACE = Setting(
    "--grace",
    "SERVICES_GRACE",
    config.seconds(allow_zero=True),
    5.0,
    "seconds in-flight RPCs get to finish on shutdown",
    metavar="SECONDS",
)
METRICS_ADDR = Setting(
    "--metrics-addr",
    "SERVICES_METRICS_ADDR",
    config.optional_address,
    DEFAULT_METRICS_ADDR,
    "address of the Prometheus /metrics endpoint, empty to turn it off",
    metavar="ADDR",
    renamed_from=("POLYCHAT_METRICS_ADDR",),
    empty_is_value=True,
)
LOG_LEVEL = dataclasses.replace(
    config.LOG_LEVEL,
    help="lowest level logged: info logs one line per RPC, warn only problems "
    "(debug adds health checks; warning is the same as warn)",
)
TLS_CERT: Setting[str | None] = Setting(
    "--tls-cert",
    SERVER_CERT_ENV,
    str,
    None,
    "server certificate (chain); with --tls-key turns TLS on",
    metavar="PEM",
)
TLS_KEY: Setting[str | None] = Setting(
    "--tls-key", SERVER_KEY_ENV, str, None, "the server certificate's private key", metavar="PEM"
)
TLS_CLIENT_CA: Setting[str | None] = Setting(
    "--tls-client-ca",
    SERVER_CLIENT_CA_ENV,
    str,
    None,
    "require client certificates signed by this CA: mutual TLS",
    metavar="PEM",
)
PROCESS_SETTINGS = (
    config.DATA_DIR,
    MAX_GRPC_MESSAGE_BYTES,
    GRACE,
    METRICS_ADDR,
    LOG_LEVEL,
    config.LOG_FORMAT,
)
TLS_SETTINGS = (TLS_CERT, TLS_KEY, TLS_CLIENT_CA)


def listen_setting(spec: ServiceSpec[Any]) -> Setting[str]:
    """`--NAME-addr` / `NAME_ADDR`: where one service listens."""
    return Setting(
        f"--{spec.name}-addr",
        spec.env_var,
        config.listen_address,
        spec.default_address,
        f"listen address of the {spec.name} service",
        metavar="ADDR",
    )


@dataclass(frozen=True)
class ProcessOptions:
    """Everything the process was told, checked: the services to start and how."""

    services: tuple[str, ...]
    data_dir: Path
    max_grpc_message_bytes: int
    grace: float
    metrics_addr: str
    log_level: str
    log_format: str
    tls_cert: str | None
    tls_key: str | None
    tls_client_ca: str | None
    # Every service's listen address (also of those not started: auth calls logger).
    addresses: Mapping[str, str]
    # The options of each service to start (spec.options instances), by service name.
    service_options: Mapping[str, Any]


def build_parser(specs: Mapping[str, ServiceSpec[Any]]) -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m pyservices",
        description="Start Polychat's Python gRPC services, each on its own port.",
        error_prefix=ERROR_PREFIX,
    )
    parser.add_argument(
        "services",
        nargs="*",
        metavar="NAME",
        help=f"services to start (default: all): {', '.join(specs)}",
    )
    for setting in PROCESS_SETTINGS:
        setting.add_to(parser)
    tls = parser.add_argument_group(
        "TLS (every service in this process; default: plaintext)",
        "AuthService reaches LoggerService with the client settings "
        f"{CLIENT_CA_ENV}, {CLIENT_CERT_ENV} and {CLIENT_KEY_ENV}.",
    )
    for setting in TLS_SETTINGS:
        setting.add_to(tls)
    for spec in specs.values():
        group = parser.add_argument_group(f"{spec.name} service")
        listen_setting(spec).add_to(group)
        for source in spec.options.SETTINGS.values():
            for setting in settings_of(source):
                setting.add_to(group)
    return parser


def read(
    specs: Mapping[str, ServiceSpec[Any]],
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[ProcessOptions, list[str]]:
    """The process's options and the deprecation notes to show.

    A usage error exits 2 with one line (argparse's own errors included); an unusable value
    raises pykit.config.ConfigError.
    """
    parser = build_parser(specs)
    args = parser.parse_args(argv)
    unknown = [name for name in args.services if name not in specs]
    if unknown:
        parser.error(f"unknown service {', '.join(unknown)}; choose from {', '.join(specs)}")
    names = tuple(args.services) or tuple(specs)
    reader = Reader(args, environ)
    opts = ProcessOptions(
        services=names,
        data_dir=reader.get(config.DATA_DIR),
        max_grpc_message_bytes=reader.get(MAX_GRPC_MESSAGE_BYTES),
        grace=reader.get(GRACE),
        metrics_addr=reader.get(METRICS_ADDR),
        log_level=reader.get(LOG_LEVEL),
        log_format=reader.get(config.LOG_FORMAT),
        tls_cert=reader.get(TLS_CERT),
        tls_key=reader.get(TLS_KEY),
        tls_client_ca=reader.get(TLS_CLIENT_CA),
        addresses={name: reader.get(listen_setting(spec)) for name, spec in specs.items()},
        service_options={name: read_options(specs[name].options, reader) for name in names},
    )
    note = _logger_addr_alias(reader, specs, names)
    return opts, reader.renamed + ([note] if note else [])


def _logger_addr_alias(
    reader: Reader, specs: Mapping[str, ServiceSpec[Any]], names: Sequence[str]
) -> str | None:
    """The deprecation line when the logger's listen address stands in for AUTH_LOGGER_SERVER.

    AuthService falls back to the logger's listen address, which is right when the logger runs
    in the same process; set for an AuthService without its logger, it is the old way of
    saying where to call, now AUTH_LOGGER_SERVER.
    """
    if "auth" not in names or "logger" in names or "logger" not in specs:
        return None
    if reader.given(LOGGER_SERVER) is not None:
        return None
    used = reader.given(listen_setting(specs["logger"]))
    if used is None:
        return None
    return (
        f"{used} as the address AuthService calls LoggerService at is deprecated and will be "
        f"removed; use {LOGGER_SERVER.env} (flag {LOGGER_SERVER.flag})"
    )
