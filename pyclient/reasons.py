"""Why a connection failed, in the few words the Go client uses for the same failure.

gRPC's C core words a transport failure for its own logs: "Stream removed (Socket closed)",
"failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:50053: Failed to
connect to remote host: Connection refused". The Go client (client/chatclient/errors.go,
`reason`) shows the last, readable part in lower case: "connection closed", "connection
refused", "connection reset by peer", "host name not found". Both clients print the same
status line for the same failure; tests/interop/test_lost_reasons.py checks it.
"""

from __future__ import annotations

import re

# "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: <why>"
_LAST_ERROR = re.compile(
    r"^failed to connect to all addresses; last error: (?:[A-Z_]+: )?(?:(?:ipv4|ipv6|unix):\S+: )?"
)
# "Stream removed (<why>)", the C core's wrapper around a broken stream's cause.
_WRAPPER = re.compile(r"^Stream removed \((.*)\)$")
# An errno in parentheses at the end: "Connection reset by peer (104)".
_ERRNO = re.compile(r"\s*\(\d+\)$")

# The failure, found in the C core's words (lower case), and what the Go client calls it.
_SAME_AS_GO: tuple[tuple[str, str], ...] = (
    ("connection refused", "connection refused"),
    ("connection reset by peer", "connection reset by peer"),
    ("broken pipe", "broken pipe"),
    ("socket closed", "connection closed"),
    ("end of tcp stream", "connection closed"),
    ("connection closed", "connection closed"),
    ("dns resolution failed", "host name not found"),
    ("domain name not found", "host name not found"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network is unreachable"),
)


def short_reason(details: str) -> str:
    """The Go client's words for a transport failure the C core described as `details`.

    Details that name none of the failures above (a server's own words, a TLS explanation)
    come back unchanged, but for an empty text, which is "unavailable".
    """
    text = _LAST_ERROR.sub("", details.strip())
    wrapped = _WRAPPER.match(text)
    if wrapped:
        text = wrapped[1]
    lowered = _ERRNO.sub("", text).lower()
    for found, words in _SAME_AS_GO:
        if found in lowered:
            return words
    return text or "unavailable"
