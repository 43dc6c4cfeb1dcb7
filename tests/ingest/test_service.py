"""Ingest over its in-memory edges (a list source, a list sink): what is acknowledged, when."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest

from safehood.database import create_database_engine, migrate
from safehood.ingest import (
    DeadLetterRecorder,
    IngestService,
    ListSink,
    ListSource,
    RawMessage,
    SeenLog,
    SiteTime,
)
from safehood.protocol import DuplicateFilter, Message, parse_message
from safehood.store import StoreError
from tests._mqtt import wait_until

T0 = 1772410500000
PREFIX = "safehood"
TOPIC = f"{PREFIX}/v1/xianlin-3/h001-motion-hall/event"


def raw(seq: int) -> RawMessage:
    payload = orjson.dumps({"ts": T0 + seq, "seq": seq, "kind": "motion", "event": "motion"})
    return RawMessage(TOPIC, payload, T0 + seq)


class RefusingSink:
    """A store that is down: every write fails with a retryable error."""

    def __init__(self) -> None:
        self.attempts = 0

    def write(self, messages: Sequence[Message]) -> None:
        self.attempts += 1
        raise StoreError("down", retryable=True)


@pytest.fixture
def deadletters(tmp_path: Path) -> Iterator[DeadLetterRecorder]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    yield DeadLetterRecorder(engine, topic=f"{PREFIX}/v1/_deadletter")
    engine.dispose()


def test_a_batch_is_acknowledged_once_the_sink_took_it(deadletters: DeadLetterRecorder) -> None:
    broken = RawMessage(TOPIC, b"{not json", T0)
    source = ListSource([raw(0), raw(1), raw(1), broken])
    sink = ListSink()
    service = IngestService(source, sink, deadletters, registry=lambda: None, topic_prefix=PREFIX)
    service.start()
    try:
        wait_until(lambda: len(source.acknowledged) == 4, what="the batch acknowledged")
    finally:
        service.stop()
    assert [m.seq for batch in sink.batches for m in batch] == [0, 1]
    assert service.stats.duplicates == 1
    assert deadletters.counts == {"bad_json": 1}


def test_what_the_sink_refuses_is_never_acknowledged(deadletters: DeadLetterRecorder) -> None:
    source = ListSource([raw(0), raw(1)])
    sink = RefusingSink()
    service = IngestService(source, sink, deadletters, registry=lambda: None, topic_prefix=PREFIX)
    service.start()
    wait_until(lambda: sink.attempts >= 2, what="a retried write")
    service.stop()
    assert source.acknowledged == []
    assert service.stats.received == 0


class BuggySink(ListSink):
    """A store with a bug: the first batch raises what no store should (not a StoreError)."""

    def write(self, messages: Sequence[Message]) -> None:
        if not self.batches and not getattr(self, "failed", False):
            self.failed = True
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        super().write(messages)


def test_a_store_bug_dead_letters_its_batch_and_ingest_goes_on(
        deadletters: DeadLetterRecorder) -> None:
    source = ListSource([raw(0), raw(1)])
    sink = BuggySink()
    service = IngestService(source, sink, deadletters, registry=lambda: None,
                            topic_prefix=PREFIX, batch_size=1)
    service.start()
    try:
        wait_until(lambda: len(source.acknowledged) == 2, what="both batches acknowledged")
    finally:
        service.stop()
    assert deadletters.counts == {"store_rejected": 1}
    assert [m.seq for batch in sink.batches for m in batch] == [1]


def test_a_bad_ts_is_dead_lettered_without_a_traceback(
    deadletters: DeadLetterRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    bad = [RawMessage(TOPIC, b'{"ts": %s, "kind": "motion", "event": "motion"}' % ts, T0)
           for ts in (b"null", b"[1]", b"{}", b"true", b"1772410500000.5")]
    source = ListSource(bad)
    service = IngestService(source, ListSink(), deadletters, registry=lambda: None,
                            topic_prefix=PREFIX)
    service.start()
    try:
        wait_until(lambda: len(source.acknowledged) == len(bad), what="the batch acknowledged")
    finally:
        service.stop()
    assert deadletters.counts == {"bad_timestamp": len(bad)}
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a bad message"


def test_the_seen_log_restores_the_filter_and_forgets_from_its_newest_key(tmp_path: Path) -> None:
    def message(seq: int, received_ms: int) -> Message:
        return parse_message(raw(seq).topic, raw(seq).payload, received_ms)

    log = SeenLog(tmp_path / "seen.db", retention_s=60)
    log.record([message(0, T0)])
    log.record([message(1, T0 + 30_000)])
    log.record([message(2, T0 + 90_000)])
    assert log.prune() == 1  # the batch of seq 0: 90 s before the newest
    log.close()

    restored = DuplicateFilter()
    reopened = SeenLog(tmp_path / "seen.db", retention_s=60)
    assert reopened.restore(restored) == 2
    assert reopened.site_times() == {"xianlin-3": SiteTime(event_ms=T0 + 2, wall_ms=T0 + 90_000)}
    reopened.close()
    assert [restored.is_duplicate(message(seq, T0)) for seq in (0, 1, 2)] == [False, True, True]


class LoggingSink(ListSink):
    """Records each write in ``log`` beside the handler's calls."""

    def __init__(self, log: list[tuple[str, int]]) -> None:
        super().__init__()
        self.log = log

    def write(self, messages: Sequence[Message]) -> None:
        super().write(messages)
        self.log.extend(("written", m.seq or 0) for m in messages)


def test_a_batch_reaches_the_handlers_once_written_and_in_order(
        deadletters: DeadLetterRecorder) -> None:
    log: list[tuple[str, int]] = []
    source = ListSource([raw(seq) for seq in range(6)])
    service = IngestService(source, LoggingSink(log), deadletters, registry=lambda: None,
                            topic_prefix=PREFIX, batch_size=2,
                            handlers=[lambda batch: log.extend(("handled", m.seq or 0)
                                                               for m in batch)])
    service.start()
    try:
        wait_until(lambda: len(source.acknowledged) == 6, what="every batch acknowledged")
        # A write retrying against a store that is down must never hold the process at exit.
        writers = [t.daemon for t in threading.enumerate() if t.name == "ingest-store-writer"]
        assert writers and all(writers)
    finally:
        service.stop()
    handled = [seq for what, seq in log if what == "handled"]
    assert handled == list(range(6))
    assert all(log.index(("written", seq)) < log.index(("handled", seq)) for seq in handled)


class RefusingFirstSink(ListSink):
    """Refuses (retryably) every batch that holds seq 0, takes the others."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def write(self, messages: Sequence[Message]) -> None:
        if any(m.seq == 0 for m in messages):
            self.refused += 1
            raise StoreError("down", retryable=True)
        super().write(messages)


def test_nothing_after_a_batch_left_unwritten_at_stop_is_acknowledged(
        deadletters: DeadLetterRecorder) -> None:
    # Acknowledging seq 1 but not seq 0 would have the broker deliver 0 after 1 next time.
    handled: list[Message] = []
    source = ListSource([raw(0), raw(1)])
    sink = RefusingFirstSink()
    service = IngestService(source, sink, deadletters, registry=lambda: None,
                            topic_prefix=PREFIX, batch_size=1, handlers=[handled.extend])
    service.start()
    wait_until(lambda: sink.refused >= 1, what="a refused write")
    service.stop()
    assert source.acknowledged == []
    assert handled == []
