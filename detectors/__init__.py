"""Streaming detectors of safehood: small pure rule objects over event time.

:class:`DetectorEngine` takes validated, enriched messages one at a time and returns
:class:`protocol.AlertDecision` objects (raise, update, clear) for alerting. Each rule is a
:class:`Detector` in its own module, declared there as a :class:`Rule` (kinds, scope, how its
detector is built and rebound) and listed in :data:`RULES`, which the engine loops over;
:class:`DetectorConfig` holds every threshold with its documented default.
"""

from .base import Detector, RegistryView, Rule
from .config import DetectorConfig
from .engine import DetectorEngine, EngineStats
from .rules import RULES

__all__ = [
    "RULES",
    "Detector",
    "DetectorConfig",
    "DetectorEngine",
    "EngineStats",
    "RegistryView",
    "Rule",
]
