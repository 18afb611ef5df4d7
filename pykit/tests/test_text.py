"""pykit.text: the one rule for text that reaches a terminal, and the stricter one for names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pykit.testing.processes import REPO
from pykit.text import first_unfit_for_name, first_unsafe, is_unsafe, sanitize, unfit_for_name

# Written by the Go tests' side (internal/textsafe): both languages must agree on every one.
VECTORS = REPO / "internal" / "textsafe" / "testdata" / "vectors.json"


def load_vectors(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        pytest.fail(f"{path.relative_to(REPO)} is missing: the shared text-rule vectors")
    vectors = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(vectors, list) and vectors, f"{path} holds no vectors"
    return vectors


def test_sanitize_agrees_with_the_go_rule_on_every_shared_vector() -> None:
    vectors = load_vectors(VECTORS)
    wrong = [
        (v.get("name", v["input"]), v["input"], sanitize(v["input"]), v["sanitized"])
        for v in vectors
        if sanitize(v["input"]) != v["sanitized"]
    ]
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Hi Alice!", "Hi Alice!"),
        ("", ""),
        ("a\nb", "a\\x0ab"),
        ("tab\there", "tab\\x09here"),
        ("cr\rlf", "cr\\x0dlf"),
        ("\x00", "\\x00"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x1f", "\\x1f"),
        ("del\x7f", "del\\x7f"),
        ("nel\x85", "nel\\x85"),
        ("\x80\x9f", "\\x80\\x9f"),
        ("\x9b2J", "\\x9b2J"),
        ("\u202aembed\u202c", "\\u202aembed\\u202c"),
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),
        # Printable neighbours stay as they are.
        (" ~\xa0é\u2029\u2065\u206a\u2029\u202f", " ~\xa0é\u2029\u2065\u206a\u2029\u202f"),
        ("日本語 😀", "日本語 😀"),
        ("back\\slash", "back\\slash"),
    ],
)
def test_sanitize_escapes_what_a_terminal_obeys(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown


def test_sanitize_every_listed_code_point_is_escaped_and_one_line() -> None:
    listed = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F)]
    listed += range(0x2066, 0x206A)
    for cp in listed:
        out = sanitize(chr(cp))
        assert out == (f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}")
        assert out.isprintable()


def test_is_unsafe_and_first_unsafe_follow_sanitize() -> None:
    for cp in [*range(0x00, 0x2100), *range(0x2100, 0x10000, 7)]:
        ch = chr(cp)
        assert is_unsafe(ch) == (sanitize(ch) != ch), hex(cp)
    assert first_unsafe("fine text") is None
    assert first_unsafe("a\u202eb\x1b") == "\u202e"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        # surrogateescape's stand-in for the undecodable byte 0xff: shown as that byte, as in Go.
        (b"caf\xff".decode("utf-8", "surrogateescape"), "caf\\xff"),
        ("\ud800", "\\ud800"),
    ],
)
def test_sanitize_shows_undecodable_bytes_as_go_does(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown
    assert sanitize(raw).encode("utf-8")  # printable: no lone surrogate is left


@pytest.mark.parametrize(
    "ch",
    [
        "\x00",
        "\x1b",
        "\n",
        "\x7f",
        "\x85",
        "\u202e",
        "\u2066",
        "\u200b",
        "\u200d",
        "\u200e",
        "\u061c",
        "\ufeff",
        "\xad",
        "\u2028",
        "\u2029",
    ],
)
def test_names_refuse_controls_and_invisible_characters(ch: str) -> None:
    assert unfit_for_name(ch)
    assert first_unfit_for_name(f"ab{ch}c") == (2, ch)


@pytest.mark.parametrize("name", ["alice", "Zoë", "日本語", "a b", "x\xa0y", "😀"])
def test_names_accept_visible_text(name: str) -> None:
    assert first_unfit_for_name(name) is None
