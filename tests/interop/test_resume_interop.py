"""Resuming across server restarts and dropped connections, with the real built server.

The clients here are raw grpcio streams over the generated polychat.chat stubs
(tests/interop/rawchat.py), so that what is checked is the server's side of the
wire: epochs, seqs, resume tokens, chat-resume-from replay and client_msg_id.
Every wait ends on an event: a message arriving, a stream or process ending.
"""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import pytest
from polychat.auth.v1 import auth_pb2, auth_pb2_grpc

from pykit.testing.ports import free_port
from tests.interop.conftest import ChatServer, Processes
from tests.interop.rawchat import (
    HISTORY_END,
    HISTORY_START,
    JOIN,
    LEAVE,
    SYSTEM,
    RawMember,
    join,
)
from tests.interop.test_secure_interop import AuthStack, auth_stack  # noqa: F401  (fixture)


def welcome(member: RawMember, name: str, *, back: bool = False) -> RawMember:
    text = (
        f"Welcome back, {name}! You are in room general."
        if back
        else (f"Welcome, {name}! You are in room general.")
    )
    member.welcome = member.expect(SYSTEM, text)
    assert member.welcome.resumed == back
    return member


def stop(server: ChatServer, how: str) -> None:
    server.proc.signal(signal.SIGKILL if how == "kill" else signal.SIGTERM)
    server.proc.wait()


@pytest.mark.parametrize("how", ["kill", "term"])
def test_restart_keeps_names_history_and_replays_exactly_what_was_missed(
    procs: Processes, tmp_path: Path, how: str
) -> None:
    data, port = tmp_path / "data", free_port()
    server = procs.server(data_dir=data, port=port)
    alice = welcome(join(server.address, "Alice"), "Alice")
    bob = welcome(join(server.address, "Bob"), "Bob")
    alice.expect(JOIN, "Bob joined the room")
    for i in range(20):
        alice.send(f"m{i}", client_msg_id=f"alice-{i}")
    seen = [bob.expect_text("Alice", f"m{i}") for i in range(20)]
    assert [m.seq for m in seen] == list(range(1, 21))
    last = seen[-1]

    # Killed the moment Bob has the last message: everything he received must
    # be on disk.
    stop(server, how)
    if how == "term":
        bob.expect(SYSTEM, "Server is shutting down")
    for member in (alice, bob):
        err = member.wait_end()
        assert err is not None and err.code() == grpc.StatusCode.UNAVAILABLE
    server = procs.server(data_dir=data, port=port)

    carol = welcome(join(server.address, "Carol"), "Carol")
    carol.expect(HISTORY_START)
    replayed = [carol.expect_text("Alice", f"m{i}") for i in range(20)]
    carol.expect(HISTORY_END)
    assert [(m.id, m.seq, m.epoch, m.client_msg_id) for m in replayed] == [
        (m.id, m.seq, m.epoch, m.client_msg_id) for m in seen
    ]

    # The names are still theirs during the grace period.
    newcomer = welcome(join(server.address, "Bob"), "Bob(2)")
    newcomer.expect(HISTORY_START)
    for i in range(20):
        newcomer.expect_text("Alice", f"m{i}")
    newcomer.expect(HISTORY_END)
    carol.expect(JOIN, "Bob(2) joined the room")

    # Alice resumes, resends the line whose send she was unsure of (same
    # client_msg_id: dropped) and says something new while Bob is away.
    resume_from = f"{last.epoch}:{last.seq}"
    alice2 = welcome(
        join(server.address, "Alice", token=alice.welcome.resume_token, resume_from=resume_from),
        "Alice",
        back=True,
    )
    alice2.send("m19", client_msg_id="alice-19")
    alice2.send("after the restart", client_msg_id="alice-20")
    carol.expect_text("Alice", "after the restart")  # no join notice, no repeat
    newcomer.expect_text("Alice", "after the restart")

    bob2 = welcome(
        join(server.address, "Bob", token=bob.welcome.resume_token, resume_from=resume_from),
        "Bob",
        back=True,
    )
    missed = bob2.expect_text("Alice", "after the restart")
    assert (missed.seq, missed.epoch) == (last.seq + 1, last.epoch)
    bob2.send("back too")
    for member in (alice2, carol, newcomer):
        member.expect_text("Bob", "back too")  # and nothing before it: no leave/join pair
    for member in (alice2, bob2, carol, newcomer):
        member.close()


