"""Constants of wire contract v1 (see DESIGN.md)."""

from typing import Final

CONTRACT_VERSION: Final = "v1"
DEFAULT_TOPIC_PREFIX: Final = "safehood"
MAX_PAYLOAD_BYTES: Final = 64 * 1024
# The stores keep seq as a signed 64-bit integer.
MAX_SEQ: Final = 2**63 - 1
DEADLETTER_CHANNEL: Final = "_deadletter"

CHANNELS: Final = ("telemetry", "event", "status")
DEVICE_KINDS: Final = ("smoke", "wearable", "water", "door", "motion", "button")

EVENTS_BY_KIND: Final[dict[str, frozenset[str]]] = {
    "smoke": frozenset({"alarm", "clear", "test", "tamper"}),
    "wearable": frozenset({"sos", "fall"}),
    "water": frozenset({"leak", "dry"}),
    "door": frozenset({"open", "close", "lock", "unlock", "forced", "denied"}),
    "motion": frozenset({"motion"}),
    "button": frozenset({"sos"}),
}

# Plausible event-time window: anything outside is a broken clock, not a reading.
MIN_TS_MS: Final = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_TS_MS: Final = 4_102_444_800_000  # 2100-01-01T00:00:00Z
