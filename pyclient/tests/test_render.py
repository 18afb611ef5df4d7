from __future__ import annotations

import time

import pytest
from polychat.chat import chat_pb2

from pyclient.render import clock, render, sanitize

Kind = chat_pb2.ChatMessage.Kind
TS = 1_700_000_000
HMS = time.strftime("%H:%M:%S", time.localtime(TS))


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
def test_sanitize(raw: str, shown: str) -> None:
    assert sanitize(raw) == shown


def test_sanitize_every_listed_code_point_is_escaped_and_one_line() -> None:
    listed = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F)]
    listed += range(0x2066, 0x206A)
    for cp in listed:
        out = sanitize(chr(cp))
        assert out == (f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}")
        assert out.isprintable()


def msg(kind: int, user: str, text: str, ts: int = TS) -> chat_pb2.ChatMessage:
    return chat_pb2.ChatMessage(user=user, message=text, timestamp=ts, room="general", kind=kind)


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (msg(Kind.KIND_TEXT, "Bob", "Hi Alice!"), "[Bob]: Hi Alice!"),
        (msg(Kind.KIND_UNSPECIFIED, "Bob", "Hi Alice!"), "[Bob]: Hi Alice!"),
        (msg(Kind.KIND_JOIN, "system", "Bob joined the room"), f"[{HMS}] >>> Bob joined the room"),
        (msg(Kind.KIND_LEAVE, "system", "Bob left the room"), f"[{HMS}] >>> Bob left the room"),
        (
            msg(Kind.KIND_SYSTEM, "system", "Server is shutting down"),
            f"[{HMS}] *** Server is shutting down",
        ),
        (
            msg(Kind.KIND_HISTORY_START, "system", "--- Recent messages in general ---"),
            "--- Recent messages in general ---",
        ),
        (
            msg(Kind.KIND_HISTORY_END, "system", "--- End of history ---"),
            "--- End of history ---",
        ),
        (msg(Kind.KIND_TEXT, "Ev\x1bil\n", "x\r\ny"), "[Ev\\x1bil\\x0a]: x\\x0d\\x0ay"),
        (msg(Kind.KIND_SYSTEM, "system", "a\u202eb"), f"[{HMS}] *** a\\u202eb"),
        # A kind newer than this client is shown as text.
        (msg(99, "Bob", "new"), "[Bob]: new"),
    ],
)
def test_render(message: chat_pb2.ChatMessage, line: str) -> None:
    assert render(message) == line


def test_clock_is_local_time_and_survives_absurd_timestamps() -> None:
    assert clock(TS) == HMS
    assert clock(2**62) == "--:--:--"
    assert render(msg(Kind.KIND_JOIN, "system", "x", ts=-(2**62))) == "[--:--:--] >>> x"
