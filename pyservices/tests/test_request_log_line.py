"""The request log line is the same whether the handler is given it or a record."""

from __future__ import annotations

import io
import logging
import time

import grpc
import pytest

from pyservices.logs import Formatter, JSONFormatter, LoopBatchingHandler
from pyservices.observe import Call, MethodInfo
from pyservices.observers import HEALTH_SERVICE, LogObserver


class Context:
    def peer(self) -> str:
        return "ipv4:127.0.0.1:50123"


def calls() -> list[Call]:
    """Calls that log at INFO, WARNING (an internal error) and DEBUG (health checks)."""
    made = []
    for service, method, kind, code, cert in (
        ("polychat.user.v1.UserService", "GetUser", "unary", grpc.StatusCode.OK, ""),
        ("polychat.user.v1.UserService", "GetUser", "unary", grpc.StatusCode.NOT_FOUND, ""),
        ("polychat.auth.v1.AuthService", "Login", "unary", grpc.StatusCode.INTERNAL, "alice"),
        ("polychat.random.v1.RandomService", "Stream", "server_stream", grpc.StatusCode.OK, ""),
        (HEALTH_SERVICE, "Check", "unary", grpc.StatusCode.OK, ""),
    ):
        call = Call(MethodInfo(service, method, kind), Context(), client_cert=cert)  # type: ignore[arg-type]
        call.code, call.duration, call.received, call.sent = code, 0.01234, 1, 7
        made.append(call)
    return made


class Collecting(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def logger_to(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = LoopBatchingHandler(stream, interval=0)
    handler.setFormatter(formatter)
    logger = logging.Logger("pyservices.rpc", logging.DEBUG)
    logger.addHandler(handler)
    return logger, stream


@pytest.mark.parametrize("formatter", [Formatter, JSONFormatter], ids=["text", "json"])
def test_the_line_given_to_the_handler_is_the_line_a_record_gives(
    formatter: type[logging.Formatter], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1767225600.5)
    direct, direct_out = logger_to(formatter())
    recorded, recorded_out = logger_to(formatter())
    seen = Collecting()  # a second handler (caplog, say): the records are made
    recorded.addHandler(seen)
    for call in calls():
        LogObserver(direct).finished(call)
        LogObserver(recorded).finished(call)
    assert direct_out.getvalue() == recorded_out.getvalue()
    assert len(seen.messages) == len(calls())
    assert seen.messages[0] == (
        "rpc service=polychat.user.v1.UserService method=GetUser type=unary"
        " peer=ipv4:127.0.0.1:50123 code=OK duration_ms=12.3"
    )
    assert seen.messages[2].endswith(" client_cert='alice' code=INTERNAL duration_ms=12.3")
    assert seen.messages[3].endswith(" code=OK duration_ms=12.3 received=1 sent=7")
