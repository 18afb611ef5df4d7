from __future__ import annotations

import pytest

from pyclient.args import Options, normalize_target, parse_args


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, Options(None, "general", "localhost:50053")),
        (["Alice"], {}, Options("Alice", "general", "localhost:50053")),
        (["Bob", "dev", "h:1"], {}, Options("Bob", "dev", "h:1")),
        (["--name", "C", "--room", "r", "--server", "s:2"], {}, Options("C", "r", "s:2")),
        (["Alice"], {"CHAT_SERVER": "e:3"}, Options("Alice", "general", "e:3")),
        (["A", "r", "x:4"], {"CHAT_SERVER": "e:3"}, Options("A", "r", "x:4")),
        (["--name", "A", "r"], {}, Options("A", "r", "localhost:50053")),
    ],
)
def test_parse_args(argv: list[str], env: dict[str, str], expected: Options) -> None:
    assert parse_args(argv, env) == expected


# Every way the README and --help show to start the client, with the flags before, between or
# after the positional arguments, as a person types them.
D = "localhost:50053"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--login", "user1", "general", "h:1"], Options("user1", "general", "h:1", login=True)),
        (["user1", "--login", "general", "h:1"], Options("user1", "general", "h:1", login=True)),
        (["user1", "general", "h:1", "--login"], Options("user1", "general", "h:1", login=True)),
        (["--login", "user1"], Options("user1", "general", D, login=True)),
        (["--login", "user1", "general"], Options("user1", "general", D, login=True)),
        (["--server", "h:1", "Alice", "dev"], Options("Alice", "dev", "h:1")),
        (["Alice", "--server", "h:1", "dev"], Options("Alice", "dev", "h:1")),
        (["--room", "dev", "Alice"], Options("Alice", "dev", D)),
        (["--name", "Alice", "--room", "dev", "--server", "h:1"], Options("Alice", "dev", "h:1")),
        (
            ["--ca", "ca.pem", "--cert", "c.pem", "--key", "k.pem", "Alice"],
            Options("Alice", "general", D, ca="ca.pem", cert="c.pem", key="k.pem"),
        ),
        (["Alice", "--tls", "dev", "h:1"], Options("Alice", "dev", "h:1", tls=True)),
        (["--token", "t0k", "Alice", "dev"], Options("Alice", "dev", D, token="t0k")),
        (
            ["Alice", "--auth-server", "a:2", "--login", "dev"],
            Options("Alice", "dev", D, login=True, auth_server="a:2"),
        ),
    ],
)
def test_flags_and_arguments_in_any_order(argv: list[str], expected: Options) -> None:
    assert parse_args(argv, {}) == expected


# The arguments fill name, room and server in order, skipping those a flag gives; with all
# three arguments a flag wins over the argument in its place (the Go client's rule).
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--name", "Alice", "general"], Options("Alice", "general", D)),
        (["general", "--name", "Alice"], Options("Alice", "general", D)),
        (["--name", "Alice", "dev", "h:1"], Options("Alice", "dev", "h:1")),
        (["--room", "dev", "Alice", "h:1"], Options("Alice", "dev", "h:1")),
        (["--name", "Alice", "--room", "dev", "h:1"], Options("Alice", "dev", "h:1")),
        (["--server", "h:1", "Alice", "dev"], Options("Alice", "dev", "h:1")),
        (["Bob", "dev", "h:1", "--name", "Alice"], Options("Alice", "dev", "h:1")),
        (["Bob", "dev", "h:1", "--room", "ops", "--server", "s:2"], Options("Bob", "ops", "s:2")),
        (["Alice", "--name", "Alice"], Options("Alice", "Alice", D)),
    ],
)
def test_positionals_fill_what_no_flag_gives(argv: list[str], expected: Options) -> None:
    assert parse_args(argv, {}) == expected


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["--name", "A", "--room", "r", "x", "y"], "y"),
        (["--name", "A", "--room", "r", "--server", "s:1", "x"], "x"),
    ],
)
def test_more_arguments_than_free_places_is_one_line(
    argv: list[str], extra: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv, {})
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: too many arguments: ") and extra in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "env", "reconnect", "max_delay"),
    [
        ([], {}, True, 30.0),
        (["--no-reconnect"], {}, False, 30.0),
        ([], {"CHAT_NO_RECONNECT": "1"}, False, 30.0),
        ([], {"CHAT_NO_RECONNECT": "0"}, True, 30.0),
        (["--reconnect-max-delay", "2m"], {}, True, 120.0),
        (["--reconnect-max-delay", "1m30s"], {}, True, 90.0),
        (["--reconnect-max-delay", "500ms"], {}, True, 0.5),
        (["--reconnect-max-delay", "7"], {}, True, 7.0),
        ([], {"CHAT_RECONNECT_MAX_DELAY": "10s"}, True, 10.0),
        (["--reconnect-max-delay", "5s"], {"CHAT_RECONNECT_MAX_DELAY": "10s"}, True, 5.0),
    ],
)
def test_reconnect_settings(
    argv: list[str], env: dict[str, str], reconnect: bool, max_delay: float
) -> None:
    opts = parse_args(argv, env)
    assert (opts.reconnect, opts.reconnect_max_delay) == (reconnect, max_delay)


@pytest.mark.parametrize(
    ("argv", "env", "names"),
    [
        (
            ["--reconnect-max-delay", "soon"],
            {},
            "--reconnect-max-delay (env CHAT_RECONNECT_MAX_DELAY)",
        ),
        (
            ["--reconnect-max-delay", "0s"],
            {},
            "--reconnect-max-delay (env CHAT_RECONNECT_MAX_DELAY)",
        ),
        (
            [],
            {"CHAT_RECONNECT_MAX_DELAY": "-1s"},
            "CHAT_RECONNECT_MAX_DELAY (flag --reconnect-max-delay)",
        ),
        ([], {"CHAT_NO_RECONNECT": "maybe"}, "CHAT_NO_RECONNECT (flag --no-reconnect)"),
    ],
)
def test_bad_reconnect_settings_are_one_line(
    argv: list[str], env: dict[str, str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv, env)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid value ") and names in err
    assert len(err.splitlines()) == 1


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["-h"], {})
    out = capsys.readouterr().out
    for word in (
        "username",
        "room",
        "server",
        "--name",
        "--room",
        "--server",
        "CHAT_SERVER",
        "--reconnect-max-delay",
        "--no-reconnect",
        "-auth-server",
    ):
        assert word in out


@pytest.mark.parametrize(
    ("server", "target"),
    [
        ("localhost:50053", "localhost:50053"),
        ("localhost", "localhost:50053"),
        ("127.0.0.1:7", "127.0.0.1:7"),
        ("[::1]:9", "[::1]:9"),
        ("[::1]", "[::1]:50053"),
        ("dns:///example.com:5", "dns:///example.com:5"),
        ("unix:/tmp/chat.sock", "unix:/tmp/chat.sock"),
    ],
)
def test_normalize_target(server: str, target: str) -> None:
    assert normalize_target(server) == target


@pytest.mark.parametrize(
    "server", ["", "  ", "host:99999", "host:0", "host:abc", ":50053", "a b:1", "[::1", "h:\x1b"]
)
def test_bad_addresses(server: str) -> None:
    with pytest.raises(ValueError):
        normalize_target(server)
