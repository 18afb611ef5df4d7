"""The outbox: typed lines in order, bounded, resent after a loss only when they may be lost."""

from __future__ import annotations

import itertools

import pytest

from pyclient.outbox import Line, Outbox, OutboxFull


def numbered(limit: int = 100, **kwargs: int) -> Outbox:
    counter = itertools.count(1)
    return Outbox(limit, new_id=lambda: f"id-{next(counter)}", **kwargs)


def send_all(box: Outbox, after_seq: int = 0) -> list[Line]:
    sent = []
    while (line := box.peek()) is not None:
        box.sending(line, after_seq)
        sent.append(line)
    return sent


def test_lines_get_ids_and_go_in_order() -> None:
    box = numbered()
    for text in ("a", "b", "c"):
        box.add(text)
    assert [(line.text, line.client_msg_id) for line in send_all(box)] == [
        ("a", "id-1"),
        ("b", "id-2"),
        ("c", "id-3"),
    ]
    assert box.peek() is None and box.waiting == 0


def test_default_ids_are_distinct_printable_and_short() -> None:
    box = Outbox()
    ids = {box.add(str(n)).client_msg_id for n in range(50)}
    assert len(ids) == 50
    assert all(len(i) <= 64 and i.isascii() and i.isprintable() for i in ids)


def test_the_queue_is_bounded() -> None:
    box = numbered(limit=2)
    box.add("a")
    box.add("b")
    with pytest.raises(OutboxFull, match="2 lines are already waiting"):
        box.add("c")
    box.sending(box.peek(), 0)  # type: ignore[arg-type]
    box.add("c")  # room again
    assert box.waiting == 2


def test_after_a_resumed_reconnect_every_line_in_the_air_goes_again_first() -> None:
    box = numbered()
    box.add("a")
    box.add("b")
    send_all(box, after_seq=4)
    box.add("c")  # typed while disconnected
    box.lost(last_seq=7)
    box.reconnected(resumed=True)
    again = send_all(box)
    assert [(line.text, line.client_msg_id, line.resent) for line in again] == [
        ("a", "id-1", True),
        ("b", "id-2", True),
        ("c", "id-3", False),
    ]


def test_after_joining_anew_only_lines_sent_after_the_last_message_go_again() -> None:
    # The server forgot our ids: a line followed by traffic on its stream is taken as
    # delivered, so that a resend cannot show it twice.
    box = numbered()
    box.add("early")
    send_all(box, after_seq=3)
    box.add("late")
    send_all(box, after_seq=7)
    box.lost(last_seq=7)
    box.reconnected(resumed=False)
    assert [line.text for line in send_all(box)] == ["late"]


def test_a_replayed_line_is_not_sent_again() -> None:
    box = numbered()
    box.add("a")
    box.add("b")
    send_all(box)
    box.add("c")
    box.arrived("id-1")
    box.lost(last_seq=0)
    box.reconnected(resumed=True)
    box.arrived("id-3")
    assert [line.text for line in send_all(box)] == ["b"]


def test_only_the_last_lines_are_resent() -> None:
    box = numbered(resend_window=2)
    for text in ("a", "b", "c"):
        box.add(text)
    send_all(box)
    box.lost(last_seq=0)
    box.reconnected(resumed=True)
    assert [line.text for line in send_all(box)] == ["b", "c"]


def test_own_ids_are_remembered_boundedly() -> None:
    box = numbered(own_memory=2)
    for text in ("a", "b", "c"):
        box.add(text)
    assert not box.is_own("id-1")
    assert box.is_own("id-2") and box.is_own("id-3")
    assert not box.is_own("") and not box.is_own("someone-else")


def test_leaving_drops_the_queue_and_counts_the_never_sent() -> None:
    box = numbered()
    box.add("a")
    send_all(box)
    box.add("b")
    box.lost(last_seq=0)
    box.reconnected(resumed=True)
    assert box.drop_queued() == 1  # "a" was sent once already
    assert box.peek() is None


def test_without_numbers_only_a_line_whose_write_never_completed_goes_again() -> None:
    # An older server: no epoch, no seq, no ids remembered; a written line is taken as
    # delivered.
    box = numbered()
    for text in ("written", "cut"):
        box.add(text)
    first, _ = send_all(box)
    first.written = True
    box.lost(last_seq=None)
    box.reconnected(resumed=False)
    assert [line.text for line in send_all(box)] == ["cut"]
