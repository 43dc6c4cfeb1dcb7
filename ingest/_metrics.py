"""Prometheus metrics of ingest (exposed by the API's /metrics)."""

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "safehood_messages_total", "Valid messages ingested", ["channel", "kind"]
)
DEAD_LETTERS = Counter(
    "safehood_dead_letters_total", "Messages that broke the contract, by reason", ["reason"]
)
DUPLICATES = Counter("safehood_duplicates_total", "Duplicate messages dropped (same device, seq, ts)")
INGEST_LAG = Histogram(
    "safehood_ingest_lag_seconds",
    "Receipt time minus event time of ingested messages",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
QUEUE_DEPTH = Gauge("safehood_ingest_queue_depth", "Messages waiting between MQTT and the consumer")
STORE_WRITE_ERRORS = Counter(
    "safehood_store_write_errors_total", "Batches the store refused (they are retried)"
)
HANDLER_ERRORS = Counter(
    "safehood_handler_errors_total", "Exceptions raised by downstream handlers", ["handler"]
)
