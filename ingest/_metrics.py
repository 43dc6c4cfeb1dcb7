"""Prometheus metrics of ingest (exposed by the API's /metrics)."""

from bisect import bisect_left
from collections.abc import Sequence

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


def observe_many(histogram: Histogram, amounts: Sequence[float]) -> None:
    """``histogram.observe`` of each of ``amounts`` (an unlabelled histogram, no exemplars),
    with one update a bucket: a batch's lags took a lock and a walk of the buckets each
    (3% of ingest's consumer thread, py-spy). Uses the client's bucket values, which it has
    no public way to add many to; ``tests/ingest/test_metrics.py`` holds it to ``observe``."""
    if not amounts:
        return
    bounds = histogram._upper_bounds
    counts = [0] * len(bounds)
    for amount in amounts:
        counts[bisect_left(bounds, amount)] += 1
    histogram._sum.inc(sum(amounts))
    for bucket, count in zip(histogram._buckets, counts, strict=True):
        if count:
            bucket.inc(count)
