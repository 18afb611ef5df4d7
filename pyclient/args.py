"""Command-line arguments of the chat client."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from pyclient.backoff import DEFAULT_MAX_DELAY
from pykit.channels import add_tls_arguments
from pykit.chatwire import (
    DEFAULT_AUTH_SERVER,
    DEFAULT_ROOM,
    DEFAULT_SERVER,
    DEFAULT_STREAMING_SERVER,
)
from pykit.config import ArgumentParser, ConfigError, fail

T = TypeVar("T")

# A bare host gets the port of the default address.
DEFAULT_PORT = int(DEFAULT_SERVER.rpartition(":")[2])
DEFAULT_AUTH_PORT = int(DEFAULT_AUTH_SERVER.rpartition(":")[2])
DEFAULT_STREAMING_PORT = int(DEFAULT_STREAMING_SERVER.rpartition(":")[2])
SERVER_ENV = "CHAT_SERVER"
AUTH_SERVER_ENV = "AUTH_SERVER"
STREAMING_SERVER_ENV = "STREAMING_SERVER"
TOKEN_ENV = "CHAT_TOKEN"
MAX_DELAY_ENV = "CHAT_RECONNECT_MAX_DELAY"
NO_RECONNECT_ENV = "CHAT_NO_RECONNECT"
# The positional arguments, in order: each fills the first of these no flag gives.
POSITIONALS = ("name", "room", "server")
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
    # StreamingService, which /send and /get move files through.
    streaming_server: str = DEFAULT_STREAMING_SERVER
    # TLS (for the chat server and AuthService alike): a CA, a client certificate and key,
    # or the system's roots. All unset: plaintext.
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    tls: bool = False
    # Reconnecting after a lost connection: whether to, and the longest wait between attempts.
    reconnect: bool = True
    reconnect_max_delay: float = DEFAULT_MAX_DELAY


_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (`30s`, `1m30s`, `500ms`) or a plain number of seconds.

    Go's form, so that one CHAT_RECONNECT_MAX_DELAY serves both chat clients. Raises
    ValueError unless the duration is more than 0.
    """
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
        at = 0
        while at < len(text):
            part = _DURATION_PART.match(text, at)
            if part is None:
                raise ValueError("not a duration such as 30s, 1m or 500ms") from None
            seconds += float(part[1]) * _UNIT_SECONDS[part[2]]
            at = part.end()
        if not text:
            raise ValueError("not a duration such as 30s, 1m or 500ms") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("must be more than 0")
    return seconds


def parse_switch(text: str) -> bool:
    """An on/off variable: 1, true, yes, on or 0, false, no, off (any case)."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("use 1 (on) or 0 (off)")


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python pyclient/client.py",
        description=(
            "Chat in a Polychat room. Type a line and press Enter to send it; "
            "/quit, /exit, /q, Ctrl+C or end of input leave. The arguments fill name, room "
            "and server in this order, skipping those a flag gives (`--name Alice general` "
            "joins general); with all three arguments, a flag wins over the argument in its "
            "place."
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
    lost = parser.add_argument_group("lost connections")
    lost.add_argument(
        "--reconnect-max-delay",
        metavar="DURATION",
        help=f"longest wait between attempts to reconnect, e.g. 30s, 2m (env {MAX_DELAY_ENV}, "
        f"default {DEFAULT_MAX_DELAY:g}s)",
    )
    lost.add_argument(
        "--no-reconnect",
        action="store_true",
        default=None,
        help=f"end with `disconnected: ...` when the connection is lost, instead of "
        f"reconnecting (env {NO_RECONNECT_ENV}=1)",
    )
    group = parser.add_argument_group("sign-in (for a chat server started with -auth-server)")
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
    parser.add_argument(
        "--streaming-server",
        metavar="HOST:PORT",
        help=f"StreamingService, which /send and /get move files through (env "
        f"{STREAMING_SERVER_ENV}, default {DEFAULT_STREAMING_SERVER}; same TLS options as the "
        "chat server)",
    )
    add_tls_arguments(parser, environ)
    return parser


def _fill_positionals(given: dict[str, str | None], arguments: list[str]) -> dict[str, str]:
    """The positional arguments by the setting each fills, as the Go client fills them.

    Fewer than three fill name, room, server in order, skipping those a flag gives (so
    `--name Alice general` joins general); all three keep their places, and a flag given too
    wins over the argument in its place.
    """
    slots = list(POSITIONALS)
    if len(arguments) < len(POSITIONALS):
        slots = [slot for slot in POSITIONALS if given[slot] is None]
    if len(arguments) > len(slots):
        raise ConfigError(f"too many arguments: {' '.join(arguments[len(slots) :])}")
    return dict(zip(slots, arguments, strict=False))


def _setting(
    parse: Callable[[str], T],
    flag: str,
    flag_value: str | None,
    env_name: str,
    env: Mapping[str, str],
    default: T,
) -> T:
    """A flag's value, else its variable's, else the default; one line and exit 2 if unusable."""
    if flag_value is not None:
        name, other, text = flag, f"env {env_name}", flag_value
    elif env.get(env_name):
        name, other, text = env_name, f"flag {flag}", env[env_name]
    else:
        return default
    try:
        return parse(text)
    except ValueError as err:
        fail(f"invalid value {json.dumps(text, ensure_ascii=False)} for {name} ({other}): {err}")


def parse_args(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> Options:
    env = os.environ if environ is None else environ
    parser = build_parser(env)
    # Flags and positional arguments in any order, as a person types them
    # (`--login user1 general host:port`); plain parse_args stops at the first flag's end.
    ns = parser.parse_intermixed_args(argv)
    given = {"name": ns.name, "room": ns.room, "server": ns.server}
    # argparse fills the three optional positionals in order: the ones given come first.
    arguments = [a for a in (ns.username, ns.room_arg, ns.server_arg) if a is not None]
    try:
        filled = _fill_positionals(given, arguments)
    except ConfigError as err:
        parser.error(str(err))
    name, room, server = (given[slot] or filled.get(slot) for slot in POSITIONALS)
    if not server:
        server = env.get(SERVER_ENV) or DEFAULT_SERVER
    token = ns.token
    if token is None and not ns.login:
        token = env.get(TOKEN_ENV) or None
    no_reconnect = ns.no_reconnect or _setting(
        parse_switch, "--no-reconnect", None, NO_RECONNECT_ENV, env, False
    )
    return Options(
        name=name,
        room=room or DEFAULT_ROOM,
        server=server,
        login=ns.login,
        token=token,
        auth_server=ns.auth_server or env.get(AUTH_SERVER_ENV) or DEFAULT_AUTH_SERVER,
        streaming_server=ns.streaming_server
        or env.get(STREAMING_SERVER_ENV)
        or DEFAULT_STREAMING_SERVER,
        ca=ns.ca,
        cert=ns.cert,
        key=ns.key,
        tls=ns.tls,
        reconnect=not no_reconnect,
        reconnect_max_delay=_setting(
            parse_duration,
            "--reconnect-max-delay",
            ns.reconnect_max_delay,
            MAX_DELAY_ENV,
            env,
            DEFAULT_MAX_DELAY,
        ),
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
