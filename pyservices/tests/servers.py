"""Real services on loopback, in the test's own process, for the service tests."""

from __future__ import annotations

from pathlib import Path

from pyservices.runner import Running, start
from pyservices.spec import ServiceSpec, Settings


def make_settings(data_dir: Path, logger_addr: str = "127.0.0.1:1") -> Settings:
    return Settings(
        data_dir=data_dir, addresses={"logger": logger_addr}, max_message_bytes=4 * 1024 * 1024
    )


async def start_on(spec: ServiceSpec, settings: Settings, port: int = 0) -> Running:
    return await start(spec, f"127.0.0.1:{port}", settings)
