"""Checks a client-supplied file name: a plain name inside one folder, or an error."""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 255

# Characters that reorder or hide text on a terminal (bidi controls) are
# refused too: a name must look like what it is.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


class InvalidName(ValueError):
    """The name is not a plain file name; the message says why, for a person."""


def check_name(name: str) -> str:
    """Return `name` unchanged if it is a safe plain file name, else raise InvalidName."""
    if not name:
        raise InvalidName("file name must not be empty")
    if name in (".", ".."):
        raise InvalidName(f"file name must not be {name!r}")
    for sep in ("/", "\\"):
        if sep in name:
            raise InvalidName(f"file name must not contain {sep!r}: give a plain name, not a path")
    for pos, ch in enumerate(name):
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS:
            raise InvalidName(
                f"file name must not contain control characters (U+{ord(ch):04X} at position {pos})"
            )
    if name.startswith("."):
        raise InvalidName("file name must not start with '.' (hidden files are not accepted)")
    size = len(name.encode("utf-8", errors="surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise InvalidName(f"file name is too long: {size} bytes in UTF-8, at most {MAX_NAME_BYTES}")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        raise InvalidName("file name must be valid UTF-8 text")
    return name
