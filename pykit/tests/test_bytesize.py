"""Sizes are worded as the chat server words them (internal/bytesize)."""

from __future__ import annotations

from pykit.bytesize import exact_bytes, human_bytes


def test_human_bytes_as_the_server_words_them() -> None:
    assert [human_bytes(n) for n in (0, 1, 999, 1000, 1_234_567, 999_960, 5 << 30)] == [
        "0 bytes",
        "1 byte",
        "999 bytes",
        "1.0 kB",
        "1.2 MB",
        "1.0 MB",
        "5.4 GB",
    ]


def test_exact_bytes_adds_the_count_when_it_rounds() -> None:
    assert exact_bytes(999) == "999 bytes"
    assert exact_bytes(1 << 30) == "1.1 GB (1073741824 bytes)"
