"""The two edges of ingest, after httpx's transports: a :class:`ReadingSource` that
messages come from (MQTT, or a list in tests) and a :class:`ReadingSink` they are written to
(the reading store, or a list in tests). Each is one method with a documented contract."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from safehood.protocol import Message

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message as it came off the wire, before any validation."""

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


def take(inbox: queue.Queue[T], max_messages: int, timeout_s: float) -> list[T]:
    """Up to ``max_messages`` from ``inbox``: the first waited for up to ``timeout_s``, the
    rest only if already there (under load batches grow by themselves; a lone message
    goes on at once, alerts must not wait for a timer)."""
    batch: list[T] = []
    try:
        batch.append(inbox.get(timeout=timeout_s) if timeout_s > 0 else inbox.get_nowait())
        while len(batch) < max_messages:
            batch.append(inbox.get_nowait())
    except queue.Empty:
        pass
    return batch


class ListSource:
    """An in-memory :class:`ReadingSource`: hands out what it was given (and what
    :meth:`put` adds), and keeps what was acknowledged in :attr:`acknowledged`."""

    def __init__(self, messages: Iterable[RawMessage] = ()) -> None:
        self._inbox: queue.Queue[RawMessage] = queue.Queue()
        self.acknowledged: list[RawMessage] = []
        for message in messages:
            self.put(message)

    def put(self, message: RawMessage) -> None:
        self._inbox.put(message)

    def receive(self, max_messages: int, timeout_s: float) -> Received:
        batch = take(self._inbox, max_messages, timeout_s)
        return Received(batch, lambda: self.acknowledged.extend(batch))


class ListSink:
    """An in-memory :class:`ReadingSink`: every batch written, in order."""

    def __init__(self) -> None:
        self.batches: list[list[Message]] = []

    def write(self, messages: Sequence[Message]) -> None:
        self.batches.append(list(messages))
