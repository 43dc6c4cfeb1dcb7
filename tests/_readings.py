"""Readings of any device kind and channel, for the tests' message builders."""

from __future__ import annotations

from typing import Any

from safehood.protocol import (
    ButtonReading,
    DeviceEvent,
    DoorReading,
    MotionReading,
    Reading,
    SmokeReading,
    StatusReading,
    Telemetry,
    WaterReading,
    WearableWindow,
)

TELEMETRY: dict[str, type[Telemetry]] = {
    "smoke": SmokeReading, "wearable": WearableWindow, "water": WaterReading,
    "door": DoorReading, "motion": MotionReading, "button": ButtonReading,
}


def reading(kind: str | None, channel: str, ts: int | None, *, seq: int | None = None,
            battery: float | None = None, **fields: Any) -> Reading:
    """What a device of ``kind`` sends on ``channel``: a status, an event (``fields`` hold
    ``event`` and any ``credential``) or its kind's telemetry, with ``fields``."""
    if channel == "status":
        return StatusReading(ts=ts, battery=battery, **fields)
    assert kind is not None
    if channel == "event":
        return DeviceEvent(ts=ts, seq=seq, battery=battery, kind=kind, **fields)
    return TELEMETRY[kind](ts=ts, seq=seq, battery=battery, **fields)
