"""Constants of the reading stores: the InfluxDB mapping and the default write options."""

from typing import Final

# InfluxDB mapping: one measurement per device kind, status messages in their own.
STATUS_MEASUREMENT: Final = "device_status"
UNKNOWN_MEASUREMENT: Final = "device"
TAG_KEYS: Final = ("channel", "device_id", "household", "kind", "site")  # sorted, as Influx likes
# Present (= 1) on every point: lets count() count messages across sparse field sets, and
# gives a button press with no reading a field to carry.
COUNT_FIELD: Final = "msg"
# Our own counters are integers; every other number is written as a float so that a reading
# sent once as 1 and once as 1.5 never conflicts on the field's type.
INT_FIELDS: Final = frozenset({"seq", "samples"})

# Embedded store.
SQLITE_SCHEMA_VERSION: Final = 1
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
# The WAL is copied back into the database by a thread of the store's own this often, off
# the writer's path; SQLite's own checkpoint in the writer's commit is only a backstop, at
# this many pages of WAL (40 MiB).
SQLITE_CHECKPOINT_INTERVAL_S: Final = 0.25
SQLITE_BACKSTOP_CHECKPOINT_PAGES: Final = 10_000
NO_SEQ: Final = -1  # stands for "no seq" in the embedded store's unique key (seq >= 0)

# InfluxDB writes: batches of the spool's journal, and the backoff while InfluxDB is away.
DEFAULT_BATCH_SIZE: Final = 1_000
DEFAULT_FLUSH_INTERVAL_S: Final = 0.5
# The outage buffer drains this many messages a request: InfluxDB takes a large request
# far faster than as many small ones, so the drain outruns any live rate it can sustain.
DEFAULT_DRAIN_BATCH_SIZE: Final = 10_000
DEFAULT_RETRY_INTERVAL_S: Final = 1.0
# A /ping this often at most while InfluxDB is away: back within seconds of its return.
DEFAULT_MAX_RETRY_DELAY_S: Final = 5.0
DEFAULT_TIMEOUT_S: Final = 10.0
SPOOL_FILE_NAME: Final = "influx-spool.db"
