"""Command-line arguments of the chat client."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass

from pykit.channels import add_tls_arguments
from pykit.chatwire import DEFAULT_AUTH_SERVER, DEFAULT_ROOM, DEFAULT_SERVER

# A bare host gets the port of the default address.
DEFAULT_PORT = int(DEFAULT_SERVER.rpartition(":")[2])
DEFAULT_AUTH_PORT = int(DEFAULT_AUTH_SERVER.rpartition(":")[2])
SERVER_ENV = "CHAT_SERVER"
AUTH_SERVER_ENV = "AUTH_SERVER"
TOKEN_ENV = "CHAT_TOKEN"
_SCHEMES = ("dns", "unix", "unix-abstract", "ipv4", "ipv6")


@dataclass(frozen=True)
class Options:
    """What the user asked for: a name (None: ask or let the server pick), a room, a server."""

    name: str | None
    room: str
    server: str
    # Sign-in: ask for the password and get a token from AuthService, or use a token.
    login: bool = False
    token: str | None = None
    auth_server: str = DEFAULT_AUTH_SERVER
    # TLS (for the chat server and AuthService alike): a CA, a client certificate and key,
    # or the system's roots. All unset: plaintext.
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    tls: bool = False


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
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
    group = parser.add_argument_group("sign-in (for a chat server started with -auth-addr)")
    signin = group.add_mutually_exclusive_group()
    signin.add_argument(
        "--login",
        action="store_true",
        help="sign in as the username: asks for the password (when stdin is not a terminal, "
        "its first line is the password) and sends the session token with the chat stream",
    )
    signin.add_argument(
        "--token",
        help=f"sign in with an existing session token (env {TOKEN_ENV}, which, unlike a "
        "flag, other users cannot read in the process list)",
    )
    group.add_argument(
        "--auth-server",
        metavar="HOST:PORT",
        help=f"AuthService for --login (env {AUTH_SERVER_ENV}, default {DEFAULT_AUTH_SERVER}; "
        "same TLS options as the chat server)",
    )
    add_tls_arguments(parser, environ)
    return parser


def _pick(
    parser: argparse.ArgumentParser, what: str, positional: str | None, option: str | None
) -> str | None:
    if positional is not None and option is not None and positional != option:
        parser.error(f"the {what} is given twice ({positional!r} and {option!r}); give it once")
    return option if option is not None else positional


def parse_args(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> Options:
    env = os.environ if environ is None else environ
    parser = build_parser(env)
    # Flags and positional arguments in any order, as a person types them
    # (`--login user1 general host:port`); plain parse_args stops at the first flag's end.
    ns = parser.parse_intermixed_args(argv)
    name = _pick(parser, "username", ns.username, ns.name)
    room = _pick(parser, "room", ns.room_arg, ns.room)
    server = _pick(parser, "server", ns.server_arg, ns.server)
    if not server:
        server = env.get(SERVER_ENV) or DEFAULT_SERVER
    token = ns.token
    if token is None and not ns.login:
        token = env.get(TOKEN_ENV) or None
    return Options(
        name=name,
        room=room or DEFAULT_ROOM,
        server=server,
        login=ns.login,
        token=token,
        auth_server=ns.auth_server or env.get(AUTH_SERVER_ENV) or DEFAULT_AUTH_SERVER,
        ca=ns.ca,
        cert=ns.cert,
        key=ns.key,
        tls=ns.tls,
    )


def normalize_target(server: str, default_port: int = DEFAULT_PORT) -> str:
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
        return f"{host}:{default_port}"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"the port {port!r} is not a number from 1 to 65535")
    return f"{host}:{int(port)}"
