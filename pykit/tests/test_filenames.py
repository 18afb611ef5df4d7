"""check_name: each refused name gets the reason that applies to it, word for word."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pykit.filenames import MAX_NAME_BYTES, InvalidName, check_name

PATH = "give a plain name, not a path"
NAMES_JSON = Path(__file__).parents[2] / "internal" / "filename" / "testdata" / "names.json"

# One entry per rule, and per way of breaking it: with the rules checked in
# order, a looser rule would show up here as another rule's reason.
_REFUSED = [
    ("", "file name must not be empty"),
    (".", "file name must not be '.'"),
    ("..", "file name must not be '..'"),
    ("a/b", f"file name must not contain '/': {PATH}"),
    ("../x", f"file name must not contain '/': {PATH}"),
    ("/etc/passwd", f"file name must not contain '/': {PATH}"),
    ("dir/", f"file name must not contain '/': {PATH}"),
    ("a\\b", f"file name must not contain '\\\\': {PATH}"),
    ("..\\x", f"file name must not contain '\\\\': {PATH}"),
    ("a\x00b", "file name must not contain control characters (U+0000 at position 1)"),
    ("\x00", "file name must not contain control characters (U+0000 at position 0)"),
    ("a\nb", "file name must not contain control characters (U+000A at position 1)"),
    ("tab\t", "file name must not contain control characters (U+0009 at position 3)"),
    ("esc\x1b[31m", "file name must not contain control characters (U+001B at position 3)"),
    ("del\x7f", "file name must not contain control characters (U+007F at position 3)"),
    ("c1\x85", "file name must not contain control characters (U+0085 at position 2)"),
    ("line\u2028sep", "file name must not contain control characters (U+2028 at position 4)"),
    ("para\u2029sep", "file name must not contain control characters (U+2029 at position 4)"),
    ("txt.\u202eexe", "file name must not contain control characters (U+202E at position 4)"),
    ("\u2066isolate", "file name must not contain control characters (U+2066 at position 0)"),
    (".hidden", "file name must not start with '.' (hidden files are not accepted)"),
    ("...", "file name must not start with '.' (hidden files are not accepted)"),
    (".. ", "file name must not start with '.' (hidden files are not accepted)"),
    ("x" * 256, "file name is too long: 256 bytes in UTF-8, at most 255"),
    ("é" * 128, "file name is too long: 256 bytes in UTF-8, at most 255"),
    ("a" + "€" * 85, "file name is too long: 256 bytes in UTF-8, at most 255"),
    ("a\ud800b", "file name must be valid UTF-8 text"),
    ("\udfff", "file name must be valid UTF-8 text"),
    ("\ud83d\ude00.txt", "file name must be valid UTF-8 text"),  # a pair, as two code points
]


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _case(name: str, reason: str) -> object:
    shown = ascii(name) if len(name) <= 16 else f"{name[:6]!a}...{len(name)}"
    return pytest.param(name, reason, id=shown)


REFUSED = [_case(name, reason) for name, reason in _REFUSED]
# The refused names a client can send at all (protobuf strings are UTF-8): the
# services' tests send each one and expect its reason in the status.
SENDABLE = [_case(name, reason) for name, reason in _REFUSED if _utf8(name)]

ACCEPTED = [
    "a",
    "a.",
    "a..b",
    "a é.txt",
    "x" * MAX_NAME_BYTES,
    "é" * 127 + "x",  # 255 bytes
    "\U0001f600.txt",
    "name with spaces",
    "-dash",
]


@pytest.mark.parametrize(("name", "reason"), REFUSED)
def test_refused_name_gets_its_reason(name: str, reason: str) -> None:
    with pytest.raises(InvalidName) as info:
        check_name(name)
    assert str(info.value) == reason


@pytest.mark.parametrize("name", ACCEPTED)
def test_plain_names_are_accepted_unchanged(name: str) -> None:
    assert check_name(name) is name


def test_the_go_rule_reads_the_same_names() -> None:
    """internal/filename/testdata/names.json, which the Go chat client and server check
    against, holds the same names and reasons as this file."""
    vectors = json.loads(NAMES_JSON.read_text())
    sendable = [(n, r) for n, r in _REFUSED if _utf8(n)]
    assert [(c["name"], c["reason"]) for c in vectors["refused"]] == sendable
    assert vectors["accepted"] == ACCEPTED
