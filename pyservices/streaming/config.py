"""StreamingService options: upload limit and chat queue size (flag, env, default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pykit.config import Setting, whole_number

UPLOAD_FOLDER = "streamed_files"
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
DEFAULT_CHAT_QUEUE = 256

MAX_UPLOAD_BYTES = Setting(
    "--streaming-max-upload-bytes",
    "STREAMING_MAX_UPLOAD_BYTES",
    whole_number(0),
    DEFAULT_MAX_UPLOAD_BYTES,
    "largest file UploadFile accepts",
    metavar="BYTES",
)
CHAT_QUEUE = Setting(
    "--streaming-chat-queue",
    "STREAMING_CHAT_QUEUE",
    whole_number(1),
    DEFAULT_CHAT_QUEUE,
    "chat events that may wait for one member before it is dropped as too slow",
    metavar="EVENTS",
)


@dataclass(frozen=True)
class StreamingOptions:
    """StreamingService's own options."""

    SETTINGS: ClassVar[Mapping[str, Setting[Any]]] = {
        "max_upload_bytes": MAX_UPLOAD_BYTES,
        "chat_queue": CHAT_QUEUE,
    }

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    chat_queue: int = DEFAULT_CHAT_QUEUE
