"""The dead-letter record: every message that broke the contract, with its reason."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import Engine, insert

from safehood.database import dead_letters
from safehood.protocol import ContractViolation, format_ts

from ._metrics import DEAD_LETTERS


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    reason: str
    detail: str
    payload: bytes
    payload_size: int
    received_ms: int


Publish = Callable[[str, bytes], None]


class DeadLetterRecorder:
    """Keeps dead letters in the database, counts them per reason, and republishes each on
    the dead-letter topic. The stored and published payload is truncated to ``max_payload``
    bytes; its full size is kept beside it."""

    def __init__(
        self,
        engine: Engine,
        *,
        topic: str,
        publish: Publish | None = None,
        max_payload: int = 4096,
    ) -> None:
        self.engine = engine
        self.topic = topic
        self.publish = publish
        self.max_payload = max_payload
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def make(self, topic: str, payload: bytes, received_ms: int, error: ContractViolation) -> DeadLetter:
        return DeadLetter(
            topic=topic, reason=error.reason.value, detail=error.detail,
            payload=payload[: self.max_payload], payload_size=len(payload), received_ms=received_ms,
        )

    def record(self, letters: Sequence[DeadLetter]) -> None:
        """Store, count and republish a batch of dead letters."""
        if not letters:
            return
        with self.engine.begin() as connection:
            connection.execute(insert(dead_letters), [
                {"received_ms": d.received_ms, "topic": d.topic, "reason": d.reason,
                 "detail": d.detail, "payload": d.payload, "payload_size": d.payload_size}
                for d in letters
            ])
        with self._lock:
            for letter in letters:
                self.counts[letter.reason] += 1
                DEAD_LETTERS.labels(letter.reason).inc()
        if self.publish is not None:
            for letter in letters:
                self.publish(self.topic, orjson.dumps({
                    "topic": letter.topic,
                    "reason": letter.reason,
                    "detail": letter.detail,
                    "received_at": format_ts(letter.received_ms),
                    "payload": letter.payload.decode("utf-8", errors="replace"),
                    "payload_size": letter.payload_size,
                }))
