"""Failing disks and lost database files, met by real `python -m pyservices` processes.

- A full disk (a small tmpfs, filled up; needs root to mount): every service
  that writes answers UNAVAILABLE with a reason and no internals, logs the cause
  once and no traceback, and works again once there is space.
- A database file removed or replaced under a running service: health turns
  NOT_SERVING by itself and every call that needs the database is UNAVAILABLE,
  so nothing is acknowledged into a file that is gone.
- A database that cannot be used at start: one line on stderr, exit status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc
from polychat.file.v1 import file_pb2, file_pb2_grpc
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc
from polychat.streaming.v1 import streaming_pb2, streaming_pb2_grpc
from polychat.user.v1 import user_pb2, user_pb2_grpc

from pykit.testing.processes import run_module
from pyservices.logger.writers import write_metadata
from pyservices.tests.process import TIMEOUT, WRITE_KEY, ServicesProcess

SERVICE_NAMES = {
    "user": "polychat.user.v1.UserService",
    "auth": "polychat.auth.v1.AuthService",
    "logger": "polychat.logger.v1.LoggerService",
}
# What a client must never be shown.
INTERNALS = ("sqlite", "Error", "<class", "Traceback", ".db")


def assert_plain(details: str) -> None:
    for word in INTERNALS:
        assert word not in details, details


async def failure(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call  # type: ignore[misc]
    return info.value


def new_user(email: str) -> user_pb2.CreateUserRequest:
    return user_pb2.CreateUserRequest(name="Dana", email=email, age=30)


# ---- a full disk -------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: a disk that can really fill up."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is simulated with a small tmpfs, which only root can mount")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; returns it (remove it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    block = b"\0" * 65536
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    return filler
                block = block[: len(block) // 2]
    finally:
        os.close(fd)


async def upload(channel: grpc.aio.Channel, name: str) -> streaming_pb2.UploadFileResponse:
    async def requests() -> AsyncIterator[streaming_pb2.UploadFileRequest]:
        yield streaming_pb2.UploadFileRequest(metadata=streaming_pb2.UploadFileMetadata(name=name))
        yield streaming_pb2.UploadFileRequest(chunk=b"x" * 10_000)

    stub = streaming_pb2_grpc.StreamingServiceStub(channel)
    return await stub.UploadFile(requests(), timeout=TIMEOUT)


async def test_full_disk_is_unavailable_for_every_write(small_disk: Path) -> None:
    names = ("user", "auth", "logger", "file", "streaming")
    async with ServicesProcess(small_disk / "data", *names) as services:
        channels = {n: grpc.aio.insecure_channel(services.address(n)) for n in names}
        users = user_pb2_grpc.UserServiceStub(channels["user"])
        auth = auth_pb2_grpc.AuthServiceStub(channels["auth"])
        logger = logger_pb2_grpc.LoggerServiceStub(channels["logger"])
        files = file_pb2_grpc.FileServiceStub(channels["file"])
        try:
            await users.CreateUser(new_user("before@example.com"), timeout=TIMEOUT)
            filler = await asyncio.to_thread(fill, small_disk)

            refused = [
                await failure(users.CreateUser(new_user("a@example.com"), timeout=TIMEOUT)),
                await failure(users.CreateUser(new_user("b@example.com"), timeout=TIMEOUT)),
                await failure(
                    auth.RegisterUser(
                        auth_pb2.RegisterUserRequest(username="erin", password="long enough"),
                        timeout=TIMEOUT,
                    )
                ),
                # Both answers need a write (the session, or the failed attempt's audit
                # record): a wrong password must not be told apart from a right one.
                await failure(
                    auth.Login(
                        auth_pb2.LoginRequest(username="user1", password="password1"),
                        timeout=TIMEOUT,
                    )
                ),
                await failure(
                    auth.Login(
                        auth_pb2.LoginRequest(username="user1", password="wrong"),
                        timeout=TIMEOUT,
                    )
                ),
                await failure(
                    logger.LogEvent(
                        logger_pb2.LogEventRequest(event_type="TEST", details="x"),
                        timeout=TIMEOUT,
                        metadata=write_metadata("tests", WRITE_KEY),
                    )
                ),
                await failure(
                    files.WriteFile(
                        file_pb2.WriteFileRequest(name="a.txt", content=b"x" * 10_000),
                        timeout=TIMEOUT,
                    )
                ),
                await failure(upload(channels["streaming"], "b.txt")),
            ]
            for err in refused:
                assert err.code() == grpc.StatusCode.UNAVAILABLE, err
                details = err.details() or ""
                assert "the disk is full" in details and "try again later" in details
                assert_plain(details)
            # The same wrong-password and right-password answers.
            assert refused[3].details() == refused[4].details()
            # The file services say it the same way.
            assert refused[6].details() == refused[7].details()

            # Reads still work.
            before = await users.GetUser(user_pb2.GetUserRequest(user_id=4), timeout=TIMEOUT)
            assert before.email == "before@example.com"

            filler.unlink()
            created = await users.CreateUser(new_user("a@example.com"), timeout=TIMEOUT)
            assert created.email == "a@example.com"
            await services.wait_for_line("database works again")
        finally:
            for channel in channels.values():
                await channel.close()
        assert await services.stop() == 0
    log = services.stderr
    assert "Traceback" not in log
    # One line with the cause per database, though users.db failed twice.
    for db in ("users.db", "auth.db", "logs.db"):
        lines = [line for line in log.splitlines() if "database failure" in line and db in line]
        assert len(lines) == 1, lines
        assert "reason='the disk is full'" in lines[0] and "SQLITE_FULL" in lines[0]


# ---- lost database files -----------------------------------------------------


async def watch_until(channel: grpc.aio.Channel, service: str, status: int) -> None:
    """Follow the service's health (Watch) until it reports `status`."""
    stub = health_pb2_grpc.HealthStub(channel)
    async for reply in stub.Watch(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT):
        if reply.status == status:
            return
    raise AssertionError(f"health watch of {service!r} ended")


