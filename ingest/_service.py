"""The ingest consumer: validate, drop duplicates, store, hand on; acknowledge last.

Durability from MQTT to the store is one rule: a batch is acknowledged to the source only
after the sink took it for good. Until then the broker's persistent session holds it (a
crash or a restart gets it delivered again, and the store's idempotent writes absorb the
repeat); once acknowledged, the store holds it: a committed SQLite transaction, or for
InfluxDB the store's disk spool, its one log and outage buffer. Nothing else keeps a copy:
while the store refuses a batch, ingest waits for it with backoff and acknowledges nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from safehood.dialects import Dialect, SourceRouter
from safehood.protocol import (
    ContractViolation,
    DuplicateFilter,
    Message,
    Reason,
    Registry,
    deadletter_topic,
    parse_message,
)
from safehood.store import StoreError

from ._deadletters import DeadLetter, DeadLetterRecorder
from ._metrics import (
    DUPLICATES,
    HANDLER_ERRORS,
    INGEST_LAG,
    MESSAGES,
    STORE_WRITE_ERRORS,
    observe_many,
)
from ._seen import SeenLog
from ._source import RawMessage, ReadingSink, ReadingSource, Received
from .const import (
    IDLE_TICK_S,
    SEEN_PRUNE_INTERVAL_S,
    STORE_RETRY_MAX_DELAY_S,
    STORE_RETRY_MIN_DELAY_S,
)

log = logging.getLogger(__name__)

MessageHandler = Callable[[Sequence[Message]], None]
"""Called with each stored batch of valid messages, on the consumer thread."""
TickHandler = Callable[[int], None]
"""Called about once a second on the consumer thread with the wall clock (epoch ms)."""


WriteOutcome = Literal["stored", "rejected", "stopped"]
T = TypeVar("T")


class _StoreWriter:
    """One daemon thread that runs the calls submitted to it in order. A daemon, unlike a
    ``ThreadPoolExecutor``'s thread, so that a write retrying against a store that is down
    never holds the process at its exit (the consumer thread is a daemon too)."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue())
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def submit(self, call: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._calls.put((future, call))
        return future

    def close(self) -> None:
        """End the thread once the calls already submitted have run."""
        self._calls.put(None)

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            future, call = item
            try:
                future.set_result(call())
            except BaseException as exc:
                future.set_exception(exc)


@dataclass(slots=True)
class IngestStats:
    """Counts since start, and the CPU time ingest spent on batches: ``consumer_cpu_s`` on
    the consumer thread (validation, detectors, acknowledgement), ``store_cpu_s`` on the
    store writer's (not paho's thread)."""

    received: int = 0
    valid: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    consumer_cpu_s: float = 0.0
    store_cpu_s: float = 0.0

    @property
    def cpu_us_per_message(self) -> float | None:
        """Ingest's CPU a received message (consumer and store writer), in microseconds
        (None before the first)."""
        if not self.received:
            return None
        return (self.consumer_cpu_s + self.store_cpu_s) / self.received * 1e6


@dataclass(slots=True)
class _Batch:
    """A received batch once validated: what goes to the store and what was dead-lettered,
    and the store writer's outcome once submitted."""

    received: Received
    valid: list[Message]
    valid_raw: list[RawMessage]
    letters: list[DeadLetter]
    stored: Future[tuple[WriteOutcome, float]] = field(default_factory=Future)


class IngestService:
    """Takes batches from the source, validates each message against the contract and the
    registry, drops duplicates, writes the batch to the sink, passes it to the handlers
    (detectors, device health), then acknowledges it (see the module's docstring).

    The caller starts and stops the source. Handlers run on the consumer thread, one batch
    at a time; an exception in one is logged and counted, never allowed to stop ingest.
    The sink writes on a thread of its own, a batch ahead: while the handlers have batch N,
    batch N+1 is being written (SQLite's b-tree work, half of a write, runs without the GIL,
    beside the detectors); a batch reaches the handlers only once it is written, in order.
    With a ``seen`` log the duplicate filter outlives a restart: it starts from the log, and
    each batch is recorded there once the handlers had it, before it is acknowledged.
    With ``dialects``, a message on a vendor topic is first translated into contract
    messages for the registry device that claims the topic (see :class:`SourceRouter`).
    """

    def __init__(
        self,
        source: ReadingSource,
        sink: ReadingSink,
        deadletters: DeadLetterRecorder,
        *,
        registry: Callable[[], Registry | None],
        topic_prefix: str,
        handlers: Sequence[MessageHandler] = (),
        tick_handlers: Sequence[TickHandler] = (),
        batch_size: int = 1000,
        dedup_window: int = 256,
        dedup_retention_s: float | None = None,
        seen: SeenLog | None = None,
        dialects: Mapping[str, Dialect] | None = None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.deadletters = deadletters
        self.registry = registry
        self.topic_prefix = topic_prefix
        self.handlers = list(handlers)
        self.tick_handlers = list(tick_handlers)
        self.batch_size = batch_size
        self.dedup = DuplicateFilter(window=dedup_window, retention_s=dedup_retention_s)
        self.seen = seen
        self.dialects = dict(dialects or {})
        self._router: tuple[Registry | None, SourceRouter | None] = (None, None)
        if seen is not None:
            log.info("duplicate filter restored with %d keys", seen.restore(self.dedup))
        self.stats = IngestStats()
        self._ignored_topics = {deadletter_topic(topic_prefix)}
        self._contract_head = f"{topic_prefix}/"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer: _StoreWriter | None = None
        self._last_tick = 0.0
        self._last_prune = 0.0

    def start(self) -> None:
        self._writer = _StoreWriter("ingest-store-writer")
        self._thread = threading.Thread(target=self._run, name="ingest-consumer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking messages and finish the batches already received."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        # A consumer that outlived the wait keeps its writer.
        if self._writer is not None and not (self._thread and self._thread.is_alive()):
            self._writer.close()

    def _run(self) -> None:
        """Validate batch N+1 while the writer stores batch N, then hand N on while the
        writer stores N+1. Once stopping, finish what already arrived, so that a clean stop
        acknowledges everything it received."""
        assert self._writer is not None
        writing: _Batch | None = None
        while True:
            stopping = self._stop.is_set()
            # Wait for news only when nothing is being written: a lone message goes on at once.
            received = self.source.receive(
                self.batch_size, 0 if writing is not None or stopping else IDLE_TICK_S)
            started_s = time.thread_time()
            batch = self._validate(received) if received.messages else None
            outcome: WriteOutcome = "stored"
            if writing is not None:
                outcome, store_cpu_s = writing.stored.result()
                self.stats.store_cpu_s += store_cpu_s
                if outcome == "stopped":
                    # Neither this batch nor any after it is acknowledged: all are delivered
                    # again after the restart, in order.
                    return
            if batch is not None and batch.valid:
                batch.stored = self._writer.submit(functools.partial(self._store, batch.valid))
            elif batch is not None:  # nothing to store (dead letters, duplicates)
                batch.stored.set_result(("stored", 0.0))
            if writing is not None:
                self._hand_on(writing, outcome)
            self.stats.consumer_cpu_s += time.thread_time() - started_s
            writing = batch
            if writing is None and stopping:
                return
            self._maybe_tick()

    def _validate(self, received: Received) -> _Batch:
        batch = _Batch(received, [], [], [])
        registry = self.registry()
        for raw in received.messages:
            if raw.topic in self._ignored_topics:
                continue
            try:
                messages = self._parse(raw, registry)
            except ContractViolation as error:
                batch.letters.append(
                    self.deadletters.make(raw.topic, raw.payload, raw.received_ms, error))
                continue
            except Exception as exc:  # a bug in validation must not stop ingest
                log.exception("validation failed unexpectedly on %s", raw.topic)
                batch.letters.append(self.deadletters.make(
                    raw.topic, raw.payload, raw.received_ms,
                    ContractViolation(Reason.BAD_TYPE, f"unexpected validation error: {exc}")))
                continue
            for message in messages:
                if self.dedup.is_duplicate(message):
                    self.stats.duplicates += 1
                    DUPLICATES.inc()
                    continue
                batch.valid.append(message)
                batch.valid_raw.append(raw)
        return batch

    def _store(self, messages: list[Message]) -> tuple[WriteOutcome, float]:
        """On the writer thread: :meth:`_write`'s outcome and the CPU it took."""
        started_s = time.thread_time()
        outcome = self._write(messages)
        return outcome, time.thread_time() - started_s

    def _hand_on(self, batch: _Batch, outcome: WriteOutcome) -> None:
        """Dead-letter, measure, run the handlers on and acknowledge a written batch."""
        valid, letters = batch.valid, batch.letters
        if outcome == "rejected":
            rejected = ContractViolation(Reason.STORE_REJECTED, "the store refused the batch")
            letters.extend(self.deadletters.make(r.topic, r.payload, r.received_ms, rejected)
                           for r in batch.valid_raw)
            valid = []
        self._record_deadletters(letters)
        self._measure(valid)
        for handler in self.handlers:
            try:
                handler(valid)
            except Exception:
                HANDLER_ERRORS.labels(getattr(handler, "__qualname__", repr(handler))).inc()
                log.exception("handler %r failed on a batch of %d", handler, len(valid))
        self._remember(valid)
        batch.received.ack()
        self.stats.received += len(batch.received.messages)
        self.stats.valid += len(valid)
        self.stats.dead_letters += len(letters)

    def _parse(self, raw: RawMessage, registry: Registry | None) -> list[Message]:
        """The contract messages of ``raw``: itself on a contract topic, or its translation
        on a vendor topic that a registry device claims."""
        router = None
        if registry is not None and not raw.topic.startswith(self._contract_head):
            router = self._router_for(registry)
        routed = router.route(raw.topic, raw.payload, raw.received_ms) if router else None
        if routed is None:
            return [parse_message(raw.topic, raw.payload, raw.received_ms, registry,
                                  self.topic_prefix)]
        messages = []
        for part in routed:
            message = parse_message(part.topic, part.payload, raw.received_ms, registry,
                                    self.topic_prefix)
            messages.append(dataclasses.replace(
                message, ts_from_receipt=message.ts_from_receipt or part.ts_from_receipt,
                extras=part.extras))
        return messages

    def _router_for(self, registry: Registry) -> SourceRouter | None:
        """The router of this registry (made again only when the registry is replaced)."""
        if not self.dialects:
            return None
        known, router = self._router
        if known is not registry or router is None:
            router = SourceRouter(self.dialects, registry, self.topic_prefix)
            self._router = (registry, router)
        return router

    @staticmethod
    def _measure(messages: list[Message]) -> None:
        """Count a stored batch per channel and kind (one metric update per label set, not
        per message) and record how far behind event time it arrived."""
        for (channel, kind), count in Counter(
                (m.channel, m.kind or "unknown") for m in messages).items():
            MESSAGES.labels(channel, kind).inc(count)
        now_s = time.time()
        observe_many(INGEST_LAG, [max(0.0, now_s - m.ts_ms / 1000)
                                  for m in messages if not m.ts_from_receipt])

    def _write(self, messages: list[Message]) -> WriteOutcome:
        """Write to the sink, retrying with backoff until it takes the batch or we stop.
        Returns ``stored``, ``rejected`` (never storable: dead-lettered) or ``stopped``."""
        delay = STORE_RETRY_MIN_DELAY_S
        while messages:
            try:
                self.sink.write(messages)
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
                delay = min(delay * 2, STORE_RETRY_MAX_DELAY_S)
            except Exception:
                # A store bug on one batch (a value it cannot hold) must not end the consumer
                # thread while /readyz says ready: the batch is dead-lettered, ingest goes on.
                STORE_WRITE_ERRORS.inc()
                log.exception("store failed unexpectedly on a batch of %d", len(messages))
                return "rejected"
        return "stored"

    def _remember(self, messages: list[Message]) -> None:
        if self.seen is None:
            return
        try:
            self.seen.record(messages)
        except Exception:  # the batch is stored and handled: ingest goes on without
            log.exception("could not record %d keys of the duplicate filter", len(messages))

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
        if self.seen is not None and now - self._last_prune >= SEEN_PRUNE_INTERVAL_S:
            self._last_prune = now
            try:
                self.seen.prune()
            except Exception:
                log.exception("could not prune the duplicate filter's log")
        now_ms = time.time_ns() // 1_000_000
        for tick in self.tick_handlers:
            try:
                tick(now_ms)
            except Exception:
                HANDLER_ERRORS.labels(getattr(tick, "__qualname__", repr(tick))).inc()
                log.exception("tick handler %r failed", tick)
