"""Rules for a new user's fields."""

from __future__ import annotations

import re

from polychat.user.v1 import user_pb2

from pykit.text import first_unfit_for_name
from pyservices.users.store import NewUser

MAX_NAME_CHARS = 100
MAX_EMAIL_CHARS = 254
MIN_AGE, MAX_AGE = 0, 150

# A pragmatic address check: a local part of the usual characters, '@', and a
# domain of dot-separated labels with at least one dot. Not RFC 5322 in full.
EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


class InvalidUser(ValueError):
    """A field a client must fix; the message names the field."""


def check_new_user(request: user_pb2.CreateUserRequest) -> NewUser:
    name = request.name.strip()
    if not name:
        raise InvalidUser("name: is required")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidUser(f"name: must be at most {MAX_NAME_CHARS} characters")
    if first_unfit_for_name(name) is not None:
        raise InvalidUser("name: must not contain control characters")
    email = request.email
    if not email:
        raise InvalidUser("email: is required")
    if len(email) > MAX_EMAIL_CHARS or not EMAIL_RE.fullmatch(email):
        raise InvalidUser("email: is not a valid address (expected e.g. alice@example.com)")
    if not MIN_AGE <= request.age <= MAX_AGE:
        raise InvalidUser(f"age: must be between {MIN_AGE} and {MAX_AGE}, got {request.age}")
    return NewUser(name=name, email=email, age=request.age)
