"""The command parser, against the cases the Go client's parser is checked against too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyclient.commands import FILE_HELP_LINES, HELP_LINES, Kind, is_quit, parse

TESTDATA = Path(__file__).resolve().parents[2] / "client" / "chatclient" / "testdata"
VECTORS = json.loads((TESTDATA / "commands.json").read_text(encoding="utf-8"))
# /send and /get, which the page does not have: the Go client's cases too.
FILE_VECTORS = json.loads((TESTDATA / "file_commands.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_parse_matches_the_shared_cases(case: dict[str, str | int]) -> None:
    command = parse(case["input"])
    assert (command.kind.value, command.arg, command.text, command.seconds) == (
        case["command"],
        case["arg"],
        case["text"],
        case.get("seconds", 0),
    )


@pytest.mark.parametrize(
    "case", FILE_VECTORS["cases"], ids=[c["name"] for c in FILE_VECTORS["cases"]]
)
def test_file_commands_match_the_shared_cases(case: dict[str, str]) -> None:
    command = parse(case["input"])
    got = (command.kind.value, command.arg, command.text, command.overwrite)
    assert got == (case["command"], case["arg"], case["text"], case["overwrite"])


def test_every_kind_has_cases() -> None:
    cases = VECTORS["cases"] + FILE_VECTORS["cases"]
    assert {case["command"] for case in cases} == {kind.value for kind in Kind}


def test_file_help_is_the_go_clients() -> None:
    assert list(FILE_HELP_LINES) == FILE_VECTORS["help"]


def test_help_is_the_go_clients() -> None:
    assert list(HELP_LINES) == VECTORS["help"]


@pytest.mark.parametrize(
    ("line", "quits"),
    [("/quit", True), (" /EXIT ", True), ("/q", True), ("/quit now", False), ("//quit", False)],
)
def test_is_quit(line: str, quits: bool) -> None:
    assert is_quit(line) is quits
