"""FileService settings: the upload folder and the size limit (flag, env, default)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from pyservices.spec import Settings

UPLOAD_FOLDER = "uploaded_files"
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
MAX_BYTES_ENV = "FILE_MAX_BYTES"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file-max-bytes",
        type=int,
        default=None,
        help=f"largest file WriteFile accepts (env {MAX_BYTES_ENV}, default: {DEFAULT_MAX_BYTES})",
    )


@dataclass(frozen=True)
class FileConfig:
    folder: Path
    max_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> FileConfig:
        """Flag first, then the environment, then the default."""
        value = settings.options.get("file_max_bytes")
        if value is None:
            value = os.environ.get(MAX_BYTES_ENV, DEFAULT_MAX_BYTES)
        max_bytes = int(str(value))
        if max_bytes < 0:
            raise ValueError(f"{MAX_BYTES_ENV} must not be negative")
        return cls(folder=settings.data_dir / UPLOAD_FOLDER, max_bytes=max_bytes)
