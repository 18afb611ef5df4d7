"""The C core's words for a transport failure become the Go client's few words."""

from __future__ import annotations

import pytest

from pyclient.reasons import short_reason


@pytest.mark.parametrize(
    ("details", "reason"),
    [
        ("Socket closed", "connection closed"),
        ("Stream removed (Socket closed)", "connection closed"),
        ("Stream removed (recvmsg:Connection reset by peer (104))", "connection reset by peer"),
        (
            "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:50053: "
            "Failed to connect to remote host: Connection refused",
            "connection refused",
        ),
        (
            "failed to connect to all addresses; last error: UNAVAILABLE: "
            "ipv4:127.0.0.1:50053: Connection refused (111)",
            "connection refused",
        ),
        ("DNS resolution failed for nowhere.invalid:50053: C-ares status is not ARES_SUCCESS "
         "qtype=A name=nowhere.invalid: Domain name not found", "host name not found"),
        ("", "unavailable"),
        # The server's own words, and a TLS explanation, are left as they are.
        ("server is shutting down", "server is shutting down"),
        ("TLS handshake failed: the server does not speak TLS", "TLS handshake failed: the server "
         "does not speak TLS"),
    ],
)  # fmt: skip
def test_short_reason(details: str, reason: str) -> None:
    assert short_reason(details) == reason
