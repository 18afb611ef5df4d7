"""Every client case against our server, in process: the quick check before the matrix."""

from __future__ import annotations

import grpc
import pytest

from pyinterop.cases import CASES, CaseFailed, _check_body
from pyinterop.payloads import zeros


@pytest.mark.parametrize("name", sorted(CASES))
async def test_case_passes_against_our_server(channel: grpc.aio.Channel, name: str) -> None:
    await CASES[name](channel)


def test_a_short_payload_fails_the_case() -> None:
    with pytest.raises(CaseFailed, match="payload of 3 bytes, want 4"):
        _check_body("UnaryCall", zeros(3), 4)


def test_a_payload_that_is_not_zeros_fails_the_case() -> None:
    payload = zeros(4)
    payload.body = b"\x00\x01\x00\x00"
    with pytest.raises(CaseFailed, match="not all zeros"):
        _check_body("UnaryCall", payload, 4)


async def test_a_case_fails_against_a_server_without_the_service() -> None:
    """unimplemented_service is the only case a server with nothing registered passes."""
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await CASES["large_unary"](channel)
            assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
            await CASES["unimplemented_service"](channel)
    finally:
        await server.stop(None)
