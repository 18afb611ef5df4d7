"""The chat account's quota on the bytes stored here: an upload grant names the account and its
quota, and what that account's files take in the store is held to it, shared or not, across
uploads running at once, failures, expiry and restarts. A grant naming no account (an older chat
server's) is held to none."""

from __future__ import annotations

import os
import time
from pathlib import Path

import grpc
import pytest
from polychat.streaming.v1 import streaming_pb2

from pyservices.storage.budget import OWNERS_FOLDER
from pyservices.streaming.grants import UPLOAD
from pyservices.streaming.tests.conftest import Harness, StartStreaming
from pyservices.streaming.tests.test_chatfiles import KEY, grant, items, upload

QUOTA = 1000
DAYS_30 = 30 * 86400.0
# The chat server's account keys: a client address (10.0.0.7), signed-in users.
ADDRESS = "a._MTAuMC4wLjc"
ALICE = "u._YWxpY2U"
BOB = "u._Ym9i"


def upload_grant(data: bytes, file: int, acct: str = ADDRESS, quota: int = QUOTA) -> str:
    return grant(UPLOAD, data, file=file, acct=acct, quota=quota)


async def refused(harness: Harness, token: str, data: bytes) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await upload(harness, token, data)
    return info.value


def chat_folder(harness: Harness) -> Path:
    return harness.data_dir / "chat_files"


def entries(folder: Path) -> list[str]:
    """The files in `folder`, temp files included (the owners' folder left out)."""
    return sorted(name for name in os.listdir(folder) if name != OWNERS_FOLDER)


def records(harness: Harness) -> list[str]:
    """The names of the files whose owner is recorded."""
    folder = chat_folder(harness) / OWNERS_FOLDER
    return sorted(os.listdir(folder)) if folder.exists() else []


@pytest.fixture
async def chat(start_streaming: StartStreaming) -> Harness:
    return await start_streaming(file_key=KEY, file_retention=DAYS_30)


async def test_an_upload_over_the_accounts_quota_is_refused_and_leaves_nothing(
    chat: Harness,
) -> None:
    await upload(chat, upload_grant(b"a" * 600, 1), b"a" * 600)
    assert [(await chat.next_upload_event())[0] for _ in range(2)] == ["receiving", "stored"]
    err = await refused(chat, upload_grant(b"b" * 401, 2), b"b" * 401)
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert err.details() == (
        "the file is 401 bytes but only 400 bytes of your address's quota of 1.0 kB (1000 bytes)"
        " is left in the file store (members who are not signed in share one quota per address):"
        " files uploaded are kept for 30 days, shared or not; nothing was stored; try again once"
        " older files have expired"
    )
    assert chat.upload_events.empty()  # no temp file was ever made
    assert entries(chat_folder(chat)) == ["ep1-1"]
    assert records(chat) == ["ep1-1"]
    budget = chat.servicer.budget
    assert (budget.owned(ADDRESS), budget.held(ADDRESS), budget.reserved) == (600, 0, 0)
    await upload(chat, upload_grant(b"c" * 400, 3), b"c" * 400)  # up to the quota exactly
    assert budget.owned(ADDRESS) == QUOTA


async def test_a_signed_in_user_is_told_of_their_quota_and_others_are_unaffected(
    start_streaming: StartStreaming,
) -> None:
    harness = await start_streaming(file_key=KEY, file_retention=0)
    await upload(harness, upload_grant(b"a" * 1000, 1, ALICE), b"a" * 1000)
    err = await refused(harness, upload_grant(b"a", 2, ALICE), b"a")
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert err.details() == (
        "the file is 1 byte but only 0 bytes of your quota of 1.0 kB (1000 bytes) is left in"
        " the file store: files uploaded are kept, shared or not, with no expiry; nothing was"
        " stored; ask the service's operator to make room"
    )
    # Bob has a quota of his own, and a grant naming another quota is held to that one.
    await upload(harness, upload_grant(b"b" * 1000, 3, BOB), b"b" * 1000)
    await upload(harness, upload_grant(b"a" * 500, 4, ALICE, quota=1500), b"a" * 500)
    budget = harness.servicer.budget
    assert (budget.owned(ALICE), budget.owned(BOB), budget.stored) == (1500, 1000, 2500)


