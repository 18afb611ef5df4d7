"""The command parser, against the cases the Go client's parser is checked against too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyclient.commands import HELP_LINES, Kind, is_quit, parse

VECTORS = json.loads(
    (
        Path(__file__).resolve().parents[2] / "client" / "chatclient" / "testdata" / "commands.json"
    ).read_text(encoding="utf-8")
)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_parse_matches_the_shared_cases(case: dict[str, str | int]) -> None:
    command = parse(case["input"])
    assert (command.kind.value, command.arg, command.text, command.seconds) == (
        case["command"],
        case["arg"],
        case["text"],
        case.get("seconds", 0),
    )


def test_every_kind_has_cases() -> None:
    assert {case["command"] for case in VECTORS["cases"]} == {kind.value for kind in Kind}


def test_help_is_the_go_clients() -> None:
    assert list(HELP_LINES) == VECTORS["help"]


@pytest.mark.parametrize(
    ("line", "quits"),
    [("/quit", True), (" /EXIT ", True), ("/q", True), ("/quit now", False), ("//quit", False)],
)
def test_is_quit(line: str, quits: bool) -> None:
    assert is_quit(line) is quits
