"""The interop test cases a client runs, as gRPC's interop test descriptions define them.

Each case is an `async def case(channel)` that returns when every assertion of the
description held and raises `CaseFailed` (one line saying what differed) otherwise. A call
that fails in a way the case does not expect surfaces as `grpc.aio.AioRpcError`, which the
client reports the same way.

Two things a grpcio client cannot do shape the list (see docs/interop.md):
- it cannot see the compressed flag of a message it receives, so `server_compressed_unary`
  and `server_compressed_streaming` check the responses and that the call succeeded, as
  the descriptions allow for such clients, not that the server really compressed;
- it cannot clear compression for one message of a compressed client stream, and no server
  it meets can say whether a request arrived compressed, so the `client_compressed_*`
  cases are not here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import grpc
from polychat.grpc_testing import empty_pb2, messages_pb2, test_pb2_grpc

from pyinterop.payloads import COMPRESSABLE, describe, zeros

# Every call of a case has a deadline, so a server that never answers fails the case.
CALL_TIMEOUT = 10.0

LARGE_REQUEST = 271828
LARGE_RESPONSE = 314159
# Request and response sizes of client_streaming, server_streaming and ping_pong.
REQUEST_SIZES = (27182, 8, 1828, 45904)
RESPONSE_SIZES = (31415, 9, 2653, 58979)

ECHO_INITIAL = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
ECHO_TRAILING = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")

STATUS_MESSAGE = "test status message"
SPECIAL_STATUS_MESSAGE = (
    "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"
)

Case = Callable[[grpc.aio.Channel], Awaitable[None]]


class CaseFailed(Exception):
    """An assertion of a case did not hold; the message says what was expected and seen."""


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CaseFailed(message)


def _stub(channel: grpc.aio.Channel) -> test_pb2_grpc.TestServiceStub:
    return test_pb2_grpc.TestServiceStub(channel)


def _check_body(what: str, payload: messages_pb2.Payload, size: int) -> None:
    _expect(len(payload.body) == size, f"{what}: payload of {len(payload.body)} bytes, want {size}")
    problem = describe(payload)
    _expect(not problem, f"{what}: {problem}")


def _large_request(**fields: object) -> messages_pb2.SimpleRequest:
    return messages_pb2.SimpleRequest(
        response_type=COMPRESSABLE,
        response_size=LARGE_RESPONSE,
        payload=zeros(LARGE_REQUEST),
        **fields,  # type: ignore[arg-type]
    )


def _streaming_request(
    response_sizes: Sequence[int], request_size: int = 0, **fields: object
) -> messages_pb2.StreamingOutputCallRequest:
    return messages_pb2.StreamingOutputCallRequest(
        response_type=COMPRESSABLE,
        response_parameters=[messages_pb2.ResponseParameters(size=s) for s in response_sizes],
        payload=zeros(request_size) if request_size else None,
        **fields,  # type: ignore[arg-type]
    )


async def _expect_status(
    call: Awaitable[object], code: grpc.StatusCode, message: str | None, what: str
) -> None:
    """Await `call` and check that it ended with `code` (and `message`, when given)."""
    try:
        await call
    except grpc.aio.AioRpcError as err:
        _expect(
            err.code() == code,
            f"{what}: status {err.code().name} ({err.details()}), want {code.name}",
        )
        if message is not None:
            _expect(
                err.details() == message,
                f"{what}: status message {err.details()!r}, want {message!r}",
            )
        return
    raise CaseFailed(f"{what}: call succeeded, want status {code.name}")


async def _expect_code(call: grpc.aio.Call, code: grpc.StatusCode) -> None:
    """Check the status a finished (or cancelled) call ended with."""
    got = await call.code()
    _expect(got == code, f"call ended with {got.name} ({await call.details()}), want {code.name}")


async def _read_all(
    call: grpc.aio.StreamStreamCall | grpc.aio.UnaryStreamCall,
) -> list[messages_pb2.StreamingOutputCallResponse]:
    return [response async for response in call]


def _metadata_value(metadata: grpc.aio.Metadata | None, key: str) -> object:
    values = [value for k, value in (metadata or ()) if k == key]
    return values[0] if len(values) == 1 else values or None


async def _check_echoed(call: grpc.aio.Call, what: str) -> None:
    initial = _metadata_value(await call.initial_metadata(), ECHO_INITIAL[0])
    _expect(
        initial == ECHO_INITIAL[1],
        f"{what}: initial metadata {ECHO_INITIAL[0]} is {initial!r}, want {ECHO_INITIAL[1]!r}",
    )
    trailing = _metadata_value(await call.trailing_metadata(), ECHO_TRAILING[0])
    _expect(
        trailing == ECHO_TRAILING[1],
        f"{what}: trailing metadata {ECHO_TRAILING[0]} is {trailing!r}, want {ECHO_TRAILING[1]!r}",
    )


# ---- the cases, in the order of the descriptions ------------------------------------------


async def empty_unary(channel: grpc.aio.Channel) -> None:
    response = await _stub(channel).EmptyCall(empty_pb2.Empty(), timeout=CALL_TIMEOUT)
    _expect(isinstance(response, empty_pb2.Empty), f"EmptyCall answered {type(response)}")


async def large_unary(channel: grpc.aio.Channel) -> None:
    response = await _stub(channel).UnaryCall(_large_request(), timeout=CALL_TIMEOUT)
    _check_body("UnaryCall", response.payload, LARGE_RESPONSE)


async def server_compressed_unary(channel: grpc.aio.Channel) -> None:
    stub = _stub(channel)
    for compressed in (True, False):
        request = _large_request(response_compressed=messages_pb2.BoolValue(value=compressed))
        response = await stub.UnaryCall(request, timeout=CALL_TIMEOUT)
        _check_body(
            f"UnaryCall(response_compressed={compressed})", response.payload, LARGE_RESPONSE
        )


async def client_streaming(channel: grpc.aio.Channel) -> None:
    async def requests() -> AsyncIterator[messages_pb2.StreamingInputCallRequest]:
        for size in REQUEST_SIZES:
            yield messages_pb2.StreamingInputCallRequest(payload=zeros(size))

    response = await _stub(channel).StreamingInputCall(requests(), timeout=CALL_TIMEOUT)
    want = sum(REQUEST_SIZES)
    _expect(
        response.aggregated_payload_size == want,
        f"aggregated_payload_size {response.aggregated_payload_size}, want {want}",
    )


async def server_streaming(channel: grpc.aio.Channel) -> None:
    call = _stub(channel).StreamingOutputCall(
        _streaming_request(RESPONSE_SIZES), timeout=CALL_TIMEOUT
    )
    responses = await _read_all(call)
    _check_sizes("StreamingOutputCall", responses, RESPONSE_SIZES)


async def server_compressed_streaming(channel: grpc.aio.Channel) -> None:
    request = messages_pb2.StreamingOutputCallRequest(
        response_type=COMPRESSABLE,
        response_parameters=[
            messages_pb2.ResponseParameters(
                size=31415, compressed=messages_pb2.BoolValue(value=True)
            ),
            messages_pb2.ResponseParameters(
                size=92653, compressed=messages_pb2.BoolValue(value=False)
            ),
        ],
    )
    responses = await _read_all(_stub(channel).StreamingOutputCall(request, timeout=CALL_TIMEOUT))
    _check_sizes("StreamingOutputCall", responses, (31415, 92653))


def _check_sizes(
    what: str, responses: Sequence[messages_pb2.StreamingOutputCallResponse], sizes: Sequence[int]
) -> None:
    _expect(len(responses) == len(sizes), f"{what}: {len(responses)} responses, want {len(sizes)}")
    for i, (response, size) in enumerate(zip(responses, sizes, strict=True)):
        _check_body(f"{what} response {i + 1}", response.payload, size)


async def ping_pong(channel: grpc.aio.Channel) -> None:
    call = _stub(channel).FullDuplexCall(timeout=CALL_TIMEOUT)
    for i, (request_size, response_size) in enumerate(
        zip(REQUEST_SIZES, RESPONSE_SIZES, strict=True)
    ):
        await call.write(_streaming_request([response_size], request_size))
        response = await call.read()
        _expect(response is not grpc.aio.EOF, f"FullDuplexCall ended before response {i + 1}")
        _check_body(f"FullDuplexCall response {i + 1}", response.payload, response_size)
    await call.done_writing()
    _expect(await call.read() is grpc.aio.EOF, "FullDuplexCall sent more than 4 responses")
    await _expect_code(call, grpc.StatusCode.OK)


async def empty_stream(channel: grpc.aio.Channel) -> None:
    call = _stub(channel).FullDuplexCall(timeout=CALL_TIMEOUT)
    await call.done_writing()
    responses = await _read_all(call)
    _expect(not responses, f"FullDuplexCall sent {len(responses)} responses, want none")
    await _expect_code(call, grpc.StatusCode.OK)


async def timeout_on_sleeping_server(channel: grpc.aio.Channel) -> None:
    # As grpc's own asyncio interop client does it: a 1 s deadline on a request the server
    # answers only after 2 s. With the descriptions' 1 ms the deadline races the write, and
    # grpcio's asyncio client then reports the failed write as INTERNAL ("Internal error
    # from Core", grpc/grpc#36066) or the server's reset as CANCELLED (grpc/grpc#15745)
    # instead of the deadline; a second leaves the write nothing to race.
    call = _stub(channel).FullDuplexCall(timeout=1.0)
    await call.write(
        messages_pb2.StreamingOutputCallRequest(
            response_type=COMPRESSABLE,
            response_parameters=[messages_pb2.ResponseParameters(interval_us=2_000_000)],
            payload=zeros(27182),
        )
    )
    await call.done_writing()
    code = await call.code()
    _expect(
        code == grpc.StatusCode.DEADLINE_EXCEEDED,
        f"FullDuplexCall with a 1 s deadline on a 2 s sleep ended with {code.name} "
        f"({await call.details()}), want DEADLINE_EXCEEDED",
    )


async def cancel_after_begin(channel: grpc.aio.Channel) -> None:
    call = _stub(channel).StreamingInputCall(timeout=CALL_TIMEOUT)
    # The call is started (its headers sent) before it is cancelled.
    await call.wait_for_connection()
    call.cancel()
    await _expect_code(call, grpc.StatusCode.CANCELLED)


async def cancel_after_first_response(channel: grpc.aio.Channel) -> None:
    call = _stub(channel).FullDuplexCall(timeout=CALL_TIMEOUT)
    await call.write(_streaming_request([31415], 27182))
    response = await call.read()
    _expect(response is not grpc.aio.EOF, "FullDuplexCall ended before its first response")
    call.cancel()
    await _expect_code(call, grpc.StatusCode.CANCELLED)


async def _status_round(channel: grpc.aio.Channel, message: str, duplex: bool) -> None:
    stub = _stub(channel)
    status = messages_pb2.EchoStatus(code=grpc.StatusCode.UNKNOWN.value[0], message=message)
    await _expect_status(
        stub.UnaryCall(messages_pb2.SimpleRequest(response_status=status), timeout=CALL_TIMEOUT),
        grpc.StatusCode.UNKNOWN,
        message,
        "UnaryCall",
    )
    if not duplex:
        return
    call = stub.FullDuplexCall(timeout=CALL_TIMEOUT)
    await call.write(messages_pb2.StreamingOutputCallRequest(response_status=status))
    await call.done_writing()
    await _expect_status(_read_all(call), grpc.StatusCode.UNKNOWN, message, "FullDuplexCall")


async def status_code_and_message(channel: grpc.aio.Channel) -> None:
    await _status_round(channel, STATUS_MESSAGE, duplex=True)


async def special_status_message(channel: grpc.aio.Channel) -> None:
    await _status_round(channel, SPECIAL_STATUS_MESSAGE, duplex=False)


async def custom_metadata(channel: grpc.aio.Channel) -> None:
    stub = _stub(channel)
    metadata = (ECHO_INITIAL, ECHO_TRAILING)
    unary = stub.UnaryCall(_large_request(), metadata=metadata, timeout=CALL_TIMEOUT)
    response = await unary
    _check_body("UnaryCall", response.payload, LARGE_RESPONSE)
    await _check_echoed(unary, "UnaryCall")

    duplex = stub.FullDuplexCall(metadata=metadata, timeout=CALL_TIMEOUT)
    await duplex.write(_streaming_request([LARGE_RESPONSE], LARGE_REQUEST))
    await duplex.done_writing()
    responses = await _read_all(duplex)
    _check_sizes("FullDuplexCall", responses, (LARGE_RESPONSE,))
    await _check_echoed(duplex, "FullDuplexCall")


async def unimplemented_method(channel: grpc.aio.Channel) -> None:
    await _expect_status(
        _stub(channel).UnimplementedCall(empty_pb2.Empty(), timeout=CALL_TIMEOUT),
        grpc.StatusCode.UNIMPLEMENTED,
        None,
        "TestService/UnimplementedCall",
    )


async def unimplemented_service(channel: grpc.aio.Channel) -> None:
    stub = test_pb2_grpc.UnimplementedServiceStub(channel)
    await _expect_status(
        stub.UnimplementedCall(empty_pb2.Empty(), timeout=CALL_TIMEOUT),
        grpc.StatusCode.UNIMPLEMENTED,
        None,
        "UnimplementedService/UnimplementedCall",
    )


CASES: dict[str, Case] = {
    case.__name__: case
    for case in (
        empty_unary,
        large_unary,
        server_compressed_unary,
        client_streaming,
        server_streaming,
        server_compressed_streaming,
        ping_pong,
        empty_stream,
        timeout_on_sleeping_server,
        cancel_after_begin,
        cancel_after_first_response,
        status_code_and_message,
        special_status_message,
        custom_metadata,
        unimplemented_method,
        unimplemented_service,
    )
}
