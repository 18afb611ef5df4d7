"""StreamingService settings: upload folder and limit, chat queue size (flag, env, default)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from pyservices.spec import Settings

UPLOAD_FOLDER = "streamed_files"
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MAX_UPLOAD_ENV = "STREAMING_MAX_UPLOAD_BYTES"
DEFAULT_CHAT_QUEUE = 256
CHAT_QUEUE_ENV = "STREAMING_CHAT_QUEUE"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--streaming-max-upload-bytes",
        type=int,
        default=None,
        help=f"largest file UploadFile accepts (env {MAX_UPLOAD_ENV}, "
        f"default: {DEFAULT_MAX_UPLOAD_BYTES})",
    )
    parser.add_argument(
        "--streaming-chat-queue",
        type=int,
        default=None,
        help="chat events that may wait for one member before it is dropped as too slow "
        f"(env {CHAT_QUEUE_ENV}, default: {DEFAULT_CHAT_QUEUE})",
    )


def _option(settings: Settings, key: str, env: str, default: int, minimum: int) -> int:
    """Flag first, then the environment, then the default."""
    value = settings.options.get(key)
    if value is None:
        value = os.environ.get(env, default)
    number = int(str(value))
    if number < minimum:
        raise ValueError(f"{env} must be at least {minimum}, got {number}")
    return number


@dataclass(frozen=True)
class StreamingConfig:
    folder: Path
    max_upload_bytes: int
    chat_queue: int

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamingConfig:
        return cls(
            folder=settings.data_dir / UPLOAD_FOLDER,
            max_upload_bytes=_option(
                settings,
                "streaming_max_upload_bytes",
                MAX_UPLOAD_ENV,
                DEFAULT_MAX_UPLOAD_BYTES,
                0,
            ),
            chat_queue=_option(
                settings, "streaming_chat_queue", CHAT_QUEUE_ENV, DEFAULT_CHAT_QUEUE, 1
            ),
        )
