"""The API's Prometheus gauges, computed at scrape time from the database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from safehood.alerting import AlertQuery
from safehood.database import dead_letters
from safehood.protocol import AlertStatus, AlertType

if TYPE_CHECKING:
    from ._context import Services

log = logging.getLogger(__name__)


class ApiCollector(Collector):
    """``safehood_alerts{type,status}`` (alerts in the database by type and status),
    ``safehood_dead_letters_stored{reason}``, and the live-stream client gauges."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        alerts = GaugeMetricFamily("safehood_alerts", "Alerts in the database by type and status",
                                   labels=["type", "status"])
        stored = GaugeMetricFamily("safehood_dead_letters_stored",
                                   "Dead letters kept in the database, by reason",
                                   labels=["reason"])
        try:
            manager = self.services.context.alerts
            for alert_type in AlertType:
                for status in AlertStatus:
                    n = manager.count(AlertQuery(types=(alert_type,), statuses=(status,)))
                    alerts.add_metric([alert_type.value, status.value], n)
            query = select(dead_letters.c.reason, func.count()).group_by(dead_letters.c.reason)
            with self.services.context.engine.connect() as connection:
                for reason, n in connection.execute(query):
                    stored.add_metric([reason], int(n))
        except Exception:  # a scrape must not fail because the database is busy
            log.exception("computing alert metrics failed")
        yield alerts
        yield stored
        streams = self.services.streams
        yield GaugeMetricFamily("safehood_api_stream_clients", "Open live-stream connections",
                                value=streams.clients)
        yield CounterMetricFamily("safehood_api_stream_dropped_clients",
                                "Live-stream clients dropped for falling behind",
                                value=streams.dropped_clients)


def api_registry(services: Services) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ApiCollector(services))
    return registry
