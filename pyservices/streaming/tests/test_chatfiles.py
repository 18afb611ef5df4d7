"""Chat files: uploads and downloads under the chat server's grants, refused without one."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import pytest
from polychat.streaming.v1 import streaming_pb2

from pyservices.streaming.grants import DOWNLOAD, RECEIPT, UPLOAD, Claims, Key
from pyservices.streaming.tests.conftest import Harness, StartStreaming

TIMEOUT = 10.0
KEY = Key(b"0123456789abcdef0123456789abcdef")


def grant(kind: str, data: bytes = b"", **changes: object) -> str:
    claims = Claims(
        epoch="ep1",
        exp=int(time.time()) + 60,
        file=17,
        kind=kind,
        name="report.pdf",
        room="general",
        sha256=hashlib.sha256(data).hexdigest() if kind == DOWNLOAD else "",
        size=len(data),
        user="Alice",
    )
    return KEY.sign(replace(claims, **changes))  # type: ignore[arg-type]


async def items(
    meta: streaming_pb2.UploadFileMetadata, data: bytes
) -> AsyncIterator[streaming_pb2.UploadFileRequest]:
    yield streaming_pb2.UploadFileRequest(metadata=meta)
    for i in range(0, len(data), 65536):
        yield streaming_pb2.UploadFileRequest(chunk=data[i : i + 65536])


async def upload(
    harness: Harness, token: str, data: bytes, name: str = "report.pdf", size: int | None = None
) -> streaming_pb2.UploadFileResponse:
    meta = streaming_pb2.UploadFileMetadata(
        name=name, size=len(data) if size is None else size, grant=token
    )
    return await harness.stub.UploadFile(items(meta, data), timeout=TIMEOUT)


async def download(harness: Harness, token: str) -> list[streaming_pb2.DownloadFileResponse]:
    call = harness.stub.DownloadFile(
        streaming_pb2.DownloadFileRequest(grant=token), timeout=TIMEOUT
    )
    return [reply async for reply in call]


def chat_entries(harness: Harness) -> list[str]:
    folder = harness.data_dir / "chat_files"
    return sorted(os.listdir(folder)) if folder.exists() else []


@pytest.fixture
async def keyed(start_streaming: StartStreaming) -> Harness:
    return await start_streaming(file_key=KEY)


async def test_granted_upload_is_kept_apart_and_answered_with_a_receipt(keyed: Harness) -> None:
    data = os.urandom(200_000)
    reply = await upload(keyed, grant(UPLOAD, data), data)
    digest = hashlib.sha256(data).hexdigest()
    assert (reply.name, reply.size, reply.sha256) == ("report.pdf", len(data), digest)
    assert chat_entries(keyed) == ["ep1-17"]
    assert not keyed.folder.exists() or os.listdir(keyed.folder) == []
    receipt = KEY.verify(reply.receipt, RECEIPT)
    assert (receipt.file, receipt.sha256, receipt.size, receipt.user, receipt.room) == (
        17,
        digest,
        len(data),
        "Alice",
        "general",
    )

    got = await download(keyed, grant(DOWNLOAD, data))
    assert got[0].WhichOneof("data") == "metadata"
    assert (got[0].metadata.name, got[0].metadata.size, got[0].metadata.sha256) == (
        "report.pdf",
        len(data),
        digest,
    )
    assert b"".join(r.chunk for r in got[1:]) == data


async def test_an_empty_file_round_trips(keyed: Harness) -> None:
    await upload(keyed, grant(UPLOAD), b"")
    got = await download(keyed, grant(DOWNLOAD))
    assert len(got) == 1 and got[0].metadata.size == 0


def _altered(token: str) -> str:
    head, payload, mac = token.split(".")
    return f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{mac}"


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda d: _altered(grant(UPLOAD, d)), "signature"),
        (lambda d: Key(b"x" * 32).sign(KEY.verify(grant(UPLOAD, d), UPLOAD)), "signature"),
        (lambda d: grant(UPLOAD, d, exp=int(time.time()) - 1), "expired"),
        (lambda d: grant(DOWNLOAD, d), "wrong kind"),
        (lambda d: grant(RECEIPT, d), "wrong kind"),
        (lambda d: "17", "not a valid"),
    ],
    ids=["altered", "other key", "expired", "download grant", "receipt", "bare id"],
)
async def test_bad_upload_grants_are_refused_and_store_nothing(
    keyed: Harness, make: object, why: str
) -> None:
    data = b"x" * 1000
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await upload(keyed, make(data), data)  # type: ignore[operator]
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert why in (info.value.details() or "")
    assert chat_entries(keyed) == []


async def test_an_upload_over_or_other_than_its_grant_leaves_nothing(keyed: Harness) -> None:
    data = b"y" * 5000
    token = grant(UPLOAD, data)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await upload(keyed, token, data + b"more")
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await upload(keyed, token, data, name="other.pdf")
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Declared as granted, but more bytes arrive: cut off, nothing kept.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await upload(keyed, token, data + b"more", size=len(data))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert chat_entries(keyed) == []
    assert [n for n in os.listdir(keyed.data_dir / "chat_files") if n.startswith(".")] == []


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda d: _altered(grant(DOWNLOAD, d)), grpc.StatusCode.PERMISSION_DENIED),
        (lambda d: grant(DOWNLOAD, d, exp=int(time.time())), grpc.StatusCode.PERMISSION_DENIED),
        (lambda d: grant(UPLOAD, d), grpc.StatusCode.PERMISSION_DENIED),
        (lambda d: grant(DOWNLOAD, d, file=18), grpc.StatusCode.NOT_FOUND),
        (lambda d: grant(DOWNLOAD, d, epoch="../x"), grpc.StatusCode.PERMISSION_DENIED),
    ],
    ids=["altered", "expired", "upload grant", "not stored", "epoch not an epoch"],
)
async def test_bad_download_grants_are_refused(keyed: Harness, make: object, code: object) -> None:
    data = b"z" * 100
    await upload(keyed, grant(UPLOAD, data), data)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await download(keyed, make(data))  # type: ignore[operator]
    assert info.value.code() == code


async def test_a_stored_file_changed_on_disk_is_data_loss(keyed: Harness) -> None:
    data = b"w" * 100
    await upload(keyed, grant(UPLOAD, data), data)
    (keyed.data_dir / "chat_files" / "ep1-17").write_bytes(b"short")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await download(keyed, grant(DOWNLOAD, data))
    assert info.value.code() == grpc.StatusCode.DATA_LOSS


async def test_without_a_key_chat_files_are_refused(streaming: Harness) -> None:
    data = b"v" * 10
    for call in (upload(streaming, grant(UPLOAD, data), data), download(streaming, "x")):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "STREAMING_FILE_KEY_FILE" in (info.value.details() or "")
