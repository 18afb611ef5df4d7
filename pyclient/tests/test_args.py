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
        (["A", "--name", "A"], {}, Options("A", "general", "localhost:50053")),
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


def test_conflicting_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(["Alice", "--name", "Bob"], {})
    assert exc.value.code == 2
    assert "given twice" in capsys.readouterr().err


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["-h"], {})
    out = capsys.readouterr().out
    for word in ("username", "room", "server", "--name", "--room", "--server", "CHAT_SERVER"):
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
