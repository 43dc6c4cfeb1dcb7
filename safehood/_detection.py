"""Where the live pipeline meets the detectors: runs them on ingest's consumer thread, moves
each site's event time on with the wall clock, and hands decisions to alerting."""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence

from prometheus_client import Histogram

from safehood.alerting import AlertChange, AlertManager, DeliveryResult, Notification, Notifier
from safehood.detectors import DetectorEngine
from safehood.ingest import SiteTime
from safehood.protocol import AlertDecision, Message, Registry

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
ALERT_LATENCY = Histogram(
    "safehood_alert_latency_seconds",
    "MQTT receipt of a message to the alert decisions it caused applied to the alert store",
    buckets=_LATENCY_BUCKETS,
)
NOTIFICATION_HANDOVER = Histogram(
    "safehood_notification_handover_seconds",
    "An alert change committed to the first of its notifications handed to the notifier",
    buckets=_LATENCY_BUCKETS,
)


class AlertLatency:
    """How long messages that caused alert decisions took from MQTT receipt to the alert
    store (or another step of the alert path, with its own ``histogram``): the newest
    ``keep``, for percentiles (the demo's status line), and the histogram (by default
    ``safehood_alert_latency_seconds``). Thread safe."""

    def __init__(self, keep: int = 1_000, histogram: Histogram = ALERT_LATENCY) -> None:
        self._recent: deque[float] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._histogram = histogram

    def observe(self, seconds: float) -> None:
        self._histogram.observe(seconds)
        with self._lock:
            self._recent.append(seconds)

    def percentiles_ms(self) -> tuple[float, float] | None:
        """p50 and p99 of the newest observations in ms, or None before the first."""
        with self._lock:
            recent = sorted(self._recent)
        if not recent:
            return None
        return statistics.median(recent) * 1000, recent[int(0.99 * (len(recent) - 1))] * 1000


class HandoverTimer:
    """A :class:`~alerting.Notifier` in front of another that times each notifiable alert
    change from its commit (subscribe :meth:`committed` to the alert manager) to the first
    of its notifications handed over: the notification queue and worker, the step after
    :class:`AlertLatency` (percentiles in :attr:`latency`, the histogram
    ``safehood_notification_handover_seconds``). Thread safe."""

    def __init__(self, notifier: Notifier, keep: int = 1_000) -> None:
        self._notifier = notifier
        self._keep = keep
        self._committed_s: dict[tuple[str, str, int], float] = {}
        self._lock = threading.Lock()
        self.latency = AlertLatency(keep, NOTIFICATION_HANDOVER)

    def committed(self, change: AlertChange) -> None:
        if not change.notify:
            return
        with self._lock:
            self._committed_s[(change.alert.id, change.kind, change.revision)] = time.monotonic()
            if len(self._committed_s) > self._keep:  # changes nobody could be told of
                del self._committed_s[next(iter(self._committed_s))]

    def send(self, notification: Notification) -> DeliveryResult:
        with self._lock:
            committed_s = self._committed_s.pop(
                (notification.alert_id, notification.change, notification.revision), None)
        if committed_s is not None:
            self.latency.observe(time.monotonic() - committed_s)
        return self._notifier.send(notification)


