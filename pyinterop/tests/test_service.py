"""What the TestService does beyond the cases: bad requests, echoes, compression on the wire."""

from __future__ import annotations

import grpc
import pytest
from polychat.grpc_testing import empty_pb2, messages_pb2, test_pb2_grpc

from pyinterop import service
from pyinterop.cases import ECHO_INITIAL, ECHO_TRAILING
from pyinterop.payloads import zeros
from pyinterop.service import MAX_PAYLOAD_BYTES
from tests.interop.tcpproxy import TcpProxy


def _stub(channel: grpc.aio.Channel) -> test_pb2_grpc.TestServiceStub:
    return test_pb2_grpc.TestServiceStub(channel)


async def _status(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    return raised.value


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"response_size": -1}, "response_size -1 is negative"),
        ({"response_size": MAX_PAYLOAD_BYTES + 1}, "is more than this server sends"),
        ({"response_size": 2**31 - 1}, "is more than this server sends"),
        ({"response_type": 7, "response_size": 1}, "response_type 7 is not supported"),
        (
            {"response_status": messages_pb2.EchoStatus(code=99, message="x")},
            "response_status.code 99 is not a gRPC status code",
        ),
    ],
)
async def test_unary_bad_requests_are_invalid_argument(
    channel: grpc.aio.Channel, request_fields: dict[str, object], message: str
) -> None:
    request = messages_pb2.SimpleRequest(**request_fields)  # type: ignore[arg-type]
    err = await _status(_stub(channel).UnaryCall(request, timeout=5))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in err.details()


async def test_a_bad_stream_parameter_ends_the_call_before_any_response(
    channel: grpc.aio.Channel,
) -> None:
    request = messages_pb2.StreamingOutputCallRequest(
        response_parameters=[
            messages_pb2.ResponseParameters(size=10),
            messages_pb2.ResponseParameters(size=-5),
        ]
    )
    call = _stub(channel).StreamingOutputCall(request, timeout=5)
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        async for response in call:
            received.append(response)
    assert received == []
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "response_parameters[1].size -5 is negative" in raised.value.details()


async def test_expect_compressed_is_refused_with_the_reason(channel: grpc.aio.Channel) -> None:
    """A grpcio server cannot check it, so it says so rather than pass unchecked."""
    request = messages_pb2.SimpleRequest(expect_compressed=messages_pb2.BoolValue(value=True))
    err = await _status(
        _stub(channel).UnaryCall(request, compression=grpc.Compression.Gzip, timeout=5)
    )
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "cannot tell whether a request arrived compressed" in err.details()


async def test_echoed_trailing_metadata_survives_a_requested_status(
    channel: grpc.aio.Channel,
) -> None:
    request = messages_pb2.SimpleRequest(
        response_status=messages_pb2.EchoStatus(code=9, message="precondition")
    )
    call = _stub(channel).UnaryCall(request, metadata=(ECHO_INITIAL, ECHO_TRAILING), timeout=5)
    err = await _status(call)
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert err.details() == "precondition"
    assert (ECHO_INITIAL[0], ECHO_INITIAL[1]) in list(err.initial_metadata())
    assert (ECHO_TRAILING[0], ECHO_TRAILING[1]) in list(err.trailing_metadata())


async def test_every_method_echoes_metadata(channel: grpc.aio.Channel) -> None:
    call = _stub(channel).EmptyCall(
        empty_pb2.Empty(), metadata=(ECHO_INITIAL, ECHO_TRAILING), timeout=5
    )
    await call
    assert (ECHO_INITIAL[0], ECHO_INITIAL[1]) in list(await call.initial_metadata())
    assert (ECHO_TRAILING[0], ECHO_TRAILING[1]) in list(await call.trailing_metadata())


async def test_half_duplex_answers_every_request_in_order_after_half_close(
    channel: grpc.aio.Channel,
) -> None:
    call = _stub(channel).HalfDuplexCall(timeout=5)
    for sizes in ((3, 1), (4,)):
        await call.write(
            messages_pb2.StreamingOutputCallRequest(
                response_parameters=[messages_pb2.ResponseParameters(size=s) for s in sizes]
            )
        )
    await call.done_writing()
    sizes_received = [len(response.payload.body) async for response in call]
    assert sizes_received == [3, 1, 4]