async def test_expired_files_give_their_bytes_back_to_the_account(chat: Harness) -> None:
    data = b"e" * QUOTA
    await upload(chat, upload_grant(data, 1), data)
    stored_at = time.time()
    err = await refused(chat, upload_grant(b"x", 2), b"x")
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert await chat.servicer.expire_files(stored_at + DAYS_30 + 1) == 1
    assert chat.servicer.budget.owned(ADDRESS) == 0
    assert records(chat) == []
    await upload(chat, upload_grant(data, 3), data)


async def test_a_failed_upload_gives_its_bytes_back(chat: Harness) -> None:
    # Declared as the whole quota, but the client stops short: nothing is stored.
    meta = streaming_pb2.UploadFileMetadata(
        name="report.pdf", size=QUOTA, grant=upload_grant(b"f" * QUOTA, 1)
    )
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await chat.stub.UploadFile(items(meta, b"f" * 10), timeout=10.0)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    budget = chat.servicer.budget
    assert (budget.owned(ADDRESS), budget.held(ADDRESS), budget.reserved) == (0, 0, 0)
    assert entries(chat_folder(chat)) == []
    assert records(chat) == []
    await upload(chat, upload_grant(b"g" * QUOTA, 2), b"g" * QUOTA)


async def test_the_accounts_counts_come_back_after_a_restart(
    start_streaming: StartStreaming,
) -> None:
    before = await start_streaming(file_key=KEY, file_retention=DAYS_30)
    await upload(before, upload_grant(b"a" * 600, 1), b"a" * 600)
    await upload(before, upload_grant(b"b" * 300, 2, ALICE), b"b" * 300)
    await upload(before, grant(UPLOAD, b"n" * 50, file=3), b"n" * 50)  # no account
    await before.running.stop(0)
    # A record whose file is gone (a crash between the two) counts nothing and is dropped.
    (before.data_dir / "chat_files" / OWNERS_FOLDER / "ep1-9").write_text(ADDRESS)

    after = await start_streaming(file_key=KEY, file_retention=DAYS_30)
    budget = after.servicer.budget
    assert (budget.owned(ADDRESS), budget.owned(ALICE), budget.stored) == (600, 300, 950)
    assert records(after) == ["ep1-1", "ep1-2"]
    err = await refused(after, upload_grant(b"c" * 401, 4), b"c" * 401)
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "only 400 bytes of your address's quota" in (err.details() or "")
    await upload(after, upload_grant(b"c" * 400, 5), b"c" * 400)


async def test_uploads_running_at_once_cannot_pass_the_quota_together(chat: Harness) -> None:
    first = chat.stub.UploadFile(timeout=10.0)
    meta = streaming_pb2.UploadFileMetadata(
        name="report.pdf", size=600, grant=upload_grant(b"1" * 600, 1)
    )
    await first.write(streaming_pb2.UploadFileRequest(metadata=meta))
    await first.write(streaming_pb2.UploadFileRequest(chunk=b"1" * 100))
    event, _ = await chat.next_upload_event()
    assert event == "receiving"  # its 600 bytes are held from here on
    assert chat.servicer.budget.held(ADDRESS) == 600
    err = await refused(chat, upload_grant(b"2" * 600, 2), b"2" * 600)
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "only 400 bytes of your address's quota" in (err.details() or "")
    await upload(chat, upload_grant(b"3" * 600, 3, BOB), b"3" * 600)  # another account
    await first.write(streaming_pb2.UploadFileRequest(chunk=b"1" * 500))
    await first.done_writing()
    assert (await first).size == 600
    budget = chat.servicer.budget
    assert (budget.owned(ADDRESS), budget.held(ADDRESS), budget.owned(BOB)) == (600, 0, 600)
    assert entries(chat_folder(chat)) == ["ep1-1", "ep1-3"]


async def test_a_grant_naming_no_account_is_held_to_no_quota(chat: Harness) -> None:
    # An older chat server's grants: no account, no quota; only the store's cap applies.
    for file in range(1, 4):
        await upload(chat, grant(UPLOAD, b"o" * 800, file=file), b"o" * 800)
    assert chat.servicer.budget.stored == 2400
    assert entries(chat_folder(chat)) == ["ep1-1", "ep1-2", "ep1-3"]
    assert not (chat_folder(chat) / OWNERS_FOLDER).exists()
    # An account with no quota (the chat server's -file-quota-bytes 0) is counted, not held.
    for file in range(4, 6):
        await upload(chat, upload_grant(b"q" * 800, file, quota=0), b"q" * 800)
    assert chat.servicer.budget.owned(ADDRESS) == 1600
