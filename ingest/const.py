"""Constants of the ingest service."""

from typing import Final

IDLE_TICK_S: Final = 1.0
HEALTH_FLUSH_INTERVAL_S: Final = 2.0
# A transaction of 500 upserts holds SQLite's write lock for about 5 ms of CPU.
HEALTH_ROWS_PER_TRANSACTION: Final = 500
HEALTH_TRANSACTION_PAUSE_S: Final = 0.01
STORE_RETRY_MIN_DELAY_S: Final = 0.5
STORE_RETRY_MAX_DELAY_S: Final = 30.0
SEEN_PRUNE_INTERVAL_S: Final = 60.0
