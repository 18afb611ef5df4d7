from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from polychat.chat import chat_pb2

from pyclient.render import INDENT, clock, render

VECTORS = json.loads(
    (
        Path(__file__).resolve().parents[2] / "client" / "chatclient" / "testdata" / "render.json"
    ).read_text(encoding="utf-8")
)

Kind = chat_pb2.ChatMessage.Kind
TS = 1_700_000_000
HMS = time.strftime("%H:%M:%S", time.localtime(TS))


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
        (msg(Kind.KIND_TEXT, "Ev\x1bil\n", "x\ry"), "[Ev\\x1bil\\x0a]: x\\x0dy"),
        # A text of several lines: continuation lines, indented.
        (msg(Kind.KIND_TEXT, "Bob", "x\r\ny"), "[Bob]: x\n    y"),
        (msg(Kind.KIND_JOIN, "system", "a\nb"), f"[{HMS}] >>> a\n    b"),
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


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_render_matches_the_shared_cases(case: dict) -> None:
    kind = case["kind"]
    number = (
        chat_pb2.ChatMessage.Kind.Value(kind)
        if kind in chat_pb2.ChatMessage.Kind.keys()
        else int(kind.removeprefix("KIND_"))
    )
    message = chat_pb2.ChatMessage(user=case["user"], message=case["message"], kind=number)
    assert render(message) == "\n".join(case["lines"])


def test_indent_is_the_go_clients() -> None:
    assert VECTORS["indent"] == INDENT
