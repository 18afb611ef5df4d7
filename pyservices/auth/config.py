"""AuthService options: how long a session lasts (flag, env, default)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pykit.config import Reader, Setting, seconds

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
    SETTINGS: ClassVar[tuple[Setting[Any], ...]] = (SESSION_TTL,)

    session_ttl: float = DEFAULT_SESSION_TTL

    @classmethod
    def read(cls, reader: Reader) -> AuthOptions:
        return cls(session_ttl=reader.get(SESSION_TTL))
