"""Constants of the detector engine."""

from typing import Final

MS_PER_S: Final = 1000
MS_PER_MIN: Final = 60 * MS_PER_S
MS_PER_HOUR: Final = 60 * MS_PER_MIN
MS_PER_DAY: Final = 24 * MS_PER_HOUR

# Firmware of smoke alarms reports obscuration in %/m; the contract caps it at 30.
MAX_SMOKE_OBSCURATION: Final = 30.0

# Standard gravity in g: a still wearable measures a vector of this length.
ONE_G: Final = 1.0

# Rule names, also the first part of a detector's key in the engine (see detectors.rules).
RULE_SITE_HEALTH: Final = "site_health"
RULE_BUILDING_HEALTH: Final = "building_health"
RULE_GATEWAY_HEALTH: Final = "gateway_health"
RULE_DEVICE_HEALTH: Final = "device_health"
RULE_BATTERY: Final = "battery"
RULE_TAMPER: Final = "tamper"
RULE_SMOKE: Final = "smoke"
RULE_SOS: Final = "sos"
RULE_FALL: Final = "fall"
RULE_WATER_LEAK: Final = "water_leak"
RULE_SLOW_LEAK: Final = "slow_leak"
RULE_DOOR: Final = "door"
RULE_NIGHT_WANDERING: Final = "night_wandering"
RULE_INACTIVITY: Final = "inactivity"
