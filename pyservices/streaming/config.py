"""StreamingService options: upload limit and chat queue size (flag, env, default)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pykit.config import Reader, Setting, whole_number

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
    SETTINGS: ClassVar[tuple[Setting[Any], ...]] = (MAX_UPLOAD_BYTES, CHAT_QUEUE)

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    chat_queue: int = DEFAULT_CHAT_QUEUE

    @classmethod
    def read(cls, reader: Reader) -> StreamingOptions:
        return cls(max_upload_bytes=reader.get(MAX_UPLOAD_BYTES), chat_queue=reader.get(CHAT_QUEUE))
