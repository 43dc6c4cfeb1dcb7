"""The inbox between paho's network thread and the consumer: first in, first out, a batch at
a time, and a producer held back while it is full."""

from __future__ import annotations

import threading

from safehood.ingest._source import Inbox


def test_takes_in_order_up_to_the_batch_size() -> None:
    inbox: Inbox[int] = Inbox()
    inbox.put_many(range(5))
    inbox.put_many([5, 6])
    assert inbox.take(4, 0) == [0, 1, 2, 3]
    assert inbox.take(10, 0) == [4, 5, 6]
    assert inbox.take(10, 0) == []
    assert len(inbox) == 0


def test_a_full_inbox_holds_the_producer_until_the_consumer_takes() -> None:
    inbox: Inbox[int] = Inbox(max_items=3)
    inbox.put_many([0, 1, 2])
    second_put_done = threading.Event()

    def produce() -> None:
        inbox.put_many([3, 4])
        second_put_done.set()

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    assert not second_put_done.wait(0.2)  # full: the producer waits
    assert inbox.take(2, 0) == [0, 1]
    assert second_put_done.wait(10)
    producer.join(10)
    # The batch went in whole once there was room: one batch over the limit at most.
    assert inbox.take(10, 0) == [2, 3, 4]


def test_a_waiting_consumer_wakes_when_a_batch_arrives() -> None:
    inbox: Inbox[int] = Inbox()
    timer = threading.Timer(0.05, inbox.put_many, args=([7, 8],))
    timer.start()
    assert inbox.take(10, 30) == [7, 8]
    timer.join()
