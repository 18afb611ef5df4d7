"""Under mutual TLS the audit log records the writer's certificate, and can limit writers."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from pykit.channels import open_channel
from pykit.testing.pki import PKI
from pykit.testing.polling import wait_until
from pykit.tls import ClientTLS, ServerTLS
from pyservices.auth.server import SPEC as AUTH_SPEC
from pyservices.logger.config import LoggerOptions
from pyservices.logger.server import SPEC as LOGGER_SPEC
from pyservices.runner import start
from pyservices.spec import Settings

TIMEOUT = 10.0
CLIENT_NAME = "polychat-test-client"  # the common name make_pki gives the client


def mtls_settings(pki: PKI, data_dir: Path, **kw: object) -> Settings:
    tls = ServerTLS.load(pki.server_cert, pki.server_key, pki.ca)
    return Settings(data_dir=data_dir, max_message_bytes=4 * 1024 * 1024, server_tls=tls, **kw)  # type: ignore[arg-type]


async def writers_of(port: int, client: ClientTLS) -> list[str]:
    async with open_channel(f"localhost:{port}", client) as channel:
        reply = await logger_pb2_grpc.LoggerServiceStub(channel).QueryLogs(
            logger_pb2.QueryLogsRequest(), timeout=TIMEOUT
        )
    return [e.writer for e in reply.entries]


async def test_a_client_certificate_is_the_writer(tmp_path: Path, pki: PKI) -> None:
    client = ClientTLS.load(pki.ca, pki.client_cert, pki.client_key)
    logger = await start(LOGGER_SPEC, "127.0.0.1:0", mtls_settings(pki, tmp_path, addresses={}))
    auth = await start(
        AUTH_SPEC,
        "127.0.0.1:0",
        mtls_settings(
            pki,
            tmp_path / "auth",
            addresses={"logger": f"localhost:{logger.port}"},
            client_tls=client,
        ),
    )
    try:
        async with open_channel(f"localhost:{auth.port}", client) as channel:
            await auth_pb2_grpc.AuthServiceStub(channel).Login(
                auth_pb2.LoginRequest(username="user1", password="password1"), timeout=TIMEOUT
            )

        async def arrived() -> bool:
            return await writers_of(logger.port, client) == [f"cert:{CLIENT_NAME}"]

        await wait_until(arrived, within=20, what="the login event, written by certificate")
    finally:
        await auth.stop(0)
        await logger.stop(0)


async def test_certificates_off_the_writers_list_are_refused(tmp_path: Path, pki: PKI) -> None:
    client = ClientTLS.load(pki.ca, pki.client_cert, pki.client_key)
    settings = mtls_settings(pki, tmp_path, addresses={})
    writers = LoggerOptions(writers=frozenset({"auth.internal", "ops"}))
    logger = await start(LOGGER_SPEC, "127.0.0.1:0", settings, writers)
    try:
        async with open_channel(f"localhost:{logger.port}", client) as channel:
            stub = logger_pb2_grpc.LoggerServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.LogEvent(logger_pb2.LogEventRequest(event_type="E"), timeout=TIMEOUT)
        assert (info.value.code(), info.value.details()) == (
            grpc.StatusCode.PERMISSION_DENIED,
            f"client certificate '{CLIENT_NAME}' may not write to the audit log:"
            " it is not in LOGGER_WRITERS",
        )
        assert await writers_of(logger.port, client) == []
    finally:
        await logger.stop(0)
