"""Client channels for every Python client: plaintext, TLS or mutual TLS, from flags or env.

    parser = argparse.ArgumentParser(...)
    add_tls_arguments(parser)
    args = parser.parse_args()
    async with open_channel(args.server, args) as channel: ...

| flag | environment | meaning |
|---|---|---|
| `--ca PEM` | `POLYCHAT_TLS_CA` | use TLS, trusting the CA in this file |
| `--cert PEM` | `POLYCHAT_TLS_CLIENT_CERT` | client certificate, for mutual TLS |
| `--key PEM` | `POLYCHAT_TLS_CLIENT_KEY` | the client certificate's private key |
| `--tls` | — | use TLS, trusting the system's roots (no `--ca` needed) |

None of them: plaintext, as before.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence

import grpc

from pykit.tls import (
    CLIENT_CA_ENV,
    CLIENT_CERT_ENV,
    CLIENT_KEY_ENV,
    ClientTLS,
    TLSConfigError,
    explain_unavailable,
)

__all__ = [
    "ClientTLS",
    "TLSConfigError",
    "add_tls_arguments",
    "explain_unavailable",
    "open_channel",
    "tls_from_args",
]

ChannelOptions = Sequence[tuple[str, object]]

# The client's PEM file flags: flag, environment variable, what the file is for.
_PEM_FLAGS = (
    ("--ca", CLIENT_CA_ENV, "use TLS and trust the CA certificate in PEM"),
    ("--cert", CLIENT_CERT_ENV, "client certificate for mutual TLS"),
    ("--key", CLIENT_KEY_ENV, "the client certificate's private key"),
)


def add_tls_arguments(
    parser: argparse.ArgumentParser, environ: Mapping[str, str] | None = None
) -> None:
    """Add --ca, --cert, --key and --tls (defaults from `environ`, else the environment)."""
    env = os.environ if environ is None else environ
    group = parser.add_argument_group("TLS (default: plaintext)")
    for flag, variable, meaning in _PEM_FLAGS:
        group.add_argument(
            flag,
            metavar="PEM",
            default=env.get(variable) or None,
            help=f"{meaning} (env {variable})",
        )
    group.add_argument(
        "--tls",
        action="store_true",
        help="use TLS and trust the system's root certificates (no --ca needed)",
    )


def tls_from_args(args: argparse.Namespace) -> ClientTLS:
    """The TLS setup the parsed flags ask for; TLSConfigError if a file is missing or bad."""
    return ClientTLS.load(
        getattr(args, "ca", None),
        getattr(args, "cert", None),
        getattr(args, "key", None),
        system_roots=bool(getattr(args, "tls", False)),
    )


def open_channel(
    address: str,
    tls: ClientTLS | argparse.Namespace | None = None,
    options: ChannelOptions | None = None,
) -> grpc.aio.Channel:
    """A grpc.aio channel to `address`: secure when `tls` (a ClientTLS or parsed flags) says so.

    Raises TLSConfigError when the flags name a missing or unusable file.
    """
    if isinstance(tls, argparse.Namespace):
        tls = tls_from_args(tls)
    credentials = tls.credentials() if tls is not None else None
    opts = list(options or [])
    if credentials is None:
        return grpc.aio.insecure_channel(address, options=opts)
    return grpc.aio.secure_channel(address, credentials, options=opts)


def uses_tls(tls: ClientTLS | argparse.Namespace | None) -> bool:
    """Whether a channel opened with `tls` speaks TLS (for error messages)."""
    if isinstance(tls, argparse.Namespace):
        return bool(
            getattr(tls, "tls", False) or getattr(tls, "ca", None) or getattr(tls, "cert", None)
        )
    return tls is not None and tls.enabled
