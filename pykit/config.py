"""Settings from flags and environment variables, read the same way by every Python command.

The scheme (shared with the Go binaries): a variable is named `<SCOPE>_<SETTING>`, with scope
`POLYCHAT_` for what every process has (data folder, log level and format, TLS) and the
component's own scope otherwise (`SERVICES_`, `FILE_`, `AUTH_`, `STREAMING_`, ...). A flag wins
over its variable, which wins over the default; a variable set to the empty string counts as
unset unless the setting says empty means something (an empty metrics address: no endpoint).
A secret (a key) has a variable and no flag, which `ps` would show to every user of the machine,
and an error about it names the variable without quoting the value.

A renamed variable or flag keeps working as a deprecated alias: the `Reader` notes one line
naming the new name, for the command to print or log. A value that cannot be used is a
`ConfigError` whose text is the whole message; commands print it as one line and exit with
status 2 (`fail`), never with a traceback. `ArgumentParser` does the same for argparse's own
usage errors (an unknown flag, a missing argument).

    SIZE = Setting("--file-max-bytes", "FILE_MAX_BYTES", whole_number(0), 4096, "largest file")
    parser = ArgumentParser(prog="...")
    SIZE.add_to(parser)
    reader = Reader(parser.parse_args())
    try:
        size = reader.get(SIZE)
    except ConfigError as err:
        fail(str(err))
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, NoReturn, TypeVar

T = TypeVar("T")

EXIT_USAGE = 2

LOG_LEVELS = ("debug", "info", "warn", "error")
# Python's logging and many people say "warning"; both languages accept it for `warn`.
_LEVEL_SYNONYMS = {"warning": "warn"}
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """A flag or environment value that cannot be used; its text is the one line to print."""


def fail(message: str, prefix: str = "error") -> NoReturn:
    """Print `prefix: message` as one line on stderr and exit with status 2."""
    print(f"{prefix}: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with its usage errors in one line (`error: …`) instead of the usage text.

    `error_prefix` starts the line; sub-command parsers made from this one use the default.
    """

    def __init__(self, *args: object, error_prefix: str = "error", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.error_prefix = error_prefix

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see --help)", self.error_prefix)


# ---- parsing: each function takes the text and returns the value or raises ValueError -------


def whole_number(minimum: int = 0) -> Callable[[str], int]:
    """A parser of base-10 integers of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError("not a whole number") from None
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return parse


def seconds(*, allow_zero: bool = False) -> Callable[[str], float]:
    """A parser of a number of seconds (`0.5`, `3600`): more than 0, or 0 and more."""

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError("not a number of seconds") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise ValueError("must be 0 or more" if allow_zero else "must be more than 0")
        return value

    return parse


def log_level(text: str) -> str:
    """`debug`, `info`, `warn` (or `warning`), `error`, in any case; returns the canonical name."""
    name = text.strip().lower()
    name = _LEVEL_SYNONYMS.get(name, name)
    if name not in LOG_LEVELS:
        raise ValueError(f"choose from {', '.join(LOG_LEVELS)}")
    return name


def log_format(text: str) -> str:
    """`text` or `json`."""
    name = text.strip().lower()
    if name not in LOG_FORMATS:
        raise ValueError(f"choose from {', '.join(LOG_FORMATS)}")
    return name


def non_empty(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def folder(text: str) -> Path:
    return Path(non_empty(text))


def split_host_port(address: str) -> tuple[str, int]:
    """`:9050` (every interface), `127.0.0.1:9050`, `[::1]:9050`, `localhost:0`."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError("not HOST:PORT or :PORT")
    return host.removeprefix("[").removesuffix("]"), int(port)


def listen_address(text: str) -> str:
    """An address a gRPC server can listen on: HOST:PORT, :PORT, or unix:PATH."""
    if text.startswith(("unix:", "unix-abstract:")):
        return text
    split_host_port(text)
    return text


def optional_address(text: str) -> str:
    """A HOST:PORT to listen on, or empty for "off"."""
    if text.strip():
        split_host_port(text)
    return text