async def test_half_duplex_holds_a_bounded_number_of_requests(
    channel: grpc.aio.Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_HELD_REQUESTS", 2)
    call = _stub(channel).HalfDuplexCall(timeout=5)
    for _ in range(3):
        await call.write(messages_pb2.StreamingOutputCallRequest())
    await call.done_writing()
    assert await call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "holds at most 2 requests" in await call.details()


async def test_full_duplex_status_ends_the_stream(channel: grpc.aio.Channel) -> None:
    call = _stub(channel).FullDuplexCall(timeout=5)
    await call.write(
        messages_pb2.StreamingOutputCallRequest(
            response_parameters=[messages_pb2.ResponseParameters(size=2)]
        )
    )
    first = await call.read()
    assert len(first.payload.body) == 2
    await call.write(
        messages_pb2.StreamingOutputCallRequest(
            response_status=messages_pb2.EchoStatus(code=5, message="gone")
        )
    )
    assert await call.code() == grpc.StatusCode.NOT_FOUND
    assert await call.details() == "gone"


async def test_server_id_is_the_same_for_every_call(channel: grpc.aio.Channel) -> None:
    request = messages_pb2.SimpleRequest(fill_server_id=True)
    first = await _stub(channel).UnaryCall(request, timeout=5)
    second = await _stub(channel).UnaryCall(request, timeout=5)
    assert first.server_id and first.server_id == second.server_id


async def test_cacheable_unary_call_is_unimplemented(channel: grpc.aio.Channel) -> None:
    """It needs a caching proxy in front of the server, which nothing here has."""
    err = await _status(_stub(channel).CacheableUnaryCall(messages_pb2.SimpleRequest(), timeout=5))
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED


# ---- compression, measured in bytes on the wire ----------------------------------------------
#
# A grpcio client cannot see whether a message arrived compressed, so these tests count the
# bytes the server sends through a TCP proxy: a body of zeros gzips to a few hundred bytes.


async def _bytes_down(proxy: TcpProxy, call_once: object) -> int:
    before = proxy.counts.forwarded["down"]
    async with grpc.aio.insecure_channel(proxy.address) as channel:
        await call_once(_stub(channel))  # type: ignore[operator]
    return proxy.counts.forwarded["down"] - before


@pytest.mark.parametrize("compressed", [True, False])
async def test_unary_response_is_compressed_when_asked(
    server_address: str, compressed: bool
) -> None:
    size = 314159
    request = messages_pb2.SimpleRequest(
        response_size=size,
        payload=zeros(10),
        response_compressed=messages_pb2.BoolValue(value=compressed),
    )

    async def call(stub: test_pb2_grpc.TestServiceStub) -> None:
        response = await stub.UnaryCall(request, timeout=5)
        assert len(response.payload.body) == size

    proxy = TcpProxy(server_address)
    try:
        sent = await _bytes_down(proxy, call)
    finally:
        proxy.close()
    if compressed:
        assert sent < size // 10
    else:
        assert sent > size


async def test_one_message_of_a_compressed_stream_goes_uncompressed(server_address: str) -> None:
    request = messages_pb2.StreamingOutputCallRequest(
        response_parameters=[
            messages_pb2.ResponseParameters(
                size=31415, compressed=messages_pb2.BoolValue(value=True)
            ),
            messages_pb2.ResponseParameters(
                size=92653, compressed=messages_pb2.BoolValue(value=False)
            ),
        ]
    )

    async def call(stub: test_pb2_grpc.TestServiceStub) -> None:
        sizes = [len(r.payload.body) async for r in stub.StreamingOutputCall(request, timeout=5)]
        assert sizes == [31415, 92653]

    proxy = TcpProxy(server_address)
    try:
        sent = await _bytes_down(proxy, call)
    finally:
        proxy.close()
    # The second body went as it is; the first, compressed, added far less than its size.
    assert 92653 < sent < 92653 + 31415 // 10
