"""The one rule for text that reaches a terminal: what a terminal would obey is shown escaped.

Unsafe characters are the C0 controls (U+0000-U+001F, newline and tab included), DEL
(U+007F), the C1 controls (U+0080-U+009F), the bidirectional embeddings and overrides
(U+202A-U+202E) and the bidirectional isolates (U+2066-U+2069): they move the cursor,
recolour, start escape sequences, break a line, or make text display as something else.
`sanitize` shows each as a visible escape, `\\xNN` below U+0100 and `\\uNNNN` above, so the
result is always one line; everything else, non-ASCII text included, is left as it is.
A byte that was not valid UTF-8 (a lone surrogate U+DC80-U+DCFF after Python's
`surrogateescape`, as in file names and arguments) is shown as `\\xNN` of that byte, and any
other lone surrogate as `\\uNNNN`: Go shows an invalid byte the same way.

This is the Go chat server's and chat client's rule (internal/textsafe); the shared test
vectors in internal/textsafe/testdata/vectors.json keep the two languages in step.

Names are stricter than text: `unfit_for_name` also refuses the invisible format characters
(zero-width spaces and joiners, bidirectional marks) and the line and paragraph separators,
which print nothing a person can see and so let one name pass for another.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Where surrogateescape puts an undecodable byte b: U+DC00 + b, for b in 0x80-0xFF.
_ESCAPED_BYTES = range(0xDC80, 0xDD00)

# Categories a name may not contain beyond the unsafe characters: format characters
# (Cf: zero-width, bidi marks, soft hyphen, BOM) and line and paragraph separators.
_INVISIBLE = frozenset({"Cf", "Zl", "Zp"})


def is_unsafe(ch: str) -> bool:
    """Whether the character `ch` must not reach a terminal as it is."""
    return _UNSAFE.fullmatch(ch) is not None


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in _ESCAPED_BYTES:
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def sanitize(text: str) -> str:
    """`text` with every unsafe character replaced by a visible escape (`\\x1b`, `\\u202e`)."""
    return _UNSAFE.sub(_escape, text)


def first_unsafe(text: str) -> str | None:
    """The first unsafe character in `text`, or None."""
    match = _UNSAFE.search(text)
    return match.group() if match else None


def unfit_for_name(ch: str) -> bool:
    """Whether a name (a user, a file) may not contain `ch`: unsafe or invisible."""
    return is_unsafe(ch) or unicodedata.category(ch) in _INVISIBLE


def first_unfit_for_name(text: str) -> tuple[int, str] | None:
    """(position, character) of the first character a name may not contain, or None."""
    for pos, ch in enumerate(text):
        if unfit_for_name(ch):
            return pos, ch
    return None
