"""The offline detection path of ``safehood detect``: a recording through the detectors and
the alert lifecycle, in memory, with no broker and no server."""

from __future__ import annotations

import dataclasses
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
    parse_topic,
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


def offline_alert_id(number: int) -> str:
    """The id of the ``number``-th alert an offline run raises (from 1)."""
    return f"a{number:07d}"


class AlertSink:
    """Turns decisions into alerts through the alerting package's lifecycle, in memory.

    Nobody works the alerts of an offline run, yet the same resident may fall twice in a
    week: like a duty officer, the sink resolves an alert ``resolve_after_s`` of event time
    after its last change (``None``: never), so that the next incident raises a new alert
    instead of merging into an old one. Alert ids are numbered in order of raising, so two
    runs over the same recording write the same file.
    """

    def __init__(self, registry: Registry,
                 resolve_after_s: float | None = DEFAULT_RESOLVE_AFTER_S, *,
                 id_factory: Callable[[], str] | None = None) -> None:
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
        self._open_queries: dict[str, AlertQuery] = {}  # the open alerts of each site
        self._all_query = AlertQuery(limit=None)
        if id_factory is None:
            counter = itertools.count(1)
            id_factory = lambda: offline_alert_id(next(counter))  # noqa: E731
        repository = InMemoryAlertRepository()
        pipeline = build_pipeline(AlertPolicy(), repository, id_factory=id_factory)
        self._manager = AlertManager(repository, pipeline, registry=registry, clock=lambda: 0)
        self._resolve_after_ms = None if resolve_after_s is None else int(resolve_after_s * 1000)
        # Each site's officer sweeps on the site's own event time: what a site's alerts
        # become never depends on another site's traffic (so sites may run apart).
        self._next_sweep_ms: dict[str, int] = {}

    def apply(self, decisions: list[AlertDecision]) -> None:
        # A batch may span time (timers fired together): the simulated officer resolves
        # what was due before each decision, not only before the batch.
        for decision in decisions:
            self.sweep(decision.ts_ms, decision.site)
            self._manager.apply([decision])

    def sweep(self, now_ms: int, site: str) -> None:
        """Resolve the open alerts of ``site`` whose last change is ``resolve_after_s``
        before ``now_ms``."""
        after = self._resolve_after_ms
        next_sweep_ms = self._next_sweep_ms.get(site)
        if after is None or (next_sweep_ms is not None and now_ms < next_sweep_ms):
            return
        self._next_sweep_ms[site] = now_ms + _SWEEP_MS
        query = self._open_queries.get(site)
        if query is None:
            query = self._open_queries[site] = dataclasses.replace(self._open_query,
                                                                   sites=(site,))
        for record in self._manager.repository.query(query):
            changed = record.updated_ms
            if changed + after <= now_ms:
                self._manager.resolve(record.id, _OFFICER, "resolved by the offline run",
                                      at_ms=changed + after)

    def alerts(self) -> list[Alert]:
        alerts = self._manager.list(self._all_query)
        return sorted(alerts, key=lambda a: a.id)


_SWEEP_MS = 60_000
_OFFICER = "offline-run"


@dataclass(frozen=True, slots=True)
class SiteShare:
    """The sites one of several runs over the same recording takes (see
    :mod:`safehood._offline_jobs`): its own, and, for the run that ``counts_unplaced``, the
    lines that belong to no run's sites (broken lines, topics of unknown sites)."""

    mine: frozenset[str]
    others: frozenset[str]
    counts_unplaced: bool

    def takes(self, site: str) -> bool:
        return site in self.mine or (self.counts_unplaced and site not in self.others)


class RaiseOrder:
    """Alert ids for one of several runs over the same recording: a placeholder an alert,
    and where in the recording it was raised (line, site, order in the run), so that the
    alerts of every run can be numbered as one run over the whole recording numbers them."""

    def __init__(self, run: int) -> None:
        self._run = run
        self._count = itertools.count(1)
        self.position: tuple[int, str] = (0, "")
        self.keys: dict[str, tuple[int, str, int]] = {}

    def next_id(self) -> str:
        number = next(self._count)
        # Zero-padded: a run's placeholders sort as the ids of a single run would.
        placeholder = f"~alert{self._run}.{number:09d}~"
        self.keys[placeholder] = (*self.position, number)
        return placeholder


