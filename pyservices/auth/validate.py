"""Rules for usernames and passwords."""

from __future__ import annotations

from pykit.text import first_unfit_for_name, sanitize
from pyservices.identity import display_form

INVALID_CREDENTIALS = "invalid username or password"
MAX_USERNAME_CHARS = 64
MIN_PASSWORD_CHARS = 8
# argon2 hashes any length, but a bound keeps one request from costing more
# than a normal one.
MAX_PASSWORD_CHARS = 1024


class InvalidArgument(ValueError):
    """A request field a client must fix."""


def username_problem(username: str) -> str | None:
    """Why no account can have this (NFC) username, or None if one could."""
    if not username:
        return "username is required"
    if len(username) > MAX_USERNAME_CHARS:
        return f"username must be at most {MAX_USERNAME_CHARS} characters"
    if first_unfit_for_name(username) is not None:
        return "username must not contain control characters"
    if username != username.strip():
        return "username must not start or end with whitespace"
    return None


def check_username(username: str) -> str:
    """The username as stored (NFC), or InvalidArgument saying what to fix."""
    username = display_form(username)
    problem = username_problem(username)
    if problem is not None:
        raise InvalidArgument(problem)
    return username


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidArgument(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidArgument(f"password must be at most {MAX_PASSWORD_CHARS} characters")


def printable_name(name: str) -> str:
    """A username as it may appear in an audit event: bounded, no control characters."""
    if len(name) > MAX_USERNAME_CHARS:
        name = name[:MAX_USERNAME_CHARS] + "…"
    return sanitize(name)
