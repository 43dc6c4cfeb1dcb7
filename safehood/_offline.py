"""The offline detection path of ``safehood detect``: a recording through the detectors and
the alert lifecycle, in memory, with no broker and no server."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from safehood.commands.detect import DEFAULT_RESOLVE_AFTER_S
from safehood.detectors import DetectorConfig, DetectorEngine
from safehood.detectors.base import Rule
from safehood.protocol import (
    Alert,
    AlertDecision,
    AlertStatus,
    ContractViolation,
    Registry,
    decode_replay_line,
    parse_message,
)
from safehood.protocol.const import DEFAULT_TOPIC_PREFIX


@dataclass(slots=True)
class DetectSummary:
    """What an offline run saw and produced."""

    lines: int = 0
    messages: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    late: int = 0
    alerts: Counter[str] = field(default_factory=Counter)
    first_ms: int | None = None
    last_ms: int | None = None

    def line(self) -> str:
        bad = sum(self.bad.values())
        reasons = ", ".join(f"{reason} {count}" for reason, count in self.bad.most_common())
        alerts = ", ".join(f"{kind} {count}" for kind, count in sorted(self.alerts.items()))
        return (
            f"{self.messages} messages ({bad} bad{': ' + reasons if reasons else ''}; "
            f"{self.duplicates} duplicates; {self.late} late), "
            f"{sum(self.alerts.values())} alerts{': ' + alerts if alerts else ''}"
        )


class AlertSink:
    """Turns decisions into alerts through the alerting package's lifecycle, in memory.

    Nobody works the alerts of an offline run, yet the same resident may fall twice in a
    week: like a duty officer, the sink resolves an alert ``resolve_after_s`` of event time
    after its last change (``None``: never), so that the next incident raises a new alert
    instead of merging into an old one. Alert ids are numbered in order of raising, so two
    runs over the same recording write the same file.
    """

    def __init__(self, registry: Registry,
                 resolve_after_s: float | None = DEFAULT_RESOLVE_AFTER_S) -> None:
        # Imported here: the alerting package pulls in Apprise, which the detectors' own
        # users (tests, benches) need not load.
        from safehood.alerting import (
            AlertManager,
            AlertPolicy,
            AlertQuery,
            InMemoryAlertRepository,
            build_pipeline,
        )

        self._open_query = AlertQuery(
            statuses=(AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED), limit=None)
        self._all_query = AlertQuery(limit=None)
        counter = itertools.count(1)
        repository = InMemoryAlertRepository()
        pipeline = build_pipeline(AlertPolicy(), repository,
                                  id_factory=lambda: f"a{next(counter):07d}")
        self._manager = AlertManager(repository, pipeline, registry=registry, clock=lambda: 0)
        self._resolve_after_ms = None if resolve_after_s is None else int(resolve_after_s * 1000)
        self._next_sweep_ms: int | None = None

    def apply(self, decisions: list[AlertDecision]) -> None:
        # A batch may span time (timers fired together): the simulated officer resolves
        # what was due before each decision, not only before the batch.
        for decision in decisions:
            self.sweep(decision.ts_ms)
            self._manager.apply([decision])

    def sweep(self, now_ms: int) -> None:
        """Resolve the open alerts whose last change is ``resolve_after_s`` before ``now_ms``."""
        after = self._resolve_after_ms
        if after is None or (self._next_sweep_ms is not None and now_ms < self._next_sweep_ms):
            return
        self._next_sweep_ms = now_ms + _SWEEP_MS
        for record in self._manager.repository.query(self._open_query):
            changed = record.updated_ms
            if changed + after <= now_ms:
                self._manager.resolve(record.id, _OFFICER, "resolved by the offline run",
                                      at_ms=changed + after)

    def alerts(self) -> list[Alert]:
        alerts = self._manager.list(self._all_query)
        return sorted(alerts, key=lambda a: a.id)


_SWEEP_MS = 60_000
_OFFICER = "offline-run"


def _records(handle: Iterable[bytes], summary: DetectSummary) -> Iterator[tuple[str, bytes]]:
    """Each record's topic and payload bytes."""
    for raw in handle:
        summary.lines += 1
        if not raw.strip():
            continue
        try:
            yield decode_replay_line(raw)
        except orjson.JSONDecodeError:
            summary.bad["bad_line"] += 1
        except ValidationError:
            summary.bad["bad_record"] += 1


def detect(
    registry: Registry,
    input_path: Path,
    *,
    config: DetectorConfig | None = None,
    topic_prefix: str = DEFAULT_TOPIC_PREFIX,
    progress: Callable[[int], None] | None = None,
    sink: AlertSink | None = None,
    rules: Sequence[Rule[Any]] | None = None,
) -> tuple[list[Alert], DetectSummary]:
    """Run the detectors over a replay file; return the alerts and a summary.

    ``progress`` is called with the number of bytes read since the last call; ``rules``
    are the detectors' rules to run (every rule when None).
    """
    engine = DetectorEngine(registry, config, rules=rules)
    sink = sink or AlertSink(registry)
    summary = DetectSummary()
    latest: int | None = None
    with open(input_path, "rb") as handle:
        for topic, payload in _records(_counting(handle, progress), summary):
            # A status without a time (a last will) is stamped with the recording's time.
            received = latest if latest is not None else 0
            try:
                message = parse_message(topic, payload, received, registry,
                                        prefix=topic_prefix)
            except ContractViolation as exc:
                summary.bad[exc.reason.value] += 1
                continue
            if message.ts_from_receipt and latest is None:
                summary.bad["no_time"] += 1
                continue
            summary.messages += 1
            latest = message.ts_ms if latest is None else max(latest, message.ts_ms)
            summary.first_ms = message.ts_ms if summary.first_ms is None else min(
                summary.first_ms, message.ts_ms)
            sink.apply(engine.process_one(message))
            sink.sweep(message.ts_ms)
    if latest is not None:
        # Let every timer up to the end of the recording fire, as a live run left running
        # for the allowed lateness after the last message would.
        sink.apply(engine.advance(latest + engine.allowed_lateness_ms))
    summary.last_ms = latest
    summary.duplicates = engine.stats.duplicates
    summary.late = engine.stats.late
    alerts = sink.alerts()
    summary.alerts.update(alert.type.value for alert in alerts)
    return alerts, summary


class _counting:
    """A binary line iterator that reports how many bytes it has read."""

    def __init__(self, handle: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self._handle = handle
        self._progress = progress

    def __iter__(self) -> Iterator[bytes]:
        progress = self._progress
        if progress is None:
            yield from self._handle
            return
        # Reported by the 64 KiB, not by the line: a call a line cost more than the
        # decoding of its framing.
        unreported = 0
        for line in self._handle:
            unreported += len(line)
            if unreported >= _PROGRESS_BYTES:
                progress(unreported)
                unreported = 0
            yield line
        if unreported:
            progress(unreported)


_PROGRESS_BYTES = 1 << 16
