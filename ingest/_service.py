"""The ingest consumer: validate, drop duplicates, store, hand on; acknowledge last."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from safehood.protocol import (
    ContractViolation,
    DuplicateFilter,
    Message,
    Reason,
    Registry,
    deadletter_topic,
    parse_message,
)
from safehood.store import ReadingStore, StoreError

from ._deadletters import DeadLetter, DeadLetterRecorder
from ._metrics import DUPLICATES, HANDLER_ERRORS, INGEST_LAG, MESSAGES, QUEUE_DEPTH, STORE_WRITE_ERRORS
from ._mqtt_source import MqttSource, RawMessage
from .const import IDLE_TICK_S

log = logging.getLogger(__name__)

MessageHandler = Callable[[Sequence[Message]], None]
"""Called with each stored batch of valid messages, on the consumer thread."""
TickHandler = Callable[[int], None]
"""Called about once a second on the consumer thread with the wall clock (epoch ms)."""


@dataclass(slots=True)
class IngestStats:
    received: int = 0
    valid: int = 0
    duplicates: int = 0
    dead_letters: int = 0


class IngestService:
    """Takes raw messages off the source's queue in batches, validates
    each against the contract and the registry, drops duplicates, writes the batch to the
    store, passes it to the handlers (detectors, device health), then acknowledges it.

    A batch is acknowledged only after the store took it, so a crash loses nothing: the
    broker redelivers and the store's idempotent writes absorb the repeat. Handlers run on
    the consumer thread, one batch at a time; an exception in one is logged and counted,
    never allowed to stop ingest.
    """

    def __init__(
        self,
        source: MqttSource,
        store: ReadingStore,
        deadletters: DeadLetterRecorder,
        *,
        registry: Callable[[], Registry | None],
        topic_prefix: str,
        handlers: Sequence[MessageHandler] = (),
        tick_handlers: Sequence[TickHandler] = (),
        batch_size: int = 1000,
        dedup_window: int = 256,
    ) -> None:
        self.source = source
        self.store = store
        self.deadletters = deadletters
        self.registry = registry
        self.topic_prefix = topic_prefix
        self.handlers = list(handlers)
        self.tick_handlers = list(tick_handlers)
        self.batch_size = batch_size
        self.dedup = DuplicateFilter(window=dedup_window)
        self.stats = IngestStats()
        self._ignored_topics = {deadletter_topic(topic_prefix)}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_tick = 0.0

    def start(self) -> None:
        self.source.start()
        self._thread = threading.Thread(target=self._run, name="ingest-consumer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking messages, finish the batch in hand, and disconnect."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.source.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._take_batch()
            if batch:
                self._process(batch)
            self._maybe_tick()
        # Drain what already arrived so a clean stop acknowledges everything it received.
        while True:
            batch = self._take_batch(wait=False)
            if not batch:
                break
            self._process(batch)

    def _take_batch(self, wait: bool = True) -> list[RawMessage]:
        """Wait up to a tick for the first message, then take whatever else is already
        queued, up to the batch size. Under load batches grow by themselves; when traffic
        is light every message goes on at once (alerts must not wait for a timer)."""
        batch: list[RawMessage] = []
        source = self.source.queue
        try:
            batch.append(source.get(timeout=IDLE_TICK_S) if wait else source.get_nowait())
            while len(batch) < self.batch_size:
                batch.append(source.get_nowait())
        except queue.Empty:
            pass
        QUEUE_DEPTH.set(source.qsize())
        return batch

    def _process(self, batch: list[RawMessage]) -> None:
        registry = self.registry()
        valid: list[Message] = []
        valid_raw: list[RawMessage] = []
        letters: list[DeadLetter] = []
        for raw in batch:
            if raw.topic in self._ignored_topics:
                continue
            try:
                message = parse_message(raw.topic, raw.payload, raw.received_ms, registry,
                                        self.topic_prefix)
            except ContractViolation as error:
                letters.append(self.deadletters.make(raw.topic, raw.payload, raw.received_ms, error))
                continue
            except Exception as exc:  # a bug in validation must not stop ingest
                log.exception("validation failed unexpectedly on %s", raw.topic)
                letters.append(self.deadletters.make(
                    raw.topic, raw.payload, raw.received_ms,
                    ContractViolation(Reason.BAD_TYPE, f"unexpected validation error: {exc}")))
                continue
            if self.dedup.is_duplicate(message):
                self.stats.duplicates += 1
                DUPLICATES.inc()
                continue
            valid.append(message)
            valid_raw.append(raw)
        outcome = self._write(valid)
        if outcome == "stopped":
            return  # not acknowledged: the broker delivers the batch again after restart
        if outcome == "rejected":
            rejected = ContractViolation(Reason.STORE_REJECTED, "the store refused the batch")
            letters.extend(self.deadletters.make(r.topic, r.payload, r.received_ms, rejected)
                           for r in valid_raw)
            valid = []
        self._record_deadletters(letters)
        self._measure(valid)
        for handler in self.handlers:
            try:
                handler(valid)
            except Exception:
                HANDLER_ERRORS.labels(getattr(handler, "__qualname__", repr(handler))).inc()
                log.exception("handler %r failed on a batch of %d", handler, len(valid))
        for raw in batch:
            self.source.ack(raw)
        self.stats.received += len(batch)
        self.stats.valid += len(valid)
        self.stats.dead_letters += len(letters)

    @staticmethod
    def _measure(messages: list[Message]) -> None:
        """Count a stored batch per channel and kind (one metric update per label set, not
        per message) and record how far behind event time it arrived."""
        for (channel, kind), count in Counter(
                (m.channel, m.kind or "unknown") for m in messages).items():
            MESSAGES.labels(channel, kind).inc(count)
        now_s = time.time()
        for m in messages:
            if not m.ts_from_receipt:
                INGEST_LAG.observe(max(0.0, now_s - m.ts_ms / 1000))

    def _write(self, messages: list[Message]) -> str:
        """Write to the store, retrying with backoff until it takes the batch or we stop.
        Not acknowledging meanwhile is the point: the broker keeps what we could not store.
        Returns ``stored``, ``rejected`` (never storable: dead-lettered) or ``stopped``."""
        delay = 0.5
        while messages:
            try:
                self.store.write(messages)
                return "stored"
            except StoreError as exc:
                STORE_WRITE_ERRORS.inc()
                if not exc.retryable:
                    log.error("store refused a batch of %d: %s", len(messages), exc)
                    return "rejected"
                if self._stop.is_set():
                    return "stopped"
                log.warning("store unavailable (%s); retrying in %.1fs", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)
        return "stored"

    def _record_deadletters(self, letters: list[DeadLetter]) -> None:
        try:
            self.deadletters.record(letters)
        except Exception:
            log.exception("could not record %d dead letters", len(letters))

    def _maybe_tick(self) -> None:
        now = time.monotonic()
        if now - self._last_tick < IDLE_TICK_S:
            return
        self._last_tick = now
        now_ms = time.time_ns() // 1_000_000
        for tick in self.tick_handlers:
            try:
                tick(now_ms)
            except Exception:
                HANDLER_ERRORS.labels(getattr(tick, "__qualname__", repr(tick))).inc()
                log.exception("tick handler %r failed", tick)
