"""StreamingService options: upload limits, chat queue size, file key, chat file retention."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pykit.config import Setting, seconds, whole_number
from pyservices.spec import OptionSource
from pyservices.streaming.grants import Key

UPLOAD_FOLDER = "streamed_files"
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
DEFAULT_CHAT_QUEUE = 256
DEFAULT_MAX_STORE_BYTES = 10 * 1024**3
# As the chat server's -file-retention and -room-retention.
DEFAULT_FILE_RETENTION = 30 * 24 * 3600.0

MAX_UPLOAD_BYTES = Setting(
    "--streaming-max-upload-bytes",
    "STREAMING_MAX_UPLOAD_BYTES",
    whole_number(0),
    DEFAULT_MAX_UPLOAD_BYTES,
    "largest file UploadFile accepts",
    metavar="BYTES",
)
MAX_STORE_BYTES = Setting(
    "--streaming-max-store-bytes",
    "STREAMING_MAX_STORE_BYTES",
    whole_number(0),
    DEFAULT_MAX_STORE_BYTES,
    "bytes StreamingService keeps in all (streamed_files/ and chat_files/); an upload that "
    "would pass it is refused (0: no limit)",
    metavar="BYTES",
)
FILE_RETENTION = Setting(
    "--streaming-file-retention",
    "STREAMING_FILE_RETENTION",
    seconds(allow_zero=True),
    DEFAULT_FILE_RETENTION,
    "seconds a file shared in a chat room is kept after its upload, as the chat server's "
    "-file-retention (0: forever)",
    metavar="SECONDS",
)
CHAT_QUEUE = Setting(
    "--streaming-chat-queue",
    "STREAMING_CHAT_QUEUE",
    whole_number(1),
    DEFAULT_CHAT_QUEUE,
    "chat events that may wait for one member before it is dropped as too slow",
    metavar="EVENTS",
)


def _key_file(text: str) -> Key | None:
    return Key.from_file(Path(text)) if text.strip() else None


FILE_KEY_FILE: Setting[Key | None] = Setting(
    "--streaming-file-key-file",
    "STREAMING_FILE_KEY_FILE",
    _key_file,
    None,
    "file holding the key (at least 32 bytes) the chat server signs file grants with, "
    "the chat server's -file-key-file (or the key itself in STREAMING_FILE_KEY); neither: no "
    "files are shared in chat rooms",
    metavar="PATH",
)
# The key itself, for where a file is awkward to provide (containers): a secret, so from the
# environment only, as the chat server's CHAT_FILE_KEY.
FILE_KEY: Setting[Key | None] = Setting(
    None,
    "STREAMING_FILE_KEY",
    Key.from_text,
    None,
    "the key (at least 32 bytes, surrounding whitespace ignored) the chat server signs file "
    "grants with, its CHAT_FILE_KEY; instead of --streaming-file-key-file",
)


@dataclass(frozen=True)
class StreamingOptions:
    """StreamingService's own options."""

    SETTINGS: ClassVar[Mapping[str, OptionSource]] = {
        "max_upload_bytes": MAX_UPLOAD_BYTES,
        "max_store_bytes": MAX_STORE_BYTES,
        "chat_queue": CHAT_QUEUE,
        "file_key": (FILE_KEY_FILE, FILE_KEY),
        "file_retention": FILE_RETENTION,
    }

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_store_bytes: int = DEFAULT_MAX_STORE_BYTES
    chat_queue: int = DEFAULT_CHAT_QUEUE
    file_key: Key | None = None
    file_retention: float = DEFAULT_FILE_RETENTION