class OfflineRun:
    """The detectors and the alert lifecycle over the lines of a recording (:func:`detect`).

    With a ``share``, only the lines of its sites are taken (the rest are skipped
    uncounted) and :meth:`finish` advances only its sites; nothing a run decides for a
    site depends on another site's lines, so several runs with disjoint shares give the
    alerts one run gives.
    """

    def __init__(self, registry: Registry, *, config: DetectorConfig | None = None,
                 topic_prefix: str = DEFAULT_TOPIC_PREFIX, sink: AlertSink | None = None,
                 rules: Sequence[Rule[Any]] | None = None, share: SiteShare | None = None,
                 order: RaiseOrder | None = None) -> None:
        self.registry = registry
        self.engine = DetectorEngine(registry, config, rules=rules)
        self.sink = sink or AlertSink(registry)
        self.summary = DetectSummary()
        self._prefix = topic_prefix
        self._share = share
        self._order = order
        # Newest event time of each site: a status without a time (a last will) takes its
        # site's, as a live run stamps it with the site's "now".
        self._latest: dict[str, int] = {}

    @property
    def latest_ms(self) -> int | None:
        """The newest event time taken, or None before the first message."""
        return max(self._latest.values(), default=None)

    def feed(self, lines: Iterable[bytes]) -> None:
        """Take the lines of a recording, in order."""
        summary, engine, sink, registry = self.summary, self.engine, self.sink, self.registry
        prefix, share, order, latest = self._prefix, self._share, self._order, self._latest
        unplaced = share is None or share.counts_unplaced
        for number, raw in enumerate(lines, 1):
            if unplaced:
                summary.lines += 1
            if not raw.strip():
                continue
            try:
                topic, payload = decode_replay_line(raw)
            except orjson.JSONDecodeError:
                if unplaced:
                    summary.bad["bad_line"] += 1
                continue
            except ValidationError:
                if unplaced:
                    summary.bad["bad_record"] += 1
                continue
            try:
                site = parse_topic(topic, prefix).site
            except ContractViolation as exc:
                if unplaced:
                    summary.bad[exc.reason.value] += 1
                continue
            if share is not None and not share.takes(site):
                continue
            site_latest = latest.get(site)
            try:
                message = parse_message(topic, payload,
                                        0 if site_latest is None else site_latest, registry,
                                        prefix=prefix)
            except ContractViolation as exc:
                summary.bad[exc.reason.value] += 1
                continue
            if message.ts_from_receipt and site_latest is None:
                summary.bad["no_time"] += 1
                continue
            summary.messages += 1
            ts_ms = message.ts_ms
            if site_latest is None or ts_ms > site_latest:
                latest[site] = ts_ms
            if summary.first_ms is None or ts_ms < summary.first_ms:
                summary.first_ms = ts_ms
            if order is not None:
                order.position = (number, site)
            sink.apply(engine.process_one(message))
            sink.sweep(ts_ms, site)

    def finish(self, end_ms: int | None) -> tuple[list[Alert], DetectSummary]:
        """Let every timer up to ``end_ms`` (the newest event time of the recording, None
        when it had no message) fire, as a live run left running for the allowed lateness
        after the last message would; return the alerts and the summary."""
        summary, engine = self.summary, self.engine
        if end_ms is not None:
            now_ms = end_ms + engine.allowed_lateness_ms
            if self._share is None:
                self.sink.apply(engine.advance(now_ms))
            else:
                for site in sorted(self._share.mine):
                    if self._order is not None:
                        self._order.position = (_END, site)
                    self.sink.apply(engine.advance(now_ms, site))
        summary.last_ms = self.latest_ms
        summary.duplicates = engine.stats.duplicates
        summary.late = engine.stats.late
        alerts = self.sink.alerts()
        summary.alerts.update(alert.type.value for alert in alerts)
        return alerts, summary


_END = 1 << 62
"""The position of what the end of a recording raises: after every line."""


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
    run = OfflineRun(registry, config=config, topic_prefix=topic_prefix, sink=sink,
                     rules=rules)
    with open(input_path, "rb") as handle:
        run.feed(_counting(handle, progress))
    return run.finish(run.latest_ms)


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
