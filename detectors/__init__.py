"""Streaming detectors of safehood: small pure rule objects over event time.

:class:`DetectorEngine` takes validated, enriched messages one at a time and returns
:class:`protocol.AlertDecision` objects (raise, update, clear) for alerting. Each rule is a
:class:`Detector` in its own module, declared there as a ``base.Rule`` (kinds, scope, how its
detector is built and rebound) and listed in ``rules.RULES``, which the engine loops over;
:class:`DetectorConfig` holds every threshold with its documented default.
"""

from .base import Detector
from .config import DetectorConfig
from .engine import DetectorEngine, EngineStats

__all__ = ["Detector", "DetectorConfig", "DetectorEngine", "EngineStats"]
