"""File sharing across languages, with real processes: the chat server, StreamingService, and
the Go and Python clients as users run them.

One client shares a file with /send, one of the other language downloads it with /get, and the
bytes are the same; a member of another room, and a stranger with a guessed id, get nothing;
a client that knows only the three documented fields sees the share notice as text. The two
services read their key from a file, or from the environment as the containers give it. A
shared file expires on each side's clock, a fresh name from the same address finds the address's
quota used, StreamingService still counts the bytes of an offer the chat server gave back unshared,
and a full store refuses /send.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from pykit.testing.ports import free_port
from tests.interop import rawchat, rawfiles
from tests.interop.conftest import ChatServer, Processes
from tests.interop.harness import Proc, wait_serving

STREAMING_SERVICE = "polychat.streaming.v1.StreamingService"
FILE_KEY = "interop-file-key-0123456789abcdef-0123"
# "Alice shared data.bin (3.1 MB, sha256 ab12cd34…) — /get 17"
NOTICE = r"{name} shared {file} \({size}, sha256 {short}…\) — /get (\d+)$"


@dataclass
class Sharing:
    chat: ChatServer
    streaming: str
    env: dict[str, str]  # for the clients: where StreamingService is


def start_sharing(
    procs: Processes,
    tmp_path: Path,
    chat_args: tuple[str, ...] = (),
    streaming_args: tuple[str, ...] = (),
    *,
    key_in_env: bool = False,
) -> Sharing:
    """The chat server and StreamingService with one key (in a file, or in their variables),
    and flags of their own."""
    if key_in_env:
        chat = procs.server(*chat_args, env={"CHAT_FILE_KEY": FILE_KEY})
        streaming_env = {"STREAMING_FILE_KEY": FILE_KEY}
    else:
        key_file = tmp_path / "file.key"
        key_file.write_text(FILE_KEY + "\n")
        chat = procs.server("-file-key-file", str(key_file), *chat_args)
        streaming_env = {"STREAMING_FILE_KEY_FILE": str(key_file)}
    streaming = f"127.0.0.1:{free_port()}"
    services = procs.start(
        "pyservices streaming",
        [
            sys.executable,
            "-m",
            "pyservices",
            "streaming",
            "--streaming-addr",
            streaming,
            "--data-dir",
            str(tmp_path / "services-data"),
            "--metrics-addr",
            "",
            *streaming_args,
        ],
        env=streaming_env,
    )
    wait_serving(streaming, [services], STREAMING_SERVICE)
    return Sharing(chat, streaming, {"STREAMING_SERVER": streaming})


@pytest.fixture
def sharing(procs: Processes, tmp_path: Path) -> Sharing:
    return start_sharing(procs, tmp_path)


def client(procs: Processes, sharing: Sharing, kind: str, name: str, room: str = "general") -> Proc:
    proc = procs.chat_client(kind, sharing.chat, name, room, sharing.env)
    proc.expect(rf"\*\*\* Welcome, {name}! You are in room {room}\.")
    return proc


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def share(sender: Proc, name: str, path: Path, *watchers: Proc) -> int:
    """/send `path` as `name`; the file id every watcher (and the sender) is told."""
    digest = sha256(path)
    size = path.stat().st_size
    shown = f"{size / 1e6:.1f} MB" if size >= 1_000_000 else f"{size} bytes"
    notice = NOTICE.format(
        name=name, file=re.escape(path.name), size=re.escape(shown), short=digest[:8]
    )
    sender.send(f"/send {path}")
    ids = {int(re.search(notice, p.expect(notice)).group(1)) for p in (sender, *watchers)}  # type: ignore[union-attr]
    assert len(ids) == 1, ids
    return ids.pop()


@pytest.mark.parametrize(("sender_kind", "getter_kind"), [("go", "py"), ("py", "go")])
def test_a_shared_file_downloads_with_the_same_bytes(
    procs: Processes, sharing: Sharing, tmp_path: Path, sender_kind: str, getter_kind: str
) -> None:
    alice = client(procs, sharing, sender_kind, "Alice")
    bob = client(procs, sharing, getter_kind, "Bob")
    alice.expect(r">>> Bob joined the room$")
    original = tmp_path / "data.bin"
    original.write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # big enough for progress lines
    file_id = share(alice, "Alice", original, bob)

    dest = tmp_path / "downloads"
    dest.mkdir()
    bob.send(f"/get {file_id} {dest}")
    bob.expect(rf"\*\*\* Saved {re.escape(str(dest / 'data.bin'))} \(3\.1 MB, SHA-256 verified\)$")
    assert sha256(dest / "data.bin") == sha256(original)
    assert sorted(os.listdir(dest)) == ["data.bin"]  # no temporary file left

    # Never over an existing file unless asked.
    (dest / "data.bin").write_bytes(b"mine")
    bob.send(f"/get {file_id} {dest}")
    bob.expect(r"exists; add --overwrite to replace it$")
    assert (dest / "data.bin").read_bytes() == b"mine"
    bob.send(f"/get {file_id} {dest} --overwrite")
    bob.expect(r"\*\*\* Saved .*data\.bin \(3\.1 MB, SHA-256 verified\)$", start=len(bob.lines) - 1)
    assert sha256(dest / "data.bin") == sha256(original)


def test_the_key_may_come_from_the_environment(procs: Processes, tmp_path: Path) -> None:
    # CHAT_FILE_KEY and STREAMING_FILE_KEY, as compose.yaml gives them.
    sharing = start_sharing(procs, tmp_path, key_in_env=True)
    alice = client(procs, sharing, "py", "Alice")
    bob = client(procs, sharing, "go", "Bob")
    alice.expect(r">>> Bob joined the room$")
    original = tmp_path / "keyed.bin"
    original.write_bytes(os.urandom(999))
    file_id = share(alice, "Alice", original, bob)
    dest = tmp_path / "downloads"
    dest.mkdir()
    bob.send(f"/get {file_id} {dest}")
    saved = re.escape(str(dest / "keyed.bin"))
    bob.expect(rf"\*\*\* Saved {saved} \(999 bytes, SHA-256 verified\)$")
    assert (dest / "keyed.bin").read_bytes() == original.read_bytes()


def test_another_rooms_member_and_a_stranger_get_nothing(
    procs: Processes, sharing: Sharing, tmp_path: Path
) -> None:
    alice = client(procs, sharing, "go", "Alice")
    original = tmp_path / "secret.txt"
    original.write_bytes(b"for general only\n")
    file_id = share(alice, "Alice", original)

    # A member of another room, with the clients and over the RPCs.
    carol = client(procs, sharing, "py", "Carol", room="other")
    dest = tmp_path / "carol"
    dest.mkdir()
    carol.send(f"/get {file_id} {dest}")
    carol.expect(
        rf"Cannot get file {file_id}: no file {file_id} was shared in room other, or it has "
        r"expired: shared files are kept for 30 days$"
    )
    assert os.listdir(dest) == []
    dave = rawchat.join_rpc(sharing.chat.address, "Dave", room="other")
    try:
        token = dave.welcomed().member_token
        with pytest.raises(grpc.RpcError) as info:
            rawfiles.get(sharing.chat.address, token, file_id)
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        dave.close()

    # A stranger: no membership, a guessed id as the grant, a grant of its own making.
    with pytest.raises(grpc.RpcError) as info:
        rawfiles.get(sharing.chat.address, "guessed-token", file_id)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    for guess in (str(file_id), f"v1.{file_id}.x", ""):
        with pytest.raises(grpc.RpcError) as info:
            rawfiles.download(sharing.streaming, guess)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED, guess

    # A member of the room may: the same id works with a grant.
    bob = rawchat.join_rpc(sharing.chat.address, "Bob", room="general")
    try:
        got = rawfiles.get(sharing.chat.address, bob.welcomed().member_token, file_id)
        meta, data = rawfiles.download(sharing.streaming, got.download_grant)
        assert (meta.name, data) == ("secret.txt", b"for general only\n")
        # Its grant altered to name another file is refused.
        head, payload, mac = got.download_grant.split(".")
        forged = f"{head}.{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{mac}"
        with pytest.raises(grpc.RpcError) as info:
            rawfiles.download(sharing.streaming, forged)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        bob.close()


def test_a_three_field_client_sees_the_notice_as_text(
    procs: Processes, sharing: Sharing, tmp_path: Path, documented_stubs: Path
) -> None:
    legacy = procs.legacy_client(sharing.chat, "Legacy", documented_stubs)
    legacy.expect(r"Welcome, Client\(\d+\)!")
    alice = client(procs, sharing, "py", "Alice")
    original = tmp_path / "notes.txt"
    original.write_bytes(b"three fields are enough\n")
    file_id = share(alice, "Alice", original)
    legacy.expect(
        rf"^\[Alice\]: Alice shared notes\.txt \(24 bytes, sha256 {sha256(original)[:8]}…\) "
        rf"— /get {file_id}$"
    )


def test_send_refuses_what_cannot_be_shared(
    procs: Processes, sharing: Sharing, tmp_path: Path
) -> None:
    alice = client(procs, sharing, "go", "Alice")
    alice.send(f"/send {tmp_path / 'missing.txt'}")
    alice.expect(r"\*\*\* Cannot send .*missing\.txt: no such file or directory$")
    hidden = tmp_path / ".hidden"
    hidden.write_text("x")
    alice.send(f"/send {hidden}")
    alice.expect(r"\*\*\* Cannot send .*\.hidden: file name must not start with '\.'")


@pytest.mark.parametrize("kind", ["go", "py"])
def test_a_send_typed_before_the_welcome_waits_for_it(
    procs: Processes, sharing: Sharing, tmp_path: Path, kind: str
) -> None:
    original = tmp_path / "early.txt"
    original.write_bytes(b"typed at once\n")
    early = procs.chat_client(kind, sharing.chat, "Early", "general", sharing.env)
    early.send(f"/send {original}")  # before its welcome has arrived
    early.expect(r"\*\*\* Welcome, Early! You are in room general\.")
    early.expect(r"^Early shared early\.txt \(14 bytes, sha256 [0-9a-f]{8}…\) — /get \d+$")
    assert not any("does not share files" in line for line in early.lines)


def send_new(sender: Proc, path: Path, size: int) -> None:
    """/send a new file of `size` bytes at `path`."""
    path.write_bytes(b"x" * size)
    sender.send(f"/send {path}")


def refusal(call: Callable[[], object]) -> grpc.RpcError | None:
    """The error `call` raises, or None if it succeeds."""
    try:
        call()
    except grpc.RpcError as err:
        return err
    return None


def eventually_refused(call: Callable[[], object], code: grpc.StatusCode) -> grpc.RpcError:
    """Call `call` until it fails with `code` (a sweep on another clock got there); that error."""
    deadline = time.monotonic() + 30
    while True:
        err = refusal(call)
        if err is not None and err.code() == code:  # type: ignore[attr-defined]
            return err
        if err is not None:
            raise err
        assert time.monotonic() < deadline, f"still no {code.name} after 30 s"
        time.sleep(0.05)


def test_the_chat_server_forgets_a_file_after_its_retention(
    procs: Processes, tmp_path: Path
) -> None:
    sharing = start_sharing(
        procs,
        tmp_path,
        ("-file-retention", "1s", "-file-quota-bytes", "100"),
        ("--streaming-file-retention", "1"),
    )
    chat = sharing.chat.address
    alice = rawchat.join_rpc(chat, "Alice")
    try:
        token = alice.welcomed().member_token
        shared = rawfiles.share_bytes(chat, sharing.streaming, token, "a", b"a" * 60)
        grant = rawfiles.get(chat, token, shared.id).download_grant
        err = eventually_refused(
            lambda: rawfiles.get(chat, token, shared.id), grpc.StatusCode.NOT_FOUND
        )
        assert err.details() == (  # type: ignore[attr-defined]
            f"no file {shared.id} was shared in room general, or it has expired: "
            "shared files are kept for 1s"
        )
        # Once StreamingService has deleted the bytes too (on its own clock, which counts from
        # the upload, a little later), they count against the quota no more on either side.
        eventually_refused(
            lambda: rawfiles.download(sharing.streaming, grant), grpc.StatusCode.NOT_FOUND
        )
        rawfiles.share_bytes(chat, sharing.streaming, token, "b", b"b" * 60)
    finally:
        alice.close()


def test_streaming_service_deletes_the_bytes_after_its_retention(
    procs: Processes, tmp_path: Path
) -> None:
    sharing = start_sharing(
        procs, tmp_path, ("-file-retention", "0"), ("--streaming-file-retention", "1")
    )
    alice = rawchat.join_rpc(sharing.chat.address, "Alice")
    try:
        token = alice.welcomed().member_token
        shared = rawfiles.share_bytes(sharing.chat.address, sharing.streaming, token, "a", b"x")
        grant = rawfiles.get(sharing.chat.address, token, shared.id).download_grant
        err = eventually_refused(
            lambda: rawfiles.download(sharing.streaming, grant), grpc.StatusCode.NOT_FOUND
        )
        assert err.details() == (  # type: ignore[attr-defined]
            f"file {shared.id} (a) is not stored by this service any more; it has probably "
            "expired: shared files are kept for 1 second"
        )
    finally:
        alice.close()


def test_a_fresh_name_brings_no_fresh_quota(procs: Processes, tmp_path: Path) -> None:
    sharing = start_sharing(procs, tmp_path, ("-file-quota-bytes", "1000"))
    chat = sharing.chat.address
    alice = rawchat.join_rpc(chat, "Alice")
    rawfiles.share_bytes(chat, sharing.streaming, alice.welcomed().member_token, "a", b"a" * 600)
    alice.close()
    mallory = client(procs, sharing, "go", "Mallory", room="other")
    send_new(mallory, tmp_path / "big.bin", 600)
    mallory.expect(
        r"\*\*\* Cannot send big\.bin: the file is 600 bytes but only 400 bytes of your "
        r"address's quota of 1\.0 kB \(1000 bytes\) is left \(members who are not signed in "
        r"share one quota per address\)$"
    )


@pytest.mark.parametrize("kind", ["go", "py"])
def test_a_full_store_refuses_the_upload(procs: Processes, tmp_path: Path, kind: str) -> None:
    sharing = start_sharing(procs, tmp_path, (), ("--streaming-max-store-bytes", "1000"))
    alice = client(procs, sharing, kind, "Alice")
    send_new(alice, tmp_path / "big.bin", 1001)
    alice.expect(
        r"\*\*\* Cannot send big\.bin: the service's file store is full: it keeps at most "
        r"1\.0 kB \(1000 bytes\) and 1\.0 kB \(1000 bytes\) of it is free, not enough for "
        r"1\.0 kB \(1001 bytes\) more; "
        r"nothing was stored; try again once older files have expired, or tell the service's "
        r"operator$"
    )
    assert os.listdir(tmp_path / "services-data" / "chat_files") == []


def test_streaming_service_holds_unshared_uploads_to_the_quota(
    procs: Processes, tmp_path: Path
) -> None:
    # The chat server gives back the quota of an offer never shared (after 6 hours, or its
    # retention if shorter: 1 s here), whether or not its bytes were stored; StreamingService
    # keeps them for its own retention (30 days), and so counts them still.
    sharing = start_sharing(procs, tmp_path, ("-file-retention", "1s", "-file-quota-bytes", "1000"))
    chat = sharing.chat.address
    alice = rawchat.join_rpc(chat, "Alice")
    try:
        token = alice.welcomed().member_token
        rawfiles.offer_and_upload(chat, sharing.streaming, token, "a", b"a" * 600)  # not shared

        def offered() -> str:
            """The grant of an offer of 600 bytes, once the chat server counts the first no
            more."""
            deadline = time.monotonic() + 30
            while True:
                try:
                    return rawfiles.offer(chat, token, "b", 600).upload_grant
                except grpc.RpcError as err:
                    if err.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:  # type: ignore[attr-defined]
                        raise
                assert time.monotonic() < deadline, "the chat server still counts the offer"
                time.sleep(0.05)

        grant = offered()
        with pytest.raises(grpc.RpcError) as info:
            rawfiles.upload(sharing.streaming, grant, "b", b"b" * 600)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert info.value.details() == (
            "the file is 600 bytes but only 400 bytes of your address's quota of 1.0 kB"
            " (1000 bytes) is left in the file store (members who are not signed in share one"
            " quota per address): files uploaded are kept for 30 days, shared or not; nothing"
            " was stored; try again once older files have expired"
        )
        chat_files = tmp_path / "services-data" / "chat_files"
        assert len([n for n in os.listdir(chat_files) if not n.startswith(".")]) == 1
        # What is left of the quota is still there.
        rawfiles.upload(
            sharing.streaming, rawfiles.offer(chat, token, "c", 400).upload_grant, "c", b"c" * 400
        )
    finally:
        alice.close()
