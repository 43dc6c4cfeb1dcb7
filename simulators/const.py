"""Constants of the simulator: community shape, daily-life cadences, physics and radio."""

from typing import Final

MINUTE_MS: Final = 60_000
HOUR_MS: Final = 60 * MINUTE_MS
DAY_MS: Final = 24 * HOUR_MS

DEFAULT_START: Final = "2026-03-02T00:00:00Z"
DEFAULT_TIMEZONE: Final = "Asia/Shanghai"
DEFAULT_SITE_PREFIX: Final = "xianlin"
HOUSEHOLDS_PER_SITE: Final = 500
HOUSEHOLDS_PER_BUILDING: Final = 24
# Flats per floor: a building of 24 households has six floors, units 101-104 to 601-604.
UNITS_PER_FLOOR: Final = 4
# Every this many households reads English (an expatriate family); the rest Chinese.
ENGLISH_EVERY: Final = 6

# Share of each household composition; ``elderly_alone`` is the configurable one, the
# others are scaled so that the shares add up to one.
COMPOSITION_SHARES: Final[dict[str, float]] = {
    "elderly_alone": 0.25,
    "elderly_couple": 0.15,
    "family_with_elder": 0.12,
    "couple": 0.18,
    "single": 0.12,
    "family": 0.18,
}
DEFAULT_DEMENTIA_SHARE: Final = 0.15  # of elderly residents
NIGHT_HOURS: Final = (("22:00", "06:00"), ("22:30", "06:30"), ("21:30", "05:30"))

# Rooms with a motion sensor; bedroom2 only in households of three or more.
ROOMS: Final = ("hall", "kitchen", "living", "bathroom", "bedroom")
OUT: Final = "out"

# Cadences (milliseconds unless the name says otherwise).
STATUS_PERIOD_MIN_S: Final = 30 * 60
STATUS_PERIOD_MAX_S: Final = 60 * 60
SMOKE_PERIOD_MS: Final = 5 * MINUTE_MS
SMOKE_FAST_PERIOD_MS: Final = 10_000  # while obscuration is above the pre-alarm level
LEAK_PERIOD_MS: Final = HOUR_MS
METER_PERIOD_MS: Final = 15 * MINUTE_MS
METER_ACTIVE_LPM: Final = 1.0  # a minute with at least this much flow is reported on its own
WEARABLE_AWAKE_PERIOD_MS: Final = 20 * MINUTE_MS
WEARABLE_ASLEEP_PERIOD_MS: Final = 90 * MINUTE_MS
PIR_BLIND_MS: Final = 60_000  # a PIR sensor reports at most once a minute
OCCUPANCY_TIMEOUT_MS: Final = 10 * MINUTE_MS

# Accelerometer windows.
ACTIVITY_HZ: Final = 25.0
ACTIVITY_WINDOW_S: Final = 2.0
IMPACT_HZ: Final = 50.0
ACCEL_DECIMALS: Final = 3

# Smoke detector physics (obscuration in %/m, the contract's unit).
SMOKE_PREALARM: Final = 1.0
SMOKE_ALARM: Final = 8.0
SMOKE_MAX: Final = 30.0
BATTERY_LOW_PCT: Final = 15.0

# Radio defaults: a message lost now and then, a retransmission seen twice now and then.
DEFAULT_DROP: Final = 0.005
DEFAULT_DUPLICATE: Final = 0.002
RETRIES: Final = 3
RETRY_DELAY_MS: Final = (2_000, 6_000)
DUPLICATE_DELAY_MS: Final = (200, 2_000)

DEFAULT_RATE: Final = 10.0  # random incidents per 100 household-days
DEFAULT_CONNECTIONS: Final = 4
CHUNK_MESSAGES: Final = 400_000  # how many messages a worker sorts in memory at once
