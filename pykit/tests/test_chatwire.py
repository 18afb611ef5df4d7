"""pykit.chatwire holds exactly the constants of Go's internal/chatwire, with the same values."""

from __future__ import annotations

import re

import pykit.chatwire
from pykit.testing.processes import REPO

GO_FILE = REPO / "internal" / "chatwire" / "chatwire.go"

# One `Name = literal` line inside the const block; a Go comment may follow the literal.
_CONST_BLOCK = re.compile(r"^const \($(.*?)^\)$", re.MULTILINE | re.DOTALL)
_CONST = re.compile(r'^\s*([A-Z]\w*)\s*=\s*("(?:[^"\\]|\\.)*"|-?\d+)\s*(?://.*)?$', re.MULTILINE)


def go_constants(source: str) -> dict[str, str | int]:
    """The exported constants of the file's `const (...)` block: name -> value."""
    blocks = _CONST_BLOCK.findall(source)
    assert len(blocks) == 1, f"expected one const block in {GO_FILE.name}, found {len(blocks)}"
    found: dict[str, str | int] = {}
    for name, literal in _CONST.findall(blocks[0]):
        found[name] = int(literal) if not literal.startswith('"') else _go_string(literal)
    return found


def _go_string(literal: str) -> str:
    body = literal[1:-1]
    assert "\\" not in body, f"escape in {literal}: keep chatwire values plain"
    return body


def upper_snake(camel: str) -> str:
    """Go's `MaxMessageBytes` -> `MAX_MESSAGE_BYTES`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", camel).upper()


def python_constants() -> dict[str, str | int]:
    return {
        name: value
        for name, value in vars(pykit.chatwire).items()
        if name.isupper() and isinstance(value, str | int)
    }


def test_upper_snake() -> None:
    assert upper_snake("UserKey") == "USER_KEY"
    assert upper_snake("DefaultAuthServer") == "DEFAULT_AUTH_SERVER"
    assert upper_snake("MaxMessageBytes") == "MAX_MESSAGE_BYTES"


def test_go_constants_reads_the_const_block() -> None:
    source = 'package x\n\nconst (\n\t// doc\n\tA = "a" // why\n\tLongName = 12\n)\n'
    assert go_constants(source) == {"A": "a", "LongName": 12}


def test_python_copy_matches_go_name_for_name() -> None:
    assert GO_FILE.is_file(), f"{GO_FILE.relative_to(REPO)} is missing: the constants' home"
    go = {upper_snake(name): value for name, value in go_constants(GO_FILE.read_text()).items()}
    assert go, f"no constants found in {GO_FILE.relative_to(REPO)}"
    python = python_constants()
    assert sorted(set(go) - set(python)) == [], "in Go, missing from pykit/chatwire.py"
    assert sorted(set(python) - set(go)) == [], "in pykit/chatwire.py, missing from Go"
    assert {name: python[name] for name in go} == go
