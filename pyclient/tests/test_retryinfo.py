"""Reading google.rpc.RetryInfo from a status's details."""

from __future__ import annotations

from google.protobuf import any_pb2, duration_pb2

from pyclient.retryinfo import DETAILS_KEY, RETRY_INFO_TYPE, retry_delay


def _field(number: int, payload: bytes) -> bytes:
    assert len(payload) < 128 and number < 16
    return bytes([number << 3 | 2, len(payload)]) + payload


def status_details(*details: any_pb2.Any, code: int = 8) -> bytes:
    """A google.rpc.Status: code (varint), message, details."""
    out = bytes([1 << 3, code]) + _field(2, b"sending too fast")
    for detail in details:
        out += _field(3, detail.SerializeToString())
    return out


def retry_info(seconds: int, nanos: int = 0) -> any_pb2.Any:
    delay = duration_pb2.Duration(seconds=seconds, nanos=nanos).SerializeToString()
    return any_pb2.Any(type_url=RETRY_INFO_TYPE, value=_field(1, delay))


def test_the_stated_delay() -> None:
    trailers = (("other", "x"), (DETAILS_KEY, status_details(retry_info(2, 500_000_000))))
    assert retry_delay(trailers) == 2.5


def test_other_details_are_skipped() -> None:
    other = any_pb2.Any(type_url="type.googleapis.com/google.rpc.ErrorInfo", value=b"\x0a\x01x")
    assert retry_delay(((DETAILS_KEY, status_details(other, retry_info(3))),)) == 3.0


def test_nothing_stated_is_zero() -> None:
    assert retry_delay(None) == 0.0
    assert retry_delay(()) == 0.0
    assert retry_delay(((DETAILS_KEY, status_details()),)) == 0.0
    assert retry_delay(((DETAILS_KEY, status_details(retry_info(0))),)) == 0.0


def test_garbage_is_zero() -> None:
    for junk in (b"\xff", b"\x1a\x05ab", b"\x0f", status_details(retry_info(1))[:-1]):
        assert retry_delay(((DETAILS_KEY, junk),)) == 0.0
