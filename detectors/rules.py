"""Every rule of the detector engine, in the order their detectors' timers fire when due at
the same instant: site health first, then building and gateway, so that a silent group is
known before what it holds is looked at. A new rule is one declaration in its own module,
added here."""

from __future__ import annotations

from typing import Any

from .base import Rule
from .device_health import (
    BUILDING_HEALTH_RULE,
    DEVICE_HEALTH_RULE,
    GATEWAY_HEALTH_RULE,
    SITE_HEALTH_RULE,
)
from .door import DOOR_RULE
from .fall import FALL_RULE
from .inactivity import INACTIVITY_RULE
from .night_wandering import NIGHT_WANDERING_RULE
from .routine import ROUTINE_RULE
from .smoke import SMOKE_RULE
from .sos import SOS_RULE
from .water import SLOW_LEAK_RULE, WATER_LEAK_RULE

RULES: tuple[Rule[Any], ...] = (
    SITE_HEALTH_RULE,
    BUILDING_HEALTH_RULE,
    GATEWAY_HEALTH_RULE,
    DEVICE_HEALTH_RULE,
    SMOKE_RULE,
    SOS_RULE,
    FALL_RULE,
    WATER_LEAK_RULE,
    SLOW_LEAK_RULE,
    DOOR_RULE,
    NIGHT_WANDERING_RULE,
    INACTIVITY_RULE,
    ROUTINE_RULE,
)
