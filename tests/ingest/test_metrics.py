from prometheus_client import CollectorRegistry, Histogram

from safehood.ingest._metrics import observe_many


def _samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    return {(s.name, s.labels.get("le", "")): s.value
            for metric in histogram.collect() for s in metric.samples
            if not s.name.endswith("_created")}


def test_observe_many_counts_as_observe_one_by_one() -> None:
    amounts = [0.0, 0.05, 0.07, 0.1, 0.3, 2.0, 2.0, 7.5, 1e9]
    one_by_one, batched = (
        Histogram("lag_seconds", "lag", buckets=(0.05, 0.1, 1, 5), registry=CollectorRegistry())
        for _ in range(2))
    for amount in amounts:
        one_by_one.observe(amount)
    observe_many(batched, amounts[:4])
    observe_many(batched, amounts[4:])
    observe_many(batched, [])
    assert _samples(batched) == _samples(one_by_one)
    assert _samples(batched)[("lag_seconds_bucket", "0.05")] == 2
