"""The two edges of ingest, after httpx's transports: a :class:`ReadingSource` that
messages come from (MQTT, or a list in tests) and a :class:`ReadingSink` they are written to
(the reading store, or a list in tests). Each is one method with a documented contract."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, Protocol, TypeVar

from safehood.protocol import Message

T = TypeVar("T")


class RawMessage(NamedTuple):
    """A message as it came off the wire, before any validation.

    A named tuple, not a frozen dataclass: paho's network thread makes one a message, and
    a tuple is made in less than half the time (1.0 against 2.5 us, timeit)."""

    topic: str
    payload: bytes
    received_ms: int


@dataclass(frozen=True, slots=True)
class Received:
    """A batch from a source and how to acknowledge it (once, after it was stored)."""

    messages: Sequence[RawMessage]
    ack: Callable[[], None]


class ReadingSource(Protocol):
    def receive(self, max_messages: int, timeout_s: float) -> Received:
        """Wait up to ``timeout_s`` for a first message, then take whatever else is already
        there, up to ``max_messages``; an empty batch when nothing came.

        A batch whose ``ack`` is never called is delivered again after a restart: call it
        once the batch is stored. Called from one thread.
        """
        ...


class ReadingSink(Protocol):
    def write(self, messages: Sequence[Message]) -> None:
        """Take a batch for good: when this returns, a crash no longer loses it. Raises
        ``safehood.store.StoreError`` (``retryable`` or not) when it could not."""
        ...


class Inbox(Generic[T]):
    """A first-in first-out buffer between one thread that puts and one that takes, a batch
    at a time: one lock and one wake-up a batch, where ``queue.Queue`` takes them for each
    item (a third of the MQTT thread's and the consumer's cost of a message, cProfile).

    With ``max_items`` it holds back a producer: :meth:`put_many` waits while the inbox is
    full, then adds its whole batch (so it may hold up to a batch more than ``max_items``).
    """

    def __init__(self, max_items: int = 0) -> None:
        self._items: deque[T] = deque()
        self._max_items = max_items
        self._changed = threading.Condition()

    def __len__(self) -> int:
        return len(self._items)

    def put_many(self, items: Iterable[T]) -> None:
        with self._changed:
            while self._max_items and len(self._items) >= self._max_items:
                self._changed.wait()
            self._items.extend(items)
            self._changed.notify_all()

    def take(self, max_items: int, timeout_s: float) -> list[T]:
        """Up to ``max_items``: the first waited for up to ``timeout_s``, the rest only if
        already there (under load batches grow by themselves; a lone message goes on at
        once, alerts must not wait for a timer)."""
        with self._changed:
            if not self._items and timeout_s > 0:
                self._changed.wait(timeout_s)
            items = self._items
            batch = [items.popleft() for _ in range(min(max_items, len(items)))]
            if batch:
                self._changed.notify_all()
        return batch


class ListSource:
    """An in-memory :class:`ReadingSource`: hands out what it was given (and what
    :meth:`put` adds), and keeps what was acknowledged in :attr:`acknowledged`."""

    def __init__(self, messages: Iterable[RawMessage] = ()) -> None:
        self._inbox: Inbox[RawMessage] = Inbox()
        self.acknowledged: list[RawMessage] = []
        self._inbox.put_many(messages)

    def put(self, message: RawMessage) -> None:
        self._inbox.put_many([message])

    def receive(self, max_messages: int, timeout_s: float) -> Received:
        batch = self._inbox.take(max_messages, timeout_s)
        return Received(batch, lambda: self.acknowledged.extend(batch))


class ListSink:
    """An in-memory :class:`ReadingSink`: every batch written, in order."""

    def __init__(self) -> None:
        self.batches: list[list[Message]] = []

    def write(self, messages: Sequence[Message]) -> None:
        self.batches.append(list(messages))
