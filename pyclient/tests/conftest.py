from __future__ import annotations

import os
from collections.abc import AsyncIterator

import grpc
import pytest

from pyclient.tests.fakeserver import FakeChat, running_fake

# The TLS tests' certificates, made once per session.
from pykit.testing.pki import other_pki, pki  # noqa: F401

os.environ.setdefault("GRPC_VERBOSITY", "NONE")


@pytest.fixture
async def fake_server() -> AsyncIterator[tuple[FakeChat, int, grpc.aio.Server]]:
    async with running_fake() as running:
        yield running
