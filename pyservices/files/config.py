"""FileService options: the largest file WriteFile accepts (flag, env, default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pykit.config import Setting, whole_number

UPLOAD_FOLDER = "uploaded_files"
DEFAULT_MAX_BYTES = 4 * 1024 * 1024

MAX_BYTES = Setting(
    "--file-max-bytes",
    "FILE_MAX_BYTES",
    whole_number(0),
    DEFAULT_MAX_BYTES,
    "largest file WriteFile accepts",
    metavar="BYTES",
)


@dataclass(frozen=True)
class FileOptions:
    """FileService's own options."""

    SETTINGS: ClassVar[Mapping[str, Setting[Any]]] = {"max_bytes": MAX_BYTES}

    max_bytes: int = DEFAULT_MAX_BYTES