def argument_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """One of the parsers above as an argparse `type=`: its problem becomes the error text."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{_quote(text)}: {err}") from None

    return convert


# ---- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting: its flag, its variable, how its text is read, and its default.

    A setting without a flag (`flag=None`) is a secret, read from its variable only; its value
    is never quoted in an error.
    """

    flag: str | None  # "--file-max-bytes"; None: a secret, environment only
    env: str  # "FILE_MAX_BYTES"
    parse: Callable[[str], T]
    default: T
    help: str
    metavar: str | None = None
    # Deprecated names that still work: variables ("OLD_NAME") and flags ("--old-name").
    renamed_from: tuple[str, ...] = ()
    # Whether an empty variable is a value (e.g. "off") rather than unset.
    empty_is_value: bool = False

    @property
    def dest(self) -> str:
        """The flag's argparse destination (empty for a secret, which has no flag)."""
        return (self.flag or "").removeprefix("--").replace("-", "_")

    @property
    def secret(self) -> bool:
        return self.flag is None

    def add_to(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        """Add the flag (and hidden deprecated flags); values are read later by a `Reader`.

        A secret has no flag: its variable is named in the help's text instead.
        """
        shown = "none" if self.default is None else str(self.default) or "empty"
        if self.flag is None:
            line = f"{self.env} (environment only): {self.help} (default: {shown})."
            parser.description = f"{parser.description} {line}" if parser.description else line
            return
        parser.add_argument(
            self.flag,
            dest=self.dest,
            default=None,
            metavar=self.metavar,
            help=f"{self.help} (env {self.env}, default: {shown})",
        )
        for old in self._old_flags():
            parser.add_argument(
                old, dest=_old_dest(old), default=None, metavar=self.metavar, help=argparse.SUPPRESS
            )

    def _old_flags(self) -> tuple[str, ...]:
        return tuple(n for n in self.renamed_from if n.startswith("--"))

    def _old_vars(self) -> tuple[str, ...]:
        return tuple(n for n in self.renamed_from if not n.startswith("--"))


def _old_dest(flag: str) -> str:
    return "renamed__" + flag.removeprefix("--").replace("-", "_")


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


class Reader:
    """Reads settings from parsed flags, then the environment, then the defaults.

    `renamed` collects one line per deprecated name in use, for the command to show.
    """

    def __init__(
        self, args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self._args = args
        self._env = os.environ if environ is None else environ
        self.renamed: list[str] = []

    def _flag(self, dest: str) -> str | None:
        value = getattr(self._args, dest, None) if self._args is not None else None
        return value if isinstance(value, str) else None

    def _var(self, name: str, setting: Setting[T]) -> str | None:
        value = self._env.get(name)
        if value is None or (value == "" and not setting.empty_is_value):
            return None
        return value

    def _deprecated(self, old: str, new: str) -> None:
        line = f"{old} is deprecated and will be removed; use {new}"
        if line not in self.renamed:
            self.renamed.append(line)

    def _find(self, setting: Setting[T]) -> tuple[str, str, str] | None:
        """(name used, the other name to mention, text) of the first place that sets it."""
        flag = setting.flag
        if flag is not None:
            text = self._flag(setting.dest)
            if text is not None:
                return flag, f"env {setting.env}", text
            for old in setting._old_flags():
                text = self._flag(_old_dest(old))
                if text is not None:
                    self._deprecated(old, flag)
                    return old, f"env {setting.env}", text
        other = "environment only" if flag is None else f"flag {flag}"
        text = self._var(setting.env, setting)
        if text is not None:
            return setting.env, other, text
        for old in setting._old_vars():
            text = self._var(old, setting)
            if text is not None:
                self._deprecated(old, setting.env)
                return old, other, text
        return None

    def given(self, setting: Setting[T]) -> str | None:
        """The flag or variable that set `setting` (a deprecated one included); None if unset."""
        found = self._find(setting)
        return None if found is None else found[0]

    def get(self, setting: Setting[T]) -> T:
        """The setting's value; ConfigError naming the flag and its variable if it is unusable."""
        found = self._find(setting)
        if found is None:
            return setting.default
        name, other, text = found
        try:
            return setting.parse(text)
        except ValueError as err:
            value = "value" if setting.secret else f"value {_quote(text)}"
            raise ConfigError(f"invalid {value} for {name} ({other}): {err}") from None

    def get_one_of(self, settings: Sequence[Setting[T]]) -> T:
        """The value of whichever of `settings` is given (the first's default if none is).

        They are ways to give one thing (a key, or the file it is in): more than one given is a
        ConfigError naming them, not a precedence, since the one that lost would be silently
        ignored.
        """
        given = [(setting, self._find(setting)) for setting in settings]
        found = [(setting, where) for setting, where in given if where is not None]
        if len(found) > 1:
            names = " and ".join(f"{where[0]} ({where[1]})" for _, where in found)
            raise ConfigError(f"{names} cannot both be set; set only one")
        return self.get(found[0][0] if found else settings[0])


# ---- the settings every process has ------------------------------------------------------------

DATA_DIR = Setting(
    "--data-dir",
    "POLYCHAT_DATA_DIR",
    folder,
    Path("data"),
    "folder for uploaded files and databases",
    metavar="DIR",
)
LOG_LEVEL = Setting(
    "--log-level",
    "POLYCHAT_LOG_LEVEL",
    log_level,
    "info",
    f"lowest level logged: {', '.join(LOG_LEVELS)} (warning is the same as warn)",
    metavar="LEVEL",
)
LOG_FORMAT = Setting(
    "--log-format",
    "POLYCHAT_LOG_FORMAT",
    log_format,
    "text",
    "log line format: text (key=value) or json (one object a line)",
    metavar="FORMAT",
)
