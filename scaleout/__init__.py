"""Scale-out on NATS JetStream (``safehood run --engine nats``): devices publish over MQTT to
any node of a NATS cluster; ingest workers (competing consumers) validate, store and
dead-letter every reading with ingest's own service; detector workers each hold the pinned
consumers of some partitions (sites are split into partitions by NATS itself), keep each
site's detector state in NATS KV, and write alerts to the shared database with idempotent
keys. See the README's "Scale-out on NATS JetStream".
"""

from ._detector_worker import DetectorWorker
from ._ingest_worker import JetStreamSource, build_ingest_worker
from ._jetstream import JetStreamConnection, ScaleOutError, ensure_streams
from ._source_watchdog import SourceWatchdog

__all__ = [
    "DetectorWorker",
    "JetStreamConnection",
    "JetStreamSource",
    "ScaleOutError",
    "SourceWatchdog",
    "build_ingest_worker",
    "ensure_streams",
]
