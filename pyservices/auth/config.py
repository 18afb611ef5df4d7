"""AuthService options: how long a session lasts (flag, env, default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pykit.config import Setting, seconds

DEFAULT_SESSION_TTL = 3600.0

SESSION_TTL = Setting(
    "--auth-session-ttl",
    "AUTH_SESSION_TTL",
    seconds(),
    DEFAULT_SESSION_TTL,
    "seconds a session lasts after login",
    metavar="SECONDS",
)


@dataclass(frozen=True)
class AuthOptions:
    """AuthService's own options."""

    SETTINGS: ClassVar[Mapping[str, Setting[Any]]] = {"session_ttl": SESSION_TTL}

    session_ttl: float = DEFAULT_SESSION_TTL
