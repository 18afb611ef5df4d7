"""AuthService options: its LoggerService, how long a session lasts, and login throttling."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pykit.config import Setting, non_empty, seconds, whole_number
from pyservices.auth.throttle import ThrottleConfig

DEFAULT_SESSION_TTL = 3600.0

# None: the logger's listen address in this process (LOGGER_ADDR), which is where the
# LoggerService is when both services run in one process.
LOGGER_SERVER: Setting[str | None] = Setting(
    "--auth-logger-server",
    "AUTH_LOGGER_SERVER",
    non_empty,
    None,
    "LoggerService that AuthService sends its events to; none: where --logger-addr listens",
    metavar="HOST:PORT",
)

SESSION_TTL = Setting(
    "--auth-session-ttl",
    "AUTH_SESSION_TTL",
    seconds(),
    DEFAULT_SESSION_TTL,
    "seconds a session lasts after login",
    metavar="SECONDS",
)

_THROTTLE = ThrottleConfig()
LOGIN_USER_LIMIT = Setting(
    "--auth-login-user-limit",
    "AUTH_LOGIN_USER_LIMIT",
    whole_number(1),
    _THROTTLE.user_limit,
    "failed logins per username before each next attempt must wait (1 s, doubling)",
    metavar="N",
)
LOGIN_ADDRESS_LIMIT = Setting(
    "--auth-login-address-limit",
    "AUTH_LOGIN_ADDRESS_LIMIT",
    whole_number(1),
    _THROTTLE.address_limit,
    "failed logins per client address (IPv6: per /64) before each next attempt must wait",
    metavar="N",
)
LOGIN_MAX_BACKOFF = Setting(
    "--auth-login-max-backoff",
    "AUTH_LOGIN_MAX_BACKOFF",
    seconds(),
    _THROTTLE.max_backoff,
    "longest wait after failed logins, in seconds",
    metavar="SECONDS",
)
LOGIN_FORGET_AFTER = Setting(
    "--auth-login-forget-after",
    "AUTH_LOGIN_FORGET_AFTER",
    seconds(),
    _THROTTLE.forget_after,
    "seconds after the last failed login that its count is forgotten",
    metavar="SECONDS",
)


@dataclass(frozen=True)
class AuthOptions:
    """AuthService's own options."""

    SETTINGS: ClassVar[Mapping[str, Setting[Any]]] = {
        "logger_server": LOGGER_SERVER,
        "session_ttl": SESSION_TTL,
        "login_user_limit": LOGIN_USER_LIMIT,
        "login_address_limit": LOGIN_ADDRESS_LIMIT,
        "login_max_backoff": LOGIN_MAX_BACKOFF,
        "login_forget_after": LOGIN_FORGET_AFTER,
    }

    session_ttl: float = DEFAULT_SESSION_TTL
    login_user_limit: int = _THROTTLE.user_limit
    login_address_limit: int = _THROTTLE.address_limit
    login_max_backoff: float = _THROTTLE.max_backoff
    login_forget_after: float = _THROTTLE.forget_after
    logger_server: str | None = None

    def throttle(self) -> ThrottleConfig:
        return ThrottleConfig(
            user_limit=self.login_user_limit,
            address_limit=self.login_address_limit,
            max_backoff=self.login_max_backoff,
            forget_after=self.login_forget_after,
        )
