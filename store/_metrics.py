"""Prometheus metrics of the reading stores (default registry, ``safehood_store_`` prefix)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

WRITTEN = Counter(
    "safehood_store_written_messages",
    "Messages the store accepted (InfluxDB: acknowledged by the server).",
    ["backend"],
)
RETRIES = Counter(
    "safehood_store_write_retries",
    "Write requests to InfluxDB that failed with a retryable error and were retried.",
)
SPOOLED = Counter(
    "safehood_store_spooled_messages",
    "Messages put in the disk spool because InfluxDB could not take them.",
)
RESUBMITTED = Counter(
    "safehood_store_resubmitted_messages",
    "Messages from the disk spool that InfluxDB took on a later attempt.",
)
REJECTED = Counter(
    "safehood_store_rejected_messages",
    "Messages InfluxDB refused for good (4xx); kept in the spool file's rejected table.",
)
SPOOL_DEPTH = Gauge(
    "safehood_store_spool_messages",
    "Messages waiting in the disk spool for InfluxDB to come back.",
)
