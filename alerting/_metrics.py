"""Prometheus metrics of alerting (exposed by the API's /metrics)."""

from prometheus_client import Counter

ALERT_CHANGES = Counter(
    "safehood_alert_changes_total", "Alert lifecycle changes, by alert type and kind of change",
    ["type", "kind"],
)
NOTIFICATION_ATTEMPTS = Counter(
    "safehood_notification_attempts_total",
    "Notification delivery attempts, by audience and outcome (delivered, retrying, gave_up, failed)",
    ["audience", "outcome"],
)
NOTIFICATION_FAILURES = Counter(
    "safehood_notification_failures_total",
    "Notification attempts that did not deliver (retried or given up), by audience",
    ["audience"],
)
