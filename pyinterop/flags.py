"""Command-line flags in the style of gRPC's reference interop binaries.

Those binaries take `--name=value` flags with underscores and booleans written
`--use_tls`, `--use_tls=true` or `--use_tls=false`; ours take the same so that one
command line fits every peer. A bad value is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pykit.config import ArgumentParser

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def boolean(text: str) -> bool:
    """`true`/`false` (also 1/0, yes/no), as the reference binaries' boolean flags take."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not true or false")


def port(text: str) -> int:
    """A TCP port number, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (1-65535)")
    return value


def add_boolean(parser: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    """A boolean flag that is off unless given: `--flag` or `--flag=true` turn it on."""
    parser.add_argument(
        flag, type=boolean, nargs="?", const=True, default=False, metavar="BOOL", help=help_text
    )


def parser(prog: str, description: str) -> ArgumentParser:
    """An argument parser whose usage errors are one line and exit status 2."""
    return ArgumentParser(prog=prog, description=description)


def read_pem(path: Path, flag: str) -> bytes:
    """The PEM file at `path`; ValueError naming `flag` when it is unreadable or not PEM."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read {flag} {path}: {err.strerror}") from None
    if b"-----BEGIN " not in data:
        raise ValueError(f"{flag} {path} is not a PEM file")
    return data
