"""pykit.config: the parsers, the flag-variable-default order, renamed names, one-line errors."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pykit import config
from pykit.config import ArgumentParser, ConfigError, Reader, Setting


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (config.whole_number(0), "0", 0),
        (config.whole_number(0), " 42 ", 42),
        (config.whole_number(1), "8388608", 8388608),
        (config.seconds(), "0.3", 0.3),
        (config.seconds(), "3600", 3600.0),
        (config.seconds(allow_zero=True), "0", 0.0),
        (config.log_level, "debug", "debug"),
        (config.log_level, "INFO", "info"),
        (config.log_level, "warn", "warn"),
        (config.log_level, "warning", "warn"),
        (config.log_level, "Warning", "warn"),
        (config.log_level, "error", "error"),
        (config.log_format, "text", "text"),
        (config.log_format, "JSON", "json"),
        (config.listen_address, "[::]:50051", "[::]:50051"),
        (config.listen_address, ":0", ":0"),
        (config.listen_address, "unix:/tmp/x.sock", "unix:/tmp/x.sock"),
        (config.optional_address, "", ""),
        (config.optional_address, "127.0.0.1:9050", "127.0.0.1:9050"),
        (config.folder, "data", Path("data")),
    ],
)
def test_good_values_parse(parse: Callable[[str], Any], text: str, expected: Any) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "problem"),
    [
        (config.whole_number(0), "abc", "not a whole number"),
        (config.whole_number(0), "1.5", "not a whole number"),
        (config.whole_number(0), "", "not a whole number"),
        (config.whole_number(0), "-1", "must be at least 0"),
        (config.whole_number(1), "0", "must be at least 1"),
        (config.seconds(), "soon", "not a number of seconds"),
        (config.seconds(), "0", "must be more than 0"),
        (config.seconds(), "-5", "must be more than 0"),
        (config.seconds(), "nan", "must be more than 0"),
        (config.seconds(), "inf", "must be more than 0"),
        (config.seconds(allow_zero=True), "-1", "must be 0 or more"),
        (config.log_level, "loud", "choose from debug, info, warn, error"),
        (config.log_level, "", "choose from debug, info, warn, error"),
        (config.log_format, "xml", "choose from text, json"),
        (config.listen_address, "nowhere", "not HOST:PORT or :PORT"),
        (config.listen_address, "host:99999", "not HOST:PORT or :PORT"),
        (config.optional_address, "9050", "not HOST:PORT or :PORT"),
        (config.folder, " ", "must not be empty"),
    ],
)
def test_bad_values_say_why(parse: Callable[[str], Any], text: str, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        parse(text)
    assert str(info.value) == problem


SIZE = Setting(
    "--max-size",
    "DEMO_MAX_SIZE",
    config.whole_number(1),
    10,
    "largest size",
    renamed_from=("--max-bytes", "DEMO_OLD_SIZE"),
)
ADDR = Setting(
    "--demo-addr", "DEMO_ADDR", config.optional_address, ":1", "listen", empty_is_value=True
)


def parse(argv: list[str], *settings: Setting[Any]) -> argparse.Namespace:
    parser = ArgumentParser(prog="demo")
    for setting in settings or (SIZE, ADDR):
        setting.add_to(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize(
    ("argv", "env", "expected", "renamed"),
    [
        ([], {}, 10, []),
        ([], {"DEMO_MAX_SIZE": "20"}, 20, []),
        (["--max-size", "30"], {"DEMO_MAX_SIZE": "20"}, 30, []),
        ([], {"DEMO_MAX_SIZE": ""}, 10, []),  # empty: unset
        (
            [],
            {"DEMO_OLD_SIZE": "40"},
            40,
            ["DEMO_OLD_SIZE is deprecated and will be removed; use DEMO_MAX_SIZE"],
        ),
        ([], {"DEMO_OLD_SIZE": "40", "DEMO_MAX_SIZE": "20"}, 20, []),
        (
            ["--max-bytes", "50"],
            {},
            50,
            ["--max-bytes is deprecated and will be removed; use --max-size"],
        ),
        (
            ["--max-bytes", "50"],
            {"DEMO_MAX_SIZE": "20"},
            50,
            ["--max-bytes is deprecated and will be removed; use --max-size"],
        ),
    ],
)
def test_flag_then_variable_then_renamed_then_default(
    argv: list[str], env: dict[str, str], expected: int, renamed: list[str]
) -> None:
    reader = Reader(parse(argv), env)
    assert reader.get(SIZE) == expected
    assert reader.get(SIZE) == expected  # read twice, noted once
    assert reader.renamed == renamed


def test_an_empty_variable_is_a_value_where_the_setting_says_so() -> None:
    assert Reader(parse([]), {"DEMO_ADDR": ""}).get(ADDR) == ""
    assert Reader(parse([]), {}).get(ADDR) == ":1"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            [],
            {"DEMO_MAX_SIZE": "abc"},
            'invalid value "abc" for DEMO_MAX_SIZE (flag --max-size): not a whole number',
        ),
        (
            ["--max-size", "0"],
            {},
            'invalid value "0" for --max-size (env DEMO_MAX_SIZE): must be at least 1',
        ),
        (
            [],
            {"DEMO_OLD_SIZE": "x"},
            'invalid value "x" for DEMO_OLD_SIZE (flag --max-size): not a whole number',
        ),
        (
            ["--max-bytes", ""],
            {},
            'invalid value "" for --max-bytes (env DEMO_MAX_SIZE): not a whole number',
        ),
    ],
)
def test_a_bad_value_names_the_flag_and_its_variable(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Reader(parse(argv), env).get(SIZE)
    assert str(info.value) == message


def test_without_flags_the_reader_reads_the_environment() -> None:
    assert Reader(environ={"DEMO_MAX_SIZE": "7"}).get(SIZE) == 7


def test_help_names_the_variable_and_default_and_hides_renamed_flags() -> None:
    parser = ArgumentParser(prog="demo")
    SIZE.add_to(parser)
    text = parser.format_help()
    assert "(env DEMO_MAX_SIZE, default: 10)" in text
    assert "--max-bytes" not in text


@pytest.mark.parametrize(
    "argv",
    [["--nope"], ["--max-size"], ["extra"], ["--count", "-1"], ["--count", "x"]],
)
def test_usage_errors_are_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = ArgumentParser(prog="demo", error_prefix="demo: error")
    SIZE.add_to(parser)
    parser.add_argument("--count", type=config.argument_type(config.whole_number(0)))
    with pytest.raises(SystemExit) as info:
        parser.parse_args(argv)
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("demo: error: ") and err.endswith(" (see --help)\n"), err
    assert err.count("\n") == 1, err


def test_argument_type_says_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    parser = ArgumentParser(prog="demo")
    parser.add_argument("--count", type=config.argument_type(config.whole_number(0)))
    with pytest.raises(SystemExit):
        parser.parse_args(["--count", "-1"])
    assert capsys.readouterr().err == (
        'error: argument --count: "-1": must be at least 0 (see --help)\n'
    )


def test_sub_command_parsers_are_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    parser = ArgumentParser(prog="demo")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("get").add_argument("id", type=int)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["get", "x"])
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: argument id: invalid int value: 'x' (see --help)\n"


# A secret: a variable and no flag, which `ps` would show.
TOKEN: Setting[str | None] = Setting(
    None, "DEMO_TOKEN", lambda text: config.non_empty(text.strip()), None, "the token"
)
TOKEN_FILE: Setting[str | None] = Setting(
    "--demo-token-file", "DEMO_TOKEN_FILE", str, None, "file holding the token"
)


def test_a_secret_comes_from_its_variable_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert Reader(parse([], SIZE, TOKEN), {"DEMO_TOKEN": " t0ken "}).get(TOKEN) == "t0ken"
    assert Reader(parse([], SIZE, TOKEN), {"DEMO_TOKEN": ""}).get(TOKEN) is None
    parser = ArgumentParser(prog="demo")
    group = parser.add_argument_group("demo")
    TOKEN.add_to(group)
    with pytest.raises(SystemExit):
        parser.parse_args(["--demo-token", "t0ken"])  # no flag: only the variable
    assert "unrecognized arguments: --demo-token" in capsys.readouterr().err
    assert "DEMO_TOKEN (environment only): the token" in " ".join(parser.format_help().split())


def test_a_bad_secret_is_named_but_never_quoted() -> None:
    with pytest.raises(ConfigError) as info:
        Reader(environ={"DEMO_TOKEN": "  "}).get(TOKEN)
    assert str(info.value) == ("invalid value for DEMO_TOKEN (environment only): must not be empty")
    secret = Setting(None, "DEMO_KEY", config.whole_number(0), 0, "a key")
    with pytest.raises(ConfigError) as info:
        Reader(environ={"DEMO_KEY": "s3cret"}).get(secret)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, None),
        ([], {"DEMO_TOKEN": "t"}, "t"),
        (["--demo-token-file", "f"], {}, "f"),
        ([], {"DEMO_TOKEN_FILE": "f", "DEMO_TOKEN": ""}, "f"),
    ],
)
def test_one_of_two_ways_to_give_a_value(
    argv: list[str], env: dict[str, str], expected: str | None
) -> None:
    reader = Reader(parse(argv, TOKEN_FILE, TOKEN), env)
    assert reader.get_one_of((TOKEN_FILE, TOKEN)) == expected


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["--demo-token-file", "f"],
            {"DEMO_TOKEN": "t0ken"},
            "--demo-token-file (env DEMO_TOKEN_FILE) and DEMO_TOKEN (environment only) "
            "cannot both be set; set only one",
        ),
        (
            [],
            {"DEMO_TOKEN_FILE": "f", "DEMO_TOKEN": "t0ken"},
            "DEMO_TOKEN_FILE (flag --demo-token-file) and DEMO_TOKEN (environment only) "
            "cannot both be set; set only one",
        ),
    ],
)
def test_both_ways_at_once_is_an_error_naming_both(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Reader(parse(argv, TOKEN_FILE, TOKEN), env).get_one_of((TOKEN_FILE, TOKEN))
    assert str(info.value) == message
