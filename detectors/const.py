"""Constants of the detector engine."""

from typing import Final

MS_PER_S: Final = 1000
MS_PER_MIN: Final = 60 * MS_PER_S
MS_PER_HOUR: Final = 60 * MS_PER_MIN
MS_PER_DAY: Final = 24 * MS_PER_HOUR

# Rule names, also the first part of a detector's key in the engine (see detectors.rules).
RULE_SITE_HEALTH: Final = "site_health"
RULE_BUILDING_HEALTH: Final = "building_health"
RULE_GATEWAY_HEALTH: Final = "gateway_health"
RULE_DEVICE_HEALTH: Final = "device_health"
RULE_SMOKE: Final = "smoke"
RULE_SOS: Final = "sos"
RULE_FALL: Final = "fall"
RULE_WATER_LEAK: Final = "water_leak"
RULE_SLOW_LEAK: Final = "slow_leak"
RULE_DOOR: Final = "door"
RULE_NIGHT_WANDERING: Final = "night_wandering"
RULE_INACTIVITY: Final = "inactivity"
RULE_ROUTINE: Final = "routine"
