"""The outbox: typed lines in order, bounded, resent after a loss only when they may be lost."""

from __future__ import annotations

import itertools

import pytest

from pyclient.outbox import Line, Outbox, OutboxFull


class Clock:
    """The outbox's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def numbered(limit: int = 100, clock: Clock | None = None, **kwargs: int) -> Outbox:
    counter = itertools.count(1)
    return Outbox(limit, new_id=lambda: f"id-{next(counter)}", clock=clock or Clock(), **kwargs)


def send_all(box: Outbox) -> list[Line]:
    sent = []
    while (line := box.peek()) is not None:
        box.sending(line)
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
    box.sending(box.peek())  # type: ignore[arg-type]
    box.add("c")  # room again
    assert box.waiting == 2


def test_after_a_reconnect_the_lines_of_the_last_minute_go_again_first() -> None:
    clock = Clock()
    box = numbered(clock=clock)
    box.add("old")
    send_all(box)
    clock.now += 30
    box.add("a")
    box.add("b")
    send_all(box)
    clock.now += 31  # "old" was sent 61 s ago: a dead connection is noticed sooner
    box.add("c")  # typed while disconnected
    box.lost(numbered=True)
    box.reconnected()
    again = send_all(box)
    assert [(line.text, line.client_msg_id, line.resent) for line in again] == [
        ("a", "id-2", True),
        ("b", "id-3", True),
        ("c", "id-4", False),
    ]


def test_a_replayed_line_is_not_sent_again() -> None:
    box = numbered()
    box.add("a")
    box.add("b")
    send_all(box)
    box.add("c")
    box.arrived("id-1")
    box.lost(numbered=True)
    box.reconnected()
    box.arrived("id-3")
    assert [line.text for line in send_all(box)] == ["b"]


def test_only_the_last_lines_are_resent() -> None:
    box = numbered(resend_window=2)
    for text in ("a", "b", "c"):
        box.add(text)
    send_all(box)
    box.lost(numbered=True)
    box.reconnected()
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
    box.lost(numbered=True)
    box.reconnected()
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
    box.lost(numbered=False)
    box.reconnected()
    assert [line.text for line in send_all(box)] == ["cut"]
