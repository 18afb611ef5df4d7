"""Command-line arguments of the chat client."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

DEFAULT_SERVER = "localhost:50053"
DEFAULT_ROOM = "general"
DEFAULT_PORT = 50053
SERVER_ENV = "CHAT_SERVER"
_SCHEMES = ("dns", "unix", "unix-abstract", "ipv4", "ipv6")


@dataclass(frozen=True)
class Options:
    """What the user asked for: a name (None: ask or let the server pick), a room, a server."""

    name: str | None
    room: str
    server: str


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python pyclient/client.py",
        description=(
            "Chat in a Polychat room. Type a line and press Enter to send it; "
            "/quit, /exit, /q, Ctrl+C or end of input leave."
        ),
    )
    parser.add_argument(
        "username",
        nargs="?",
        help="your name (asked for on a terminal; without one the server assigns Client(N))",
    )
    parser.add_argument(
        "room_arg", nargs="?", metavar="room", help=f"room to join ({DEFAULT_ROOM})"
    )
    parser.add_argument(
        "server_arg",
        nargs="?",
        metavar="server",
        help=f"chat server host:port (env {SERVER_ENV}, default {DEFAULT_SERVER})",
    )
    parser.add_argument("--name", help="same as the username argument")
    parser.add_argument("--room", help="same as the room argument")
    parser.add_argument("--server", help="same as the server argument")
    return parser


def _pick(
    parser: argparse.ArgumentParser, what: str, positional: str | None, option: str | None
) -> str | None:
    if positional is not None and option is not None and positional != option:
        parser.error(f"the {what} is given twice ({positional!r} and {option!r}); give it once")
    return option if option is not None else positional


def parse_args(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> Options:
    env = os.environ if environ is None else environ
    parser = build_parser()
    ns = parser.parse_args(argv)
    name = _pick(parser, "username", ns.username, ns.name)
    room = _pick(parser, "room", ns.room_arg, ns.room)
    server = _pick(parser, "server", ns.server_arg, ns.server)
    if not server:
        server = env.get(SERVER_ENV) or DEFAULT_SERVER
    return Options(name=name, room=room or DEFAULT_ROOM, server=server)


def normalize_target(server: str) -> str:
    """Turn a user's server address into a gRPC target, or raise ValueError saying why not.

    `host` gets the default chat port; `host:port` must have a port in 1-65535 (gRPC would
    otherwise quietly wrap 99999 round to another port). Anything with a scheme (`dns:`,
    `unix:`, `ipv4:` ...) is passed to gRPC as it is.
    """
    target = server.strip()
    if not target:
        raise ValueError("the address is empty")
    if any(c.isspace() or not c.isprintable() for c in target):
        raise ValueError("the address contains spaces or control characters")
    if "://" in target or target.split(":", 1)[0] in _SCHEMES:
        return target
    if target.startswith("["):
        host, sep, rest = target.partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("expected [ipv6-address]:port")
        port = rest[1:] if rest else ""
        host += "]"
    elif target.count(":") > 1:
        return target  # a bare IPv6 address; gRPC knows what to do with it
    else:
        host, _, port = target.partition(":")
    if not host or host == "[]":
        raise ValueError("the host is missing")
    if not port:
        return f"{host}:{DEFAULT_PORT}"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"the port {port!r} is not a number from 1 to 65535")
    return f"{host}:{int(port)}"
