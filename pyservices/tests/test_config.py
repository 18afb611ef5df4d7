"""Configuration of `python -m pyservices` and of every service client: typed, checked once at
start, and every bad flag or variable one line on stderr with exit status 2."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import grpc
import pytest
from polychat.file.v1 import file_pb2, file_pb2_grpc

from pykit.config import ConfigError
from pykit.testing.processes import kill, run_module, spawn
from pyservices import options
from pyservices.auth.config import AuthOptions
from pyservices.files.config import FileOptions
from pyservices.files.server import SPEC as FILE_SPEC
from pyservices.registry import SPECS
from pyservices.spec import NoOptions
from pyservices.streaming.config import StreamingOptions
from pyservices.streaming.grants import Claims, Key
from pyservices.tests.servers import make_settings, start_on

TIMEOUT = 30.0


def read(argv: list[str], env: dict[str, str]) -> tuple[options.ProcessOptions, list[str]]:
    return options.read(SPECS, argv, env)


def test_defaults() -> None:
    opts, renamed = read([], {})
    assert opts.services == tuple(SPECS)
    assert opts.data_dir == Path("data")
    assert opts.max_grpc_message_bytes == 8 * 1024 * 1024
    assert (opts.grace, opts.metrics_addr) == (5.0, ":9050")
    assert (opts.log_level, opts.log_format) == ("info", "text")
    assert opts.addresses["file"] == "[::]:50051"
    assert opts.service_options["file"] == FileOptions()
    assert opts.service_options["auth"] == AuthOptions()
    assert opts.service_options["streaming"] == StreamingOptions()
    assert opts.service_options["user"] == NoOptions()
    assert renamed == []


@pytest.mark.parametrize(
    ("argv", "env", "field", "expected"),
    [
        ([], {"FILE_MAX_BYTES": "10"}, "file", FileOptions(max_bytes=10)),
        (["--file-max-bytes", "0"], {"FILE_MAX_BYTES": "10"}, "file", FileOptions(max_bytes=0)),
        ([], {"AUTH_SESSION_TTL": "0.3"}, "auth", AuthOptions(session_ttl=0.3)),
        (["--auth-session-ttl", "60"], {"AUTH_SESSION_TTL": "7"}, "auth", AuthOptions(60)),
        ([], {"AUTH_LOGGER_SERVER": "logger:1"}, "auth", AuthOptions(logger_server="logger:1")),
        (
            ["--streaming-chat-queue", "4"],
            {"STREAMING_MAX_UPLOAD_BYTES": "1024"},
            "streaming",
            StreamingOptions(max_upload_bytes=1024, chat_queue=4),
        ),
    ],
)
def test_each_service_gets_its_typed_options(
    argv: list[str], env: dict[str, str], field: str, expected: object
) -> None:
    opts, _ = read(argv, env)
    assert opts.service_options[field] == expected


@pytest.mark.parametrize(
    ("argv", "env", "attribute", "expected", "renamed"),
    [
        ([], {"POLYCHAT_LOG_LEVEL": "warning"}, "log_level", "warn", None),
        (["--log-level", "WARN"], {}, "log_level", "warn", None),
        ([], {"POLYCHAT_LOG_FORMAT": "json"}, "log_format", "json", None),
        ([], {"SERVICES_METRICS_ADDR": ""}, "metrics_addr", "", None),
        ([], {"SERVICES_GRACE": "0"}, "grace", 0.0, None),
        (
            [],
            {"POLYCHAT_METRICS_ADDR": "127.0.0.1:9999"},
            "metrics_addr",
            "127.0.0.1:9999",
            "POLYCHAT_METRICS_ADDR is deprecated and will be removed; use SERVICES_METRICS_ADDR",
        ),
        (
            ["--max-message-bytes", "1024"],
            {},
            "max_grpc_message_bytes",
            1024,
            "--max-message-bytes is deprecated and will be removed; use --max-grpc-message-bytes",
        ),
        (
            [],
            {"POLYCHAT_MAX_MESSAGE_BYTES": "2048"},
            "max_grpc_message_bytes",
            2048,
            "POLYCHAT_MAX_MESSAGE_BYTES is deprecated and will be removed; "
            "use SERVICES_MAX_GRPC_MESSAGE_BYTES",
        ),
    ],
)
def test_process_settings_and_renamed_names(
    argv: list[str], env: dict[str, str], attribute: str, expected: object, renamed: str | None
) -> None:
    opts, notes = read(argv, env)
    assert getattr(opts, attribute) == expected
    assert notes == ([renamed] if renamed else [])


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            [],
            {"FILE_MAX_BYTES": "4MB"},
            'invalid value "4MB" for FILE_MAX_BYTES (flag --file-max-bytes): not a whole number',
        ),
        (
            ["--file-max-bytes", "-1"],
            {},
            'invalid value "-1" for --file-max-bytes (env FILE_MAX_BYTES): must be at least 0',
        ),
        (
            [],
            {"AUTH_SESSION_TTL": "1h"},
            'invalid value "1h" for AUTH_SESSION_TTL (flag --auth-session-ttl): '
            "not a number of seconds",
        ),
        (
            [],
            {"AUTH_SESSION_TTL": "0"},
            'invalid value "0" for AUTH_SESSION_TTL (flag --auth-session-ttl): must be more than 0',
        ),
        (
            [],
            {"STREAMING_CHAT_QUEUE": "0"},
            'invalid value "0" for STREAMING_CHAT_QUEUE (flag --streaming-chat-queue): '
            "must be at least 1",
        ),
        (
            [],
            {"STREAMING_MAX_UPLOAD_BYTES": "lots"},
            'invalid value "lots" for STREAMING_MAX_UPLOAD_BYTES '
            "(flag --streaming-max-upload-bytes): not a whole number",
        ),
        (
            [],
            {"SERVICES_MAX_GRPC_MESSAGE_BYTES": "0"},
            'invalid value "0" for SERVICES_MAX_GRPC_MESSAGE_BYTES '
            "(flag --max-grpc-message-bytes): must be at least 1",
        ),
        (
            [],
            {"POLYCHAT_MAX_MESSAGE_BYTES": "big"},
            'invalid value "big" for POLYCHAT_MAX_MESSAGE_BYTES (flag --max-grpc-message-bytes): '
            "not a whole number",
        ),
        (
            ["--grace", "-1"],
            {},
            'invalid value "-1" for --grace (env SERVICES_GRACE): must be 0 or more',
        ),
        (
            [],
            {"SERVICES_METRICS_ADDR": "9050"},
            'invalid value "9050" for SERVICES_METRICS_ADDR (flag --metrics-addr): '
            "not HOST:PORT or :PORT",
        ),
        (
            [],
            {"POLYCHAT_LOG_LEVEL": "loud"},
            'invalid value "loud" for POLYCHAT_LOG_LEVEL (flag --log-level): '
            "choose from debug, info, warn, error",
        ),
        (
            ["--log-format", "xml"],
            {},
            'invalid value "xml" for --log-format (env POLYCHAT_LOG_FORMAT): '
            "choose from text, json",
        ),
        (
            [],
            {"USER_ADDR": "50057"},
            'invalid value "50057" for USER_ADDR (flag --user-addr): not HOST:PORT or :PORT',
        ),
        (
            ["--data-dir", ""],
            {},
            'invalid value "" for --data-dir (env POLYCHAT_DATA_DIR): must not be empty',
        ),
    ],
)
def test_a_bad_value_is_an_error_naming_flag_and_variable(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        read(argv, env)


def test_the_file_key_is_read_from_its_file(tmp_path: Path) -> None:
    key_file = tmp_path / "file.key"
    key_file.write_text("k" * 32 + "\n")
    opts, _ = read([], {"STREAMING_FILE_KEY_FILE": str(key_file)})
    key = opts.service_options["streaming"].file_key
    assert key is not None and key.verify(key.sign(_claims()), "upload", now=0).file == 1
    key_file.write_text("short\n")
    with pytest.raises(ConfigError, match=r"STREAMING_FILE_KEY_FILE.*needs at least 32"):
        read(["--streaming-file-key-file", str(key_file)], {})
    with pytest.raises(ConfigError, match="cannot read the file key"):
        read(["--streaming-file-key-file", str(tmp_path / "missing")], {})


ENV_KEY = "an-environment-file-key-0123456789abcdef"


def test_the_file_key_may_be_in_the_environment_instead(tmp_path: Path) -> None:
    opts, _ = read([], {"STREAMING_FILE_KEY": f"  {ENV_KEY}\n"})
    key = opts.service_options["streaming"].file_key
    assert key is not None
    assert Key(ENV_KEY.encode()).verify(key.sign(_claims()), "upload", now=0).file == 1
    opts, _ = read([], {"STREAMING_FILE_KEY": ""})  # empty: unset
    assert opts.service_options["streaming"].file_key is None
    assert ENV_KEY not in repr(read([], {"STREAMING_FILE_KEY": ENV_KEY})[0])


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            [],
            {"STREAMING_FILE_KEY": " short-secret\n"},
            "invalid value for STREAMING_FILE_KEY (environment only): the file key is 12 bytes; "
            "it needs at least 32 (e.g. `openssl rand -hex 32`)",
        ),
        (
            ["--streaming-file-key-file", "file.key"],
            {"STREAMING_FILE_KEY": ENV_KEY},
            "--streaming-file-key-file (env STREAMING_FILE_KEY_FILE) and STREAMING_FILE_KEY "
            "(environment only) cannot both be set; set only one",
        ),
        (
            [],
            {"STREAMING_FILE_KEY_FILE": "file.key", "STREAMING_FILE_KEY": ENV_KEY},
            "STREAMING_FILE_KEY_FILE (flag --streaming-file-key-file) and STREAMING_FILE_KEY "
            "(environment only) cannot both be set; set only one",
        ),
    ],
)
def test_a_bad_file_key_in_the_environment_is_named_never_shown(
    argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        read(argv, env)
    assert str(info.value) == message


def _claims() -> Claims:
    return Claims("e", 10, 1, "upload", "a", "r", "", 0, "u")


def test_only_the_services_started_read_their_options() -> None:
    # A service's options mean nothing to a process that does not run it.
    opts, _ = read(["user"], {"FILE_MAX_BYTES": "not read"})
    assert opts.services == ("user",)
    with pytest.raises(ConfigError):
        read(["file"], {"FILE_MAX_BYTES": "read"})


# ---- the real processes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (
            ["file"],
            {"FILE_MAX_BYTES": "abc"},
            'pyservices: error: invalid value "abc" for FILE_MAX_BYTES (flag --file-max-bytes): '
            "not a whole number",
        ),
        (
            ["auth"],
            {"AUTH_SESSION_TTL": "soon"},
            'pyservices: error: invalid value "soon" for AUTH_SESSION_TTL '
            "(flag --auth-session-ttl): not a number of seconds",
        ),
        (
            ["--max-grpc-message-bytes", "0"],
            {},
            'pyservices: error: invalid value "0" for --max-grpc-message-bytes '
            "(env SERVICES_MAX_GRPC_MESSAGE_BYTES): must be at least 1",
        ),
        (["--bogus"], {}, "pyservices: error: unrecognized arguments: --bogus (see --help)"),
        (
            ["streaming"],
            {"STREAMING_FILE_KEY": "short-secret"},
            "pyservices: error: invalid value for STREAMING_FILE_KEY (environment only): "
            "the file key is 12 bytes; it needs at least 32 (e.g. `openssl rand -hex 32`)",
        ),
    ],
)
async def test_runner_exits_2_with_one_line(
    args: list[str], env: dict[str, str], line: str, tmp_path: Path
) -> None:
    result = await run_module("pyservices", "--data-dir", str(tmp_path), *args, **env)
    assert (result.returncode, result.stderr) == (2, line + "\n")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["pyservices.files.client", "--bogus"],
            "error: unrecognized arguments: --bogus (see --help)",
        ),
        (
            ["pyservices.rand.client", "--count", "-1"],
            'error: argument --count: "-1": must be at least 0 (see --help)',
        ),
        (
            ["pyservices.streaming.client", "time", "--interval", "0"],
            'error: argument --interval: "0": must be more than 0 (see --help)',
        ),
        (
            ["pyservices.auth.client", "validate"],
            "error: the following arguments are required: TOKEN (see --help)",
        ),
        (
            ["pyservices.logger.client", "LOGIN"],
            "error: the following arguments are required: DETAILS (see --help)",
        ),
        (
            ["pyservices.users.client", "get", "seven"],
            "error: argument ID: invalid int value: 'seven' (see --help)",
        ),
        (
            ["pyservices.logger.query", "--limit", "0"],
            'error: argument --limit: "0": must be at least 1 (see --help)',
        ),
    ],
)
async def test_every_client_exits_2_with_one_line(args: list[str], line: str) -> None:
    result = await run_module(*args)
    assert (result.returncode, result.stderr) == (2, line + "\n")


async def test_a_renamed_variable_is_one_warning_line_in_the_chosen_format(
    tmp_path: Path,
) -> None:
    proc = await spawn(
        "pyservices",
        "file",
        "--data-dir",
        str(tmp_path),
        "--file-addr",
        "127.0.0.1:0",
        POLYCHAT_METRICS_ADDR="",
        POLYCHAT_LOG_FORMAT="json",
    )
    try:
        assert proc.stderr is not None
        entries = []
        while not entries or "listening service=file" not in entries[-1]["msg"]:
            line = await asyncio.wait_for(proc.stderr.readline(), TIMEOUT)
            assert line, f"the runner exited early: {entries}"
            entries.append(json.loads(line))
        warnings = [e for e in entries if e["level"] == "WARN"]
        assert [e["msg"] for e in warnings] == [
            "POLYCHAT_METRICS_ADDR is deprecated and will be removed; use SERVICES_METRICS_ADDR"
        ]
        assert {"time", "level", "logger", "msg"} <= set(entries[0])
        assert any(e["msg"] == "metrics off" for e in entries), entries
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), TIMEOUT) == 0
    finally:
        await kill(proc)


async def test_registration_does_not_read_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Options are read once, by the process at start; a service started in-process gets
    # the options it is given (here the defaults), whatever the environment says.
    monkeypatch.setenv("FILE_MAX_BYTES", "1")
    files = await start_on(FILE_SPEC, make_settings(tmp_path))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{files.port}") as channel:
            stub = file_pb2_grpc.FileServiceStub(channel)
            request = file_pb2.WriteFileRequest(name="two.txt", content=b"ab")
            reply = await stub.WriteFile(request, timeout=TIMEOUT)
    finally:
        await files.stop(0)
    assert reply.size == 2


@pytest.mark.parametrize(
    ("argv", "env", "noted"),
    [
        # The logger in this process: its listen address is where AuthService calls it.
        (["logger", "auth"], {"LOGGER_ADDR": "127.0.0.1:6000"}, False),
        (["auth"], {"AUTH_LOGGER_SERVER": "logger:50055"}, False),
        (["auth"], {"AUTH_LOGGER_SERVER": "logger:50055", "LOGGER_ADDR": "x:1"}, False),
        (["auth"], {}, False),
        (["auth"], {"LOGGER_ADDR": "logger:50055"}, True),
        (["auth", "--logger-addr", "logger:50055"], {}, True),
    ],
)
def test_logger_addr_for_an_auth_without_its_logger_is_deprecated(
    argv: list[str], env: dict[str, str], noted: bool
) -> None:
    opts, notes = read(argv, env)
    assert isinstance(opts.service_options["auth"], AuthOptions)
    assert [n for n in notes if "AUTH_LOGGER_SERVER" in n] == (
        [
            f"{'--logger-addr' if '--logger-addr' in argv else 'LOGGER_ADDR'} as the address "
            "AuthService calls LoggerService at is deprecated and will be removed; "
            "use AUTH_LOGGER_SERVER (flag --auth-logger-server)"
        ]
        if noted
        else []
    )


def test_an_empty_auth_logger_server_flag_is_an_error() -> None:
    with pytest.raises(ConfigError, match="--auth-logger-server"):
        read(["auth", "--auth-logger-server", " "], {})
