"""Where the live pipeline meets the detectors: runs them on ingest's consumer thread, moves
each site's event time on with the wall clock, and hands decisions to alerting."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from safehood.alerting import AlertManager
from safehood.detectors import DetectorEngine
from safehood.ingest import SiteTime
from safehood.protocol import AlertDecision, Message, Registry

log = logging.getLogger(__name__)


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

    def __call__(self, messages: Sequence[Message]) -> None:
        self._swap_registry()
        decisions: list[AlertDecision] = []
        for message in messages:
            decisions += self.engine.process_one(message)
            if message.received_ms is not None and not message.ts_from_receipt:
                site = self._sites.get(message.site)
                if site is None or message.ts_ms >= site.event_ms:
                    self._sites[message.site] = SiteTime(message.ts_ms, message.received_ms)
                self._resumed.pop(message.site, None)
                self._newest_ms = max(self._newest_ms or message.ts_ms, message.ts_ms)
        if decisions:
            self.alerts.apply(decisions)

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
