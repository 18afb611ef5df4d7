"""InFlight: what shutdown relies on to leave no temp file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyservices.storage.inflight import InFlight, ShuttingDown


def test_abort_all_removes_every_open_temp_file(tmp_path: Path) -> None:
    uploads = InFlight()
    first = uploads.open(tmp_path, 1024)
    second = uploads.open(tmp_path, 1024)
    first.write(b"partial")
    assert sorted(os.listdir(tmp_path)) == sorted([first.temp_name, second.temp_name])
    assert uploads.abort_all() == 2
    assert os.listdir(tmp_path) == []
    assert len(uploads) == 0
    uploads.release(first)  # the upload's own cleanup, arriving late, is harmless


def test_no_new_temp_file_after_abort_all(tmp_path: Path) -> None:
    uploads = InFlight()
    uploads.abort_all()
    with pytest.raises(ShuttingDown, match="shutting down"):
        uploads.open(tmp_path, 1024)
    assert os.listdir(tmp_path) == []


def test_a_committed_file_survives_abort_all(tmp_path: Path) -> None:
    uploads = InFlight()
    out = uploads.open(tmp_path, 1024)
    out.write(b"whole")
    out.commit("kept.txt", overwrite=False)
    uploads.abort_all()
    assert os.listdir(tmp_path) == ["kept.txt"]
    assert (tmp_path / "kept.txt").read_bytes() == b"whole"
