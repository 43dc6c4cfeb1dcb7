"""The API's Prometheus gauges, computed at scrape time from the database."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from safehood.alerting import response_metrics
from safehood.database import dead_letters
from safehood.protocol import AlertStatus, AlertType

from ._shifts import alerts_between, site_schedule
from .const import RESPONSE_GAUGES_MAX_AGE_S, RESPONSE_WINDOW_MS

DAY_MS = 86_400_000

if TYPE_CHECKING:
    from ._context import Services

log = logging.getLogger(__name__)


class ApiCollector(Collector):
    """``safehood_alerts{type,status}`` (alerts in the database by type and status),
    ``safehood_dead_letters_stored{reason}``, the live-stream client gauges and the event
    loop's lag."""

    def __init__(self, services: Services, *,
                 response_max_age_s: float = RESPONSE_GAUGES_MAX_AGE_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self._response_max_age_s = response_max_age_s
        self._monotonic = monotonic
        self._response_lock = threading.Lock()
        self._response_gauges: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        alerts = GaugeMetricFamily("safehood_alerts", "Alerts in the database by type and status",
                                   labels=["type", "status"])
        stored = GaugeMetricFamily("safehood_dead_letters_stored",
                                   "Dead letters kept in the database, by reason",
                                   labels=["reason"])
        try:
            counts = self.services.context.alerts.count_by_type_and_status()
            for alert_type in AlertType:
                for status in AlertStatus:
                    alerts.add_metric([alert_type.value, status.value],
                                      counts.get((alert_type, status), 0))
            query = select(dead_letters.c.reason, func.count()).group_by(dead_letters.c.reason)
            with self.services.context.engine.connect() as connection:
                for reason, n in connection.execute(query):
                    stored.add_metric([reason], int(n))
        except Exception:  # a scrape must not fail because the database is busy
            log.exception("computing alert metrics failed")
        yield alerts
        yield stored
        yield from self._response()
        streams = self.services.streams
        yield GaugeMetricFamily("safehood_api_stream_clients", "Open live-stream connections",
                                value=streams.clients)
        yield CounterMetricFamily("safehood_api_stream_dropped_clients",
                                "Live-stream clients dropped for falling behind",
                                value=streams.dropped_clients)
        lag = self.services.loop_lag
        yield GaugeMetricFamily("safehood_api_event_loop_lag_max_seconds",
                                "The longest pause of the API's event loop in the last minute "
                                "(garbage collection, the GIL held elsewhere, blocking work)",
                                value=lag.worst_s)
        yield CounterMetricFamily("safehood_api_event_loop_lag_seconds",
                                  "All pauses of the API's event loop added up",
                                  value=lag.total_s)


    def _response(self) -> list[Metric]:
        """The response gauges as last computed, computed again once older than the
        collector's ``response_max_age_s`` (a failed computation is not kept)."""
        with self._response_lock:  # concurrent scrapes compute them once
            now = self._monotonic()
            kept = self._response_gauges
            if kept is not None and now - kept[0] < self._response_max_age_s:
                return kept[1]
            try:
                gauges = self._compute_response()
            except Exception:  # a scrape must not fail because the database is busy
                log.exception("computing response metrics failed")
                return list(_response_families().values())
            self._response_gauges = (now, gauges)
            return gauges

    def _compute_response(self) -> list[Metric]:
        """Response times of the last week per site, alert type (``*``: all) and shift
        start, computed as the API's ``/sites/{site}/response`` does."""
        families = _response_families()
        context = self.services.context
        registry = self.services.registry.load()
        until = context.clock()
        for site in registry.sites():
            schedule = site_schedule(context.settings, registry, site)
            alerts = alerts_between(context.alerts, (site,), until - RESPONSE_WINDOW_MS, until)
            for row in response_metrics(alerts, {site: schedule}, by_shift="name"):
                labels = [row.site, row.type, row.shift]
                for measure, figures in (("acknowledge", row.acknowledge),
                                         ("resolve", row.resolve)):
                    for quantile, value in (("0.5", figures.median_s), ("0.9", figures.p90_s)):
                        if value is not None:
                            families[(measure, "seconds")].add_metric([*labels, quantile], value)
                    if figures.within_60s is not None:
                        families[(measure, "within_60s_ratio")].add_metric(
                            labels, figures.within_60s)
        return list(families.values())


def _response_families() -> dict[tuple[str, str], GaugeMetricFamily]:
    """The response gauges, empty."""
    return {
        (measure, kind): GaugeMetricFamily(
            f"safehood_response_{measure}_{kind}",
            f"Time to {measure} alerts started in the last {RESPONSE_WINDOW_MS // DAY_MS} days"
            + (" (seconds; median and p90)" if kind == "seconds" else
               ": share of alerts within 60 s"),
            labels=["site", "type", "shift", *(["quantile"] if kind == "seconds" else [])])
        for measure in ("acknowledge", "resolve") for kind in ("seconds", "within_60s_ratio")
    }


def api_registry(services: Services) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ApiCollector(services))
    return registry
