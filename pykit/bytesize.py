"""Sizes as people read them, worded as the chat server words its notices (internal/bytesize).

The chat clients show transfers with it, and the services word their size limits with it.
"""

from __future__ import annotations


def human_bytes(n: int) -> str:
    """`512 bytes`, `1 byte`, `1.2 MB`: powers of 1000, one decimal."""
    if n < 1000:
        return "1 byte" if n == 1 else f"{n} bytes"
    value = float(n)
    units = ("kB", "MB", "GB", "TB")
    for i, unit in enumerate(units):
        value /= 1000
        if value < 999.95 or i == len(units) - 1:
            return f"{value:.1f} {unit}"
    return f"{n} bytes"


def exact_bytes(n: int) -> str:
    """human_bytes with the exact count when it rounds: `1.1 GB (1073741824 bytes)`."""
    return human_bytes(n) if n < 1000 else f"{human_bytes(n)} ({n} bytes)"
