"""Constants of the ingest service."""

from typing import Final

RECONNECT_MIN_DELAY_S: Final = 1
RECONNECT_MAX_DELAY_S: Final = 30
PROTOCOL_PROBE_TIMEOUT_S: Final = 5.0
IDLE_TICK_S: Final = 1.0
HEALTH_FLUSH_INTERVAL_S: Final = 2.0
