"""LoggerService options: which client certificates may write (flag, env, default).

The shared write key is not an option of LoggerService alone: AuthService sends the same
key, so it is one of the process's settings (`Settings.logger_write_key`, see writers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pykit.config import Setting
from pyservices.logger.writers import WRITERS_ENV, parse_writers

WRITERS: Setting[frozenset[str] | None] = Setting(
    "--logger-writers",
    WRITERS_ENV,
    parse_writers,
    None,
    "with mutual TLS, the client-certificate names (comma-separated) that may write to the "
    "audit log; none: any certificate the client CA signed",
    metavar="NAMES",
)


@dataclass(frozen=True)
class LoggerOptions:
    """LoggerService's own options."""

    SETTINGS: ClassVar[Mapping[str, Setting[Any]]] = {"writers": WRITERS}

    writers: frozenset[str] | None = None
