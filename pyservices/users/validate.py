"""Rules for a new user's fields."""

from __future__ import annotations

import re
import unicodedata

from polychat.user.v1 import user_pb2

from pykit.text import first_unfit_for_name
from pyservices.identity import display_form
from pyservices.users.store import NewUser

MAX_NAME_CHARS = 100
MAX_EMAIL_CHARS = 254
MIN_AGE, MAX_AGE = 0, 150

# A pragmatic address check: a local part of the usual characters, '@', and a
# domain of dot-separated labels with at least one dot. Not RFC 5322 in full.
# Internationalised addresses (RFC 6531: `émile@exemple.fr`, `用户@例子.广告`) are
# checked in the same shape, each non-ASCII letter, mark or digit standing for a letter.
EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


class InvalidUser(ValueError):
    """A field a client must fix; the message names the field."""


def email_shape(email: str) -> str:
    """`email` with every non-ASCII letter, mark or digit as `a`, and other non-ASCII as NUL."""
    if email.isascii():
        return email
    return "".join(
        ch if ch.isascii() else ("a" if unicodedata.category(ch)[0] in "LMN" else "\0")
        for ch in email
    )


def check_new_user(request: user_pb2.CreateUserRequest) -> NewUser:
    """The user as stored (name and email in NFC), or InvalidUser naming the field."""
    name = display_form(request.name.strip())
    if not name:
        raise InvalidUser("name: is required")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidUser(f"name: must be at most {MAX_NAME_CHARS} characters")
    if first_unfit_for_name(name) is not None:
        raise InvalidUser("name: must not contain control characters")
    email = display_form(request.email)
    if not email:
        raise InvalidUser("email: is required")
    if len(email) > MAX_EMAIL_CHARS or not EMAIL_RE.fullmatch(email_shape(email)):
        raise InvalidUser("email: is not a valid address (expected e.g. alice@example.com)")
    if not MIN_AGE <= request.age <= MAX_AGE:
        raise InvalidUser(f"age: must be between {MIN_AGE} and {MAX_AGE}, got {request.age}")
    return NewUser(name=name, email=email, age=request.age)
