"""Checks a file name from the network: a plain name inside one folder, or an error.

The services check the names of uploads with it, and the chat client the names of
downloads, so that no name leaves the folder it is written into.
"""

from __future__ import annotations

from pykit.text import first_unfit_for_name

MAX_NAME_BYTES = 255


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
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        raise InvalidName("file name must be valid UTF-8 text")
    # Control and invisible characters (bidi marks, zero-width) would let the name look
    # like another one: a name must look like what it is.
    if unfit := first_unfit_for_name(name):
        pos, ch = unfit
        raise InvalidName(
            f"file name must not contain control characters (U+{ord(ch):04X} at position {pos})"
        )
    if name.startswith("."):
        raise InvalidName("file name must not start with '.' (hidden files are not accepted)")
    size = len(name.encode("utf-8", errors="surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise InvalidName(f"file name is too long: {size} bytes in UTF-8, at most {MAX_NAME_BYTES}")
    return name
