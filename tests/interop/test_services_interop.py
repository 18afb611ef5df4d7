"""The Go interop client (./interop) against the Python user and streaming services.

The Python services run as one real process on free loopback ports with a
fresh data folder; the Go command is built once and run as a user would run
it. It prints one PASS/FAIL line per check and a final "N passed, M failed".
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from polychat.user.v1 import user_pb2, user_pb2_grpc

from pykit.testing.ports import free_port
from tests.interop.harness import DEFAULT_TIMEOUT, Proc, wait_serving

REPO = Path(__file__).resolve().parents[2]
USER_SERVICE = "polychat.user.v1.UserService"
STREAMING_SERVICE = "polychat.streaming.v1.StreamingService"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
MIN_CHECKS = 7
# Every RPC pattern of both services must be among the checks.
REQUIRED_CHECKS = (
    "unary GetUser",
    "unary CreateUser",
    "server-stream ListUsers",
    "client-stream BatchCreateUsers",
    "bidi StreamUsers",
    "server-stream StreamServerTime",
    "client-stream UploadFile",
    "bidi Chat",
)
UPLOAD_SIZE = 5 * 512 * 1024  # the Go check's 2.5 MiB payload
RUN_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def interop_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interop command, built once for this module."""
    out = tmp_path_factory.mktemp("interop-bin") / "interop"
    subprocess.run(["go", "build", "-o", str(out), "./interop"], cwd=REPO, check=True)
    return out


@dataclass
class Services:
    """The running Python user and streaming services."""

    proc: Proc
    user: str
    streaming: str
    data_dir: Path


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    user = f"127.0.0.1:{free_port()}"
    streaming = f"127.0.0.1:{free_port()}"
    data_dir = tmp_path / "data"
    proc = Proc(
        "pyservices",
        [
            sys.executable,
            "-m",
            "pyservices",
            "user",
            "streaming",
            "--user-addr",
            user,
            "--streaming-addr",
            streaming,
            "--data-dir",
            str(data_dir),
        ],
        cwd=REPO,
    )
    try:
        wait_serving(user, [proc], USER_SERVICE)
        wait_serving(streaming, [proc], STREAMING_SERVICE)
        yield Services(proc, user, streaming, data_dir)
    finally:
        proc.stop()


def run_interop(interop_bin: Path, *args: str) -> tuple[int, list[str], Proc]:
    proc = Proc("interop", [str(interop_bin), *args], cwd=REPO)
    try:
        code = proc.wait(timeout=RUN_TIMEOUT)
    finally:
        proc.stop()
    return code, proc.lines, proc


def test_all_checks_pass_against_python_services(interop_bin: Path, services: Services) -> None:
    code, lines, proc = run_interop(
        interop_bin, "-user", services.user, "-streaming", services.streaming
    )
    report = f"stdout: {lines!r}\nstderr: {proc.stderr_lines!r}"
    assert code == 0, report
    assert lines, report
    summary = SUMMARY.match(lines[-1])
    assert summary, report
    passed, failed = int(summary[1]), int(summary[2])
    assert passed >= MIN_CHECKS and failed == 0, report
    checks = lines[:-1]
    assert len(checks) == passed, report
    assert all(line.startswith("PASS ") for line in checks), report
    for name in REQUIRED_CHECKS:
        assert any(line.startswith(f"PASS {name}") for line in checks), (name, report)

    # What the Go client wrote is there for Python to read: the upload on disk...
    uploads = [p for p in (services.data_dir / "streamed_files").iterdir() if p.is_file()]
    assert [p.stat().st_size for p in uploads] == [UPLOAD_SIZE], uploads
    assert uploads[0].name.startswith("interop-")
    # ...and the users it created (CreateUser, the duplicate's original, a batch of 3).
    with grpc.insecure_channel(services.user) as channel:
        listed = list(
            user_pb2_grpc.UserServiceStub(channel).ListUsers(
                user_pb2.ListUsersRequest(limit=0), timeout=DEFAULT_TIMEOUT
            )
        )
    created = [u for u in listed if u.email.startswith("interop-")]
    assert len(created) == 5, listed
    assert listed[0].name == "Alice Johnson"


def test_unreachable_services_fail_fast(interop_bin: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    code, lines, proc = run_interop(
        interop_bin, "-user", nowhere, "-streaming", nowhere, "-timeout", "3s"
    )
    elapsed = time.monotonic() - started
    report = f"stdout: {lines!r}\nstderr: {proc.stderr_lines!r}"
    assert code != 0, report
    assert elapsed < 30, f"took {elapsed:.1f}s\n{report}"
    summary = SUMMARY.match(lines[-1]) if lines else None
    assert summary, report
    assert int(summary[1]) == 0 and int(summary[2]) >= MIN_CHECKS, report
    checks = lines[:-1]
    assert len(checks) == int(summary[2]), report
    assert all(line.startswith("FAIL ") for line in checks), report
    assert any("Unavailable" in line for line in checks), report
