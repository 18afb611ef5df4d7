"""Chat files are deleted once their retention period (--streaming-file-retention) is over:
by the sweep, driven here with the time it is given, and at start for what expired while the
service was down. A download after that is NOT_FOUND, saying why."""

from __future__ import annotations

import os
import time

import grpc
import pytest

from pyservices.streaming.chatfiles import period
from pyservices.streaming.grants import DOWNLOAD, UPLOAD
from pyservices.streaming.tests.conftest import StartStreaming
from pyservices.streaming.tests.test_chatfiles import KEY, chat_entries, download, grant, upload
from pyservices.streaming.tests.test_upload import chunk, entries, meta
from pyservices.streaming.tests.test_upload import upload as plain_upload

HOUR = 3600.0


async def test_a_chat_file_is_deleted_after_its_retention_period(
    start_streaming: StartStreaming,
) -> None:
    harness = await start_streaming(file_key=KEY, file_retention=HOUR, max_store_bytes=1000)
    data = b"r" * 600
    await upload(harness, grant(UPLOAD, data), data)
    await plain_upload(harness, [meta("plain.bin", 100), chunk(b"p" * 100)])
    stored_at = time.time()

    assert await harness.servicer.expire_files(stored_at + HOUR - 5) == 0
    assert chat_entries(harness) == ["ep1-17"]
    assert await harness.servicer.expire_files(stored_at + HOUR + 1) == 1
    assert chat_entries(harness) == []
    # Uploads that are no chat files are not shared, and are not expired.
    assert entries(harness.folder) == ["plain.bin"]
    assert harness.servicer.budget.stored == 100

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await download(harness, grant(DOWNLOAD, data))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == (
        "file 17 (report.pdf) is not stored by this service any more; it has probably expired:"
        " shared files are kept for 1 hour"
    )
    # Its bytes are free for others.
    other = b"o" * 900
    await upload(harness, grant(UPLOAD, other, file=18), other)


async def test_what_expired_while_the_service_was_down_goes_at_start(
    start_streaming: StartStreaming,
) -> None:
    before = await start_streaming(file_key=KEY, file_retention=0)
    old, new = b"o" * 300, b"n" * 200
    await upload(before, grant(UPLOAD, old, file=1), old)
    await upload(before, grant(UPLOAD, new, file=2), new)
    await before.running.stop(0)
    now = time.time()
    os.utime(before.data_dir / "chat_files" / "ep1-1", (now - 2 * HOUR, now - 2 * HOUR))

    after = await start_streaming(file_key=KEY, file_retention=HOUR)
    assert chat_entries(after) == ["ep1-2"]
    assert after.servicer.budget.stored == len(new)


async def test_no_retention_keeps_chat_files(start_streaming: StartStreaming) -> None:
    harness = await start_streaming(file_key=KEY, file_retention=0)
    data = b"k" * 10
    await upload(harness, grant(UPLOAD, data), data)
    assert await harness.servicer.expire_files(time.time() + 1000 * 24 * HOUR) == 0
    assert chat_entries(harness) == ["ep1-17"]
    # A file missing all the same is not said to have expired.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await download(harness, grant(DOWNLOAD, data, file=18))
    assert info.value.details() == "file 18 (report.pdf) is not stored by this service any more"


def test_periods_are_worded_as_people_say_them() -> None:
    assert [period(s) for s in (30 * 86400, 86400, 7200, 60, 90, 1, 0.5)] == [
        "30 days",
        "1 day",
        "2 hours",
        "1 minute",
        "90 seconds",
        "1 second",
        "0.5 seconds",
    ]
