"""save_download: checked, atomic, never over a file unless asked, never outside DEST."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyclient.files import TransferFailed, save_download


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_saves_checks_and_never_clobbers(tmp_path: Path) -> None:
    data = b"hello world"
    saved = await save_download(
        tmp_path, "a.txt", 11, sha(data), False, chunks(b"hello ", b"world")
    )
    assert saved == tmp_path / "a.txt" and saved.read_bytes() == data
    with pytest.raises(TransferFailed, match="exists; add --overwrite"):
        await save_download(tmp_path, "a.txt", 11, sha(data), False, chunks(data))
    await save_download(tmp_path, "a.txt", 5, sha(b"other"), True, chunks(b"other"))
    assert saved.read_bytes() == b"other"
    assert os.listdir(tmp_path) == ["a.txt"]


@pytest.mark.parametrize(
    ("name", "size", "digest", "parts", "reason"),
    [
        ("../evil", 1, sha(b"x"), [b"x"], "must not contain '/'"),
        ("/etc/passwd", 1, sha(b"x"), [b"x"], "must not contain '/'"),
        (".bashrc", 1, sha(b"x"), [b"x"], "must not start with '.'"),
        ("..", 1, sha(b"x"), [b"x"], "must not be '..'"),
        ("a.txt", 5, sha(b"hello"), [b"jello"], "arrived damaged"),
        ("a.txt", 5, sha(b"hello"), [b"hell"], "only 4 of 5 bytes"),
        ("a.txt", 5, sha(b"hello"), [b"hello", b"!"], "more bytes arrived"),
    ],
)
async def test_refuses_and_leaves_nothing(
    tmp_path: Path, name: str, size: int, digest: str, parts: list[bytes], reason: str
) -> None:
    with pytest.raises(TransferFailed, match=reason):
        await save_download(tmp_path, name, size, digest, False, chunks(*parts))
    assert os.listdir(tmp_path) == []
    assert not (tmp_path.parent / "evil").exists()


async def test_a_broken_download_leaves_nothing(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"part"
        raise ConnectionError("lost")

    with pytest.raises(ConnectionError):
        await save_download(tmp_path, "a.txt", 10, sha(b""), False, broken())
    assert os.listdir(tmp_path) == []
    # Into a missing folder, a failed download leaves no folder behind.
    with pytest.raises(ConnectionError):
        await save_download(tmp_path / "new" / "downloads", "a.txt", 10, sha(b""), False, broken())
    assert os.listdir(tmp_path) == []
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(TransferFailed, match="is not a folder"):
        await save_download(tmp_path / "file", "a.txt", 0, sha(b""), False, chunks())


async def test_a_missing_folder_is_made(tmp_path: Path) -> None:
    """`/get 17 downloads` makes the folder downloads (and any above it) when it is missing."""
    dest = tmp_path / "new" / "downloads"
    saved = await save_download(dest, "a.txt", 2, sha(b"hi"), False, chunks(b"hi"))
    assert saved == dest / "a.txt" and saved.read_bytes() == b"hi"