async def health_of(channel: grpc.aio.Channel, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
    return int(reply.status)


def replace_with_copy(path: Path) -> None:
    """The same bytes under the same name, but another file (as a restore from backup)."""
    copy = path.with_name(path.name + ".copy")
    shutil.copyfile(path, copy)
    os.replace(copy, path)


async def test_lost_databases_fail_loudly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    serving = health_pb2.HealthCheckResponse.SERVING
    async with ServicesProcess(data, *SERVICE_NAMES) as services:
        channels = {n: grpc.aio.insecure_channel(services.address(n)) for n in SERVICE_NAMES}
        users = user_pb2_grpc.UserServiceStub(channels["user"])
        auth = auth_pb2_grpc.AuthServiceStub(channels["auth"])
        logger = logger_pb2_grpc.LoggerServiceStub(channels["logger"])
        try:
            kept = await users.CreateUser(new_user("kept@example.com"), timeout=TIMEOUT)
            await users.GetUser(user_pb2.GetUserRequest(user_id=kept.user_id), timeout=TIMEOUT)

            # users.db removed: noticed without any request, by health.
            (data / "users.db").unlink()
            for service in ("", SERVICE_NAMES["user"]):
                await watch_until(channels["user"], service, not_serving)
            for call in (
                users.CreateUser(new_user("lost@example.com"), timeout=TIMEOUT),
                users.GetUser(user_pb2.GetUserRequest(user_id=kept.user_id), timeout=TIMEOUT),
                users.GetUser(user_pb2.GetUserRequest(user_id=2), timeout=TIMEOUT),
            ):
                err = await failure(call)
                assert err.code() == grpc.StatusCode.UNAVAILABLE
                details = err.details() or ""
                assert "the user database is unavailable" in details
                assert "removed or replaced" in details and "restart" in details
                assert_plain(details)
            # The others are not affected.
            assert await health_of(channels["auth"], SERVICE_NAMES["auth"]) == serving
            login = auth_pb2.LoginRequest(username="user1", password="password1")
            await auth.Login(login, timeout=TIMEOUT)

            # auth.db replaced by a copy of itself: another file, so writes to the
            # one still open would be lost.
            replace_with_copy(data / "auth.db")
            await watch_until(channels["auth"], SERVICE_NAMES["auth"], not_serving)
            for call in (
                auth.Login(login, timeout=TIMEOUT),
                auth.RegisterUser(
                    auth_pb2.RegisterUserRequest(username="frank", password="long enough"),
                    timeout=TIMEOUT,
                ),
            ):
                err = await failure(call)
                assert err.code() == grpc.StatusCode.UNAVAILABLE
                assert "the account database is unavailable" in (err.details() or "")

            # The log's write-ahead file removed: the recent records with it.
            (data / "logs_data" / "logs.db-wal").unlink()
            await watch_until(channels["logger"], SERVICE_NAMES["logger"], not_serving)
            err = await failure(
                logger.LogEvent(
                    logger_pb2.LogEventRequest(event_type="TEST", details="x"),
                    timeout=TIMEOUT,
                    metadata=write_metadata("tests", WRITE_KEY),
                )
            )
            assert err.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            for channel in channels.values():
                await channel.close()
        assert await services.stop() == 0
    log = services.stderr
    assert "Traceback" not in log
    for db in ("users.db", "auth.db", "logs.db"):
        lost = [line for line in log.splitlines() if "database lost" in line and db in line]
        assert len(lost) == 1, lost
    for name in SERVICE_NAMES:
        assert f"not serving service={name}" in log


# ---- a database that cannot be used at start ---------------------------------

DATABASES = {"user": "users.db", "auth": "auth.db", "logger": "logs_data/logs.db"}


async def start_fails(data: Path, name: str) -> str:
    """Start one service on `data`; it must exit 1 with one line on stderr. Returns it."""
    result = await run_module(
        "pyservices", name, f"--{name}-addr=127.0.0.1:0", "--data-dir", str(data),
        "--metrics-addr", "", POLYCHAT_LOG_LEVEL="warning",
    )  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("name", DATABASES)
async def test_start_with_a_file_that_is_not_a_database(tmp_path: Path, name: str) -> None:
    db = tmp_path / DATABASES[name]
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"these are not the bytes of a database\n" * 200)
    line = await start_fails(tmp_path, name)
    assert line.startswith("pyservices: cannot use ")
    assert str(db) in line and "the database file is not a database (SQLITE_NOTADB)" in line


async def test_start_with_a_folder_where_the_database_goes(tmp_path: Path) -> None:
    (tmp_path / "users.db").mkdir()
    line = await start_fails(tmp_path, "user")
    assert "the database file cannot be opened" in line


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make `path` read-only for the services, even when the tests run as root."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    # Root writes through file modes: a read-only bind mount stops it.
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


@pytest.mark.parametrize("name", ["user", "auth"])
async def test_start_with_a_read_only_database(tmp_path: Path, name: str) -> None:
    async with ServicesProcess(tmp_path, name) as services:  # creates the database
        assert await services.stop() == 0
    db = tmp_path / DATABASES[name]
    with read_only(db):
        line = await start_fails(tmp_path, name)
    assert "the database is read-only" in line and str(db) in line
