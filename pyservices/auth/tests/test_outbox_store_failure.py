"""The audit outbox meets a lost auth.db: it keeps trying quietly, without tracebacks."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from pyservices.auth.outbox import Outbox
from pyservices.auth.store import AuthStore
from pyservices.storage.sqlite import StoreFailure


async def test_outbox_retries_a_failing_store_without_tracebacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = AuthStore(tmp_path / "auth.db")
    await store.open()
    (tmp_path / "auth.db").unlink()
    with pytest.raises(StoreFailure):  # the write that finds the file gone
        await store.enqueue("TEST", "x")

    attempts = 0
    retried = asyncio.Event()
    pending_count = store.pending_count

    async def counted() -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 3:
            retried.set()
        return await pending_count()

    store.pending_count = counted  # type: ignore[method-assign]
    outbox = Outbox(store, "127.0.0.1:1", max_backoff=0.01)
    outbox.start()
    try:
        await asyncio.wait_for(retried.wait(), 10)
    finally:
        await outbox.stop()
        await store.close()
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
