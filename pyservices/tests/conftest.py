from __future__ import annotations

import os
from pathlib import Path

import pytest

# The TLS tests' certificates, made once per session.
from pykit.testing.pki import other_pki, pki  # noqa: F401

os.environ.setdefault("GRPC_VERBOSITY", "NONE")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
