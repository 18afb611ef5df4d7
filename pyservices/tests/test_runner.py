"""The runner's listening rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyservices.rand.server import SPEC as RANDOM_SPEC
from pyservices.tests.servers import make_settings, start_on


async def test_a_port_in_use_is_refused_not_shared(tmp_path: Path) -> None:
    # gRPC's C core turns SO_REUSEPORT on by default, so a second server on a busy port would
    # start and silently take a share of the first one's connections.
    first = await start_on(RANDOM_SPEC, make_settings(tmp_path / "a"))
    try:
        with pytest.raises(OSError, match="port in use"):
            second = await start_on(RANDOM_SPEC, make_settings(tmp_path / "b"), port=first.port)
            await second.stop(0)
    finally:
        await first.stop(0)