def test_grace_period_ends_with_the_leave_notice_and_the_token_expires(
    procs: Processes,
) -> None:
    server = procs.server("-resume-grace", "300ms")
    alice = welcome(join(server.address, "Alice"), "Alice")
    bob = welcome(join(server.address, "Bob"), "Bob")
    alice.expect(JOIN, "Bob joined the room")
    bob.close()
    alice.expect(LEAVE, "Bob left the room")  # once the grace period is over

    late = join(server.address, "Bob", token=bob.welcome.resume_token)
    late.expect(
        SYSTEM, "Could not resume: the session has expired or is unknown; joined as a new member"
    )
    welcome(late, "Bob")
    assert late.welcome.resume_token and late.welcome.resume_token != bob.welcome.resume_token
    alice.expect(JOIN, "Bob joined the room")


def test_forged_token_and_malformed_resume_point(procs: Processes) -> None:
    server = procs.server()
    alice = welcome(join(server.address, "Alice"), "Alice")
    epoch = alice.welcome.epoch
    forged = join(server.address, "Mallory", token=f"{epoch}.{'A' * 22}")
    forged.expect(
        SYSTEM, "Could not resume: the session has expired or is unknown; joined as a new member"
    )
    welcome(forged, "Mallory")
    alice.expect(JOIN, "Mallory joined the room")

    bad = join(server.address, "Eve", resume_from="not a resume point")
    err = bad.wait_end()
    assert err is not None and err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "chat-resume-from must be <epoch>:<seq>" in err.details()


def test_another_epoch_is_a_reset(procs: Processes, tmp_path: Path) -> None:
    port = free_port()  # the server restarts on it
    # History in memory: every start is a new epoch.
    server = procs.server("-data-dir", "", port=port)
    alice = welcome(join(server.address, "Alice"), "Alice")
    old_token, old_epoch = alice.welcome.resume_token, alice.welcome.epoch
    stop(server, "term")
    alice.wait_end()

    server = procs.server("-data-dir", "", port=port)
    carol = welcome(join(server.address, "Carol"), "Carol")
    assert carol.welcome.epoch != old_epoch
    dave = welcome(join(server.address, "Dave"), "Dave")
    carol.send("in the new epoch")
    dave.expect_text("Carol", "in the new epoch")  # so it is in the history

    again = join(server.address, "Alice", token=old_token, resume_from=f"{old_epoch}:5")
    again.expect(
        SYSTEM,
        "Could not resume: the server's history was reset since the token was issued; "
        "joined as a new member",
    )
    welcome(again, "Alice")
    again.expect(SYSTEM, "The server's history was reset; showing recent messages")
    again.expect(HISTORY_START)
    again.expect_text("Carol", "in the new epoch")
    again.expect(HISTORY_END)


def test_another_users_token_is_permission_denied(
    procs: Processes,
    auth_stack: AuthStack,  # noqa: F811
) -> None:
    with grpc.insecure_channel(auth_stack.auth) as channel:
        auth_pb2_grpc.AuthServiceStub(channel).RegisterUser(
            auth_pb2.RegisterUserRequest(username="user2", password="password2-long"), timeout=15
        )
    server = procs.server("-auth-server", auth_stack.auth, "-metrics-addr", "")
    user1 = welcome(join(server.address, authorization=auth_stack.login()), "user1")
    user1.close()

    stranger = join(
        server.address,
        authorization=auth_stack.login("user2", "password2-long"),
        token=user1.welcome.resume_token,
    )
    err = stranger.wait_end()
    assert err is not None and err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "another user's session" in err.details()

    # The owner, signed in again, gets the name back.
    back = join(server.address, authorization=auth_stack.login(), token=user1.welcome.resume_token)
    welcome(back, "user1", back=True)
