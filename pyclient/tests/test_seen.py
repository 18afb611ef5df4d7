"""The dedupe filter: nothing shown twice within an epoch, a new epoch forgets."""

from __future__ import annotations

from polychat.chat import chat_pb2

from pyclient.seen import SeenFilter

Kind = chat_pb2.ChatMessage.Kind


def text(id: int, seq: int, epoch: str = "e1") -> chat_pb2.ChatMessage:
    return chat_pb2.ChatMessage(kind=Kind.KIND_TEXT, id=id, seq=seq, epoch=epoch, message="m")


def notice(id: int, epoch: str = "e1") -> chat_pb2.ChatMessage:
    return chat_pb2.ChatMessage(kind=Kind.KIND_SYSTEM, id=id, epoch=epoch, message="n")


def test_texts_shown_once_and_resume_from_names_the_last_seq() -> None:
    seen = SeenFilter()
    assert seen.resume_from() is None
    assert [seen.admit(m) for m in (text(3, 1), text(5, 2), text(4, 1), text(5, 2))] == [
        True,
        True,
        False,
        False,
    ]
    assert seen.resume_from() == "e1:2"
    assert seen.admit(text(9, 3))
    assert seen.resume_from() == "e1:3"


def test_notices_shown_once_and_do_not_move_the_seq() -> None:
    seen = SeenFilter()
    assert seen.admit(notice(1))
    assert seen.resume_from() == "e1:0"  # the epoch is known, nothing seen yet
    assert seen.admit(text(2, 1))
    assert seen.admit(notice(3))
    assert not seen.admit(notice(3))
    assert not seen.admit(notice(1))
    assert seen.resume_from() == "e1:1"


def test_notice_memory_is_bounded() -> None:
    seen = SeenFilter(notice_memory=2)
    for id in (1, 2, 3):
        assert seen.admit(notice(id))
    assert seen.admit(notice(1))  # forgotten
    assert not seen.admit(notice(3))


def test_a_new_epoch_forgets_everything() -> None:
    seen = SeenFilter()
    assert seen.admit(text(40, 20))
    assert seen.admit(notice(41))
    # The store was replaced: its ids start again, and none of them is a duplicate.
    assert seen.admit(text(1, 1, epoch="e2"))
    assert seen.admit(notice(41, epoch="e2"))
    assert seen.resume_from() == "e2:1"
    assert seen.admit(text(40, 20, epoch="e1"))  # back to e1: forgotten as well
    assert seen.resume_from() == "e1:20"


def test_a_server_without_epochs_is_not_filtered() -> None:
    seen = SeenFilter()
    plain = chat_pb2.ChatMessage(kind=Kind.KIND_TEXT, id=5, message="m")
    assert seen.admit(plain) and seen.admit(plain)
    assert seen.admit(chat_pb2.ChatMessage(message="three fields"))
    assert seen.resume_from() is None


def test_messages_without_an_id_pass() -> None:
    seen = SeenFilter()
    bare = chat_pb2.ChatMessage(kind=Kind.KIND_SYSTEM, epoch="e1")
    assert seen.admit(bare) and seen.admit(bare)
