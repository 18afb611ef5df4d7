from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyservices.tests.certs import PKI, make_pki

os.environ.setdefault("GRPC_VERBOSITY", "NONE")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    """A CA with a server certificate (localhost, 127.0.0.1, ::1) and a client certificate."""
    return make_pki(tmp_path_factory.mktemp("pki"), "good")


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    """A second, unrelated CA: the wrong one."""
    return make_pki(tmp_path_factory.mktemp("pki"), "other")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