class DetectionStage:
    """A message handler and tick handler for :class:`ingest.IngestService`.

    Event time drives the detectors. Between messages a site's event time is carried on by
    the wall clock from its newest message (newest ``ts`` plus the wall time since it came),
    so a site that falls silent still reaches its offline and inactivity deadlines, while a
    recording replayed at any speed, or from the past, keeps its own time line.
    Everything runs on the consumer thread; a registry change from another thread is picked
    up at the next batch or tick.
    """

    def __init__(self, engine: DetectorEngine, alerts: AlertManager) -> None:
        self.engine = engine
        self.alerts = alerts
        self._sites: dict[str, SiteTime] = {}
        # Sites where event time stood before a restart, until they are heard from again,
        # and the newest event time heard since the start.
        self._resumed: dict[str, SiteTime] = {}
        self._newest_ms: int | None = None
        self._pending_registry: Registry | None = None
        self._lock = threading.Lock()
        self.latency = AlertLatency()
        # The detectors' share of the consumer thread (the demo's status line).
        self.messages = 0
        self.cpu_s = 0.0

    def update_registry(self, registry: Registry) -> None:
        with self._lock:
            self._pending_registry = registry

    def resume(self, sites: Mapping[str, SiteTime]) -> None:
        """Carry on each site's event time from where it stood before a restart (ingest's
        :class:`~ingest.SeenLog`), so that a site silent across the restart still reaches
        its offline and inactivity deadlines.

        Until the site is heard from again, the ticks move its time on by the wall time
        since, but never past the newest event time heard from any site since the start:
        while the broker hands over what it queued during the stop, that backlog's time is
        the community's, and a site whose messages are still queued must not run ahead of
        them (a busy home would look inactive)."""
        for site, position in sites.items():
            if site not in self._sites:
                self._resumed[site] = position

    @property
    def cpu_us_per_message(self) -> float | None:
        """Thread CPU the detectors took a message, in microseconds (None before the first)."""
        return self.cpu_s / self.messages * 1e6 if self.messages else None

    def __call__(self, messages: Sequence[Message]) -> None:
        """Run the detectors over a stored batch, applying each message's decisions as soon
        as they are made: under load a batch is hundreds of messages, and the detectors' time
        for those after it was an alert's wait (``bench/alert_latency.py --trace``). A
        failure to apply does not stop the detectors; the first is raised after the batch."""
        self._swap_registry()
        started_s = time.thread_time()
        applying_s = 0.0
        failure: Exception | None = None
        for message in messages:
            made = self.engine.process_one(message)
            # Receipt time of a message stamped by its device (None: no live receipt).
            received_ms = None if message.ts_from_receipt else message.received_ms
            if received_ms is not None:
                site = self._sites.get(message.site)
                if site is None or message.ts_ms >= site.event_ms:
                    self._sites[message.site] = SiteTime(message.ts_ms, received_ms)
                self._resumed.pop(message.site, None)
                self._newest_ms = max(self._newest_ms or message.ts_ms, message.ts_ms)
            if made:
                applying_from_s = time.thread_time()
                try:
                    self._apply(made, received_ms)
                except Exception as exc:
                    failure = failure or exc
                applying_s += time.thread_time() - applying_from_s
        self.messages += len(messages)
        self.cpu_s += time.thread_time() - started_s - applying_s
        if failure is not None:
            raise failure

    def _apply(self, decisions: list[AlertDecision], received_ms: int | None) -> None:
        self.alerts.apply(decisions)
        if received_ms is not None:
            self.latency.observe(max(0, time.time_ns() // 1_000_000 - received_ms) / 1000)

    def site_now_ms(self, site: str, wall_ms: int) -> int | None:
        """The event time of ``site`` at wall time ``wall_ms``: its newest message's ``ts``
        carried on by the wall time since it came (the clock its timers run on), or None
        before the site is heard from. Safe to call from any thread."""
        position = self._sites.get(site) or self._resumed.get(site)
        if position is None:
            return None
        return position.event_ms + max(0, wall_ms - position.wall_ms)

    def tick(self, now_ms: int) -> None:
        self._swap_registry()
        decisions: list[AlertDecision] = []
        latest = 0
        for name, site in self._sites.items():
            event_now = site.event_ms + max(0, now_ms - site.wall_ms)
            latest = max(latest, event_now)
            decisions += self.engine.advance(event_now, name)
        for name, position in self._resumed.items():
            if self._newest_ms is None:
                break
            event_now = min(position.event_ms + max(0, now_ms - position.wall_ms),
                            self._newest_ms)
            if event_now >= position.event_ms:
                decisions += self.engine.advance(event_now, name)
        if decisions:
            self.alerts.apply(decisions)
        if latest:
            self.alerts.tick(latest)

    def _swap_registry(self) -> None:
        with self._lock:
            registry, self._pending_registry = self._pending_registry, None
        if registry is not None:
            self.engine.update_registry(registry)
