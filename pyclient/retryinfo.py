"""How long a server asked us to stay away: google.rpc.RetryInfo in a status's details.

A server that disconnects a client for sending too fast may say when to come back, as gRPC's
rich error model does: trailing metadata `grpc-status-details-bin` holds a google.rpc.Status
whose `details` include a google.rpc.RetryInfo. The client does not depend on the
googleapis protos for these two small messages: it reads the few fields it needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError

DETAILS_KEY = "grpc-status-details-bin"
RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
# google.rpc.Status.details and google.rpc.RetryInfo.retry_delay.
_STATUS_DETAILS = 3
_RETRY_DELAY = 1
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _embedded(data: bytes, number: int) -> Iterator[bytes]:
    """The values of length-delimited field `number` of the message encoded in `data`."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        wire = key & 7
        if wire == _VARINT:
            _, at = _varint(data, at)
            continue
        if wire == _BYTES:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise ValueError("truncated field")
            if key >> 3 == number:
                yield data[at : at + size]
            at += size
            continue
        sizes = {_FIXED64: 8, _FIXED32: 4}
        if wire not in sizes:
            raise ValueError(f"unsupported wire type {wire}")
        at += sizes[wire]


def retry_delay(trailing_metadata: Sequence[tuple[str, str | bytes]] | None) -> float:
    """Seconds the server's RetryInfo asks for, or 0 when it sent none (or nothing readable)."""
    for key, value in trailing_metadata or ():
        if key != DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            for raw in _embedded(value, _STATUS_DETAILS):
                detail = any_pb2.Any.FromString(raw)
                if detail.type_url != RETRY_INFO_TYPE:
                    continue
                for delay in _embedded(detail.value, _RETRY_DELAY):
                    wait = duration_pb2.Duration.FromString(delay)
                    seconds = wait.seconds + wait.nanos / 1e9
                    if seconds > 0:
                        return seconds
        except (ValueError, DecodeError):
            return 0.0
    return 0.0
