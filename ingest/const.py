"""Constants of the ingest service."""

from typing import Final

IDLE_TICK_S: Final = 1.0
HEALTH_FLUSH_INTERVAL_S: Final = 2.0
STORE_RETRY_MIN_DELAY_S: Final = 0.5
STORE_RETRY_MAX_DELAY_S: Final = 30.0
SEEN_PRUNE_INTERVAL_S: Final = 60.0
