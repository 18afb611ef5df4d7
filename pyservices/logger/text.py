"""Making text from the network safe to print on a terminal."""

from __future__ import annotations

import unicodedata

# Control (Cc) and format (Cf, e.g. bidi overrides) characters can move the
# cursor, recolour or hide text; they are shown as escapes instead.
_UNSAFE = {"Cc", "Cf", "Zl", "Zp"}


def sanitize(text: str) -> str:
    """Return `text` with control and escape characters shown as visible escapes."""
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if unicodedata.category(ch) in _UNSAFE:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def has_control(text: str) -> bool:
    """True if `text` holds a control or format character."""
    return any(unicodedata.category(ch) in _UNSAFE for ch in text)
