"""The store's total cap (--streaming-max-store-bytes): counted across uploads, restarts and
replaced files; an upload over it is RESOURCE_EXHAUSTED and leaves nothing behind."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest

from pyservices.streaming.tests.conftest import StartStreaming
from pyservices.streaming.tests.test_upload import (
    TIMEOUT,
    chunk,
    entries,
    meta,
    upload,
    upload_error,
)

CAP = 1000


def full(err: grpc.aio.AioRpcError) -> bool:
    return err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and (
        "the service's file store is full" in (err.details() or "")
    )


async def test_an_upload_over_the_cap_is_refused_before_any_byte(
    start_streaming: StartStreaming,
) -> None:
    harness = await start_streaming(max_store_bytes=CAP)
    await upload(harness, [meta("a.bin", 600), chunk(b"a" * 600)])
    assert [(await harness.next_upload_event())[0] for _ in range(2)] == ["receiving", "stored"]
    err = await upload_error(harness, [meta("b.bin", 401), chunk(b"b" * 401)])
    assert full(err), err
    assert err.details() == (
        "the service's file store is full: it keeps at most 1.0 kB (1000 bytes) and 400 bytes"
        " of it is free, not enough for 401 bytes more; nothing was stored; try again once"
        " older files have expired, or tell the service's operator"
    )
    assert harness.upload_events.empty()  # no temp file was ever made
    assert entries(harness.folder) == ["a.bin"]
    await upload(harness, [meta("c.bin", 400), chunk(b"c" * 400)])  # up to the cap exactly
    assert harness.servicer.budget.stored == CAP


async def test_an_upload_of_no_declared_size_is_cut_off_at_the_cap(
    start_streaming: StartStreaming,
) -> None:
    harness = await start_streaming(max_store_bytes=CAP)
    err = await upload_error(harness, [meta("big.bin"), *[chunk(b"x" * 300)] * 4])
    assert full(err), err
    assert entries(harness.folder) == []
    assert (harness.servicer.budget.stored, harness.servicer.budget.reserved) == (0, 0)


async def test_uploads_running_at_once_cannot_pass_the_cap_together(
    start_streaming: StartStreaming,
) -> None:
    harness = await start_streaming(max_store_bytes=CAP)
    first = harness.stub.UploadFile(timeout=10.0)
    await first.write(meta("first.bin", 600))
    await first.write(chunk(b"1" * 100))
    event, _ = await harness.next_upload_event()
    assert event == "receiving"  # its 600 bytes are held from here on
    err = await upload_error(harness, [meta("second.bin", 600), chunk(b"2" * 600)])
    assert full(err), err
    await first.write(chunk(b"1" * 500))
    await first.done_writing()
    assert (await first).size == 600
    assert (harness.servicer.budget.stored, harness.servicer.budget.reserved) == (600, 0)
    assert entries(harness.folder) == ["first.bin"]


async def test_a_replaced_file_counts_only_once(start_streaming: StartStreaming) -> None:
    harness = await start_streaming(max_store_bytes=CAP)
    await upload(harness, [meta("a.bin", 600), chunk(b"a" * 600)])
    # While it is received both are on disk, so both count; once stored, only the new one.
    await upload(harness, [meta("a.bin", 400, overwrite=True), chunk(b"A" * 400)])
    assert harness.servicer.budget.stored == 400
    await upload(harness, [meta("b.bin", 600), chunk(b"b" * 600)])


async def test_the_cap_counts_what_is_stored_from_before_a_restart(
    start_streaming: StartStreaming,
) -> None:
    before = await start_streaming(max_store_bytes=CAP)
    await upload(before, [meta("a.bin", 600), chunk(b"a" * 600)])
    await before.running.stop(0)
    after = await start_streaming(max_store_bytes=CAP)  # the same data folder
    assert after.servicer.budget.stored == 600
    assert full(await upload_error(after, [meta("b.bin", 401), chunk(b"b" * 401)]))
    await upload(after, [meta("b.bin", 400), chunk(b"b" * 400)])


async def test_no_cap(start_streaming: StartStreaming) -> None:
    harness = await start_streaming(max_store_bytes=0)
    await upload(harness, [meta("a.bin", 5000), chunk(b"a" * 5000)])
    assert harness.servicer.budget.stored == 5000


async def test_a_refusal_is_answered_once_the_client_has_sent_its_upload(
    start_streaming: StartStreaming, caplog: pytest.LogCaptureFixture
) -> None:
    """grpc.aio's client reports a call that ends under its write as INTERNAL ("Internal error
    from Core"), not as the service's reason: a refused upload is answered once the client has
    sent what it was sending, so that the person sees why."""
    harness = await start_streaming(max_store_bytes=CAP)
    call = harness.stub.UploadFile(timeout=TIMEOUT)
    with caplog.at_level(logging.INFO, logger="pyservices.streaming"):
        await call.write(meta("big.bin", CAP + 1))
        for _ in range(1000):  # until the service has refused it
            if "upload rejected" in caplog.text:
                break
            await asyncio.sleep(0.01)
        assert "upload rejected" in caplog.text
        await call.write(chunk(b"x" * (CAP + 1)))
        await call.done_writing()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert full(info.value), info.value
