"""Hand-made registries and messages for detector tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from safehood.detectors import DetectorConfig, DetectorEngine
from safehood.protocol import AlertDecision, Message, Registry
from tests._readings import reading

SITE = "s1"
# 2026-03-02T00:00:00Z, a Monday; households below are in UTC unless said otherwise.
T0 = 1_772_409_600_000
S = 1000
MIN = 60 * S
HOUR = 60 * MIN
DAY = 24 * HOUR

_seq = itertools.count(1)


def registry_data() -> dict[str, Any]:
    """One building with two households and a stairwell detector, one other household.

    h1: Wang Fang lives alone, elderly, with dementia; every kind of device.
    h2: a couple (not watched for inactivity), smoke and door.
    h3: an elderly man alone in another building, motion only.
    """
    def device(device_id: str, kind: str, household: str | None, room: str | None = None,
               resident: str | None = None, building: str | None = "b1") -> dict[str, Any]:
        return {"device_id": device_id, "site": SITE, "kind": kind, "household": household,
                "room": room, "resident": resident, "building": building}

    return {
        "households": [
            {"id": "h1", "site": SITE, "lives_alone": True, "night": ["22:00", "06:00"],
             "building": "b1"},
            {"id": "h2", "site": SITE, "lives_alone": False, "building": "b1"},
            {"id": "h3", "site": SITE, "lives_alone": True, "building": "b2"},
        ],
        "residents": [
            {"id": "r1", "household": "h1", "name": "Wang Fang", "elderly": True,
             "dementia": True},
            {"id": "r2", "household": "h2", "name": "Li Wei"},
            {"id": "r3", "household": "h2", "name": "Li Na"},
            {"id": "r4", "household": "h3", "name": "Zhao Gang", "elderly": True},
        ],
        "devices": [
            device("h1-smoke-kitchen", "smoke", "h1", "kitchen"),
            device("h1-smoke-hall", "smoke", "h1", "hall"),
            device("h1-leak", "water", "h1", "kitchen"),
            device("h1-meter", "water", "h1"),
            device("h1-door", "door", "h1", "entrance"),
            device("h1-balcony", "door", "h1", "balcony"),
            device("h1-motion-hall", "motion", "h1", "hall"),
            device("h1-motion-living", "motion", "h1", "living"),
            device("h1-button", "button", "h1", "bedroom", "r1"),
            device("r1-band", "wearable", "h1", None, "r1"),
            device("h2-smoke-kitchen", "smoke", "h2", "kitchen"),
            device("h2-door", "door", "h2", "entrance"),
            device("h3-motion-living", "motion", "h3", "living", building="b2"),
            device("b1-smoke-stair", "smoke", None, "stairwell"),
        ],
    }


def registry(**changes: Any) -> Registry:
    return Registry.from_data(registry_data() | changes)


def msg(
    reg: Registry,
    device_id: str,
    ts_ms: int,
    *,
    event: str | None = None,
    seq: int | None = None,
    battery: float | None = None,
    accel: Sequence[tuple[float, float, float]] = (),
    hz: float | None = None,
    ts_from_receipt: bool = False,
    **fields: Any,
) -> Message:
    """An enriched message of a registered device: an event, a status (``online=...``) or
    telemetry (anything else). Each gets a fresh ``seq`` unless one is given."""
    device = reg.device(device_id)
    assert device is not None, device_id
    seq = next(_seq) if seq is None else seq
    channel = "event" if event is not None else "status" if "online" in fields else "telemetry"
    if event is not None:
        fields["event"] = event
    elif channel == "telemetry" and device.kind == "wearable":
        fields |= {"accel": tuple(tuple(s) for s in accel), "hz": hz}
    ts = None if ts_from_receipt and channel == "status" else ts_ms
    message = Message.from_reading(reading(device.kind, channel, ts, seq=seq, battery=battery,
                                           **fields),
                                   device, received_ms=ts_ms if ts_from_receipt else None)
    return reg.enrich(message)


def feed(engine: DetectorEngine, messages: Iterable[Message]) -> list[AlertDecision]:
    out: list[AlertDecision] = []
    for message in messages:
        out += engine.process_one(message)
    return out


def summary(decisions: Iterable[AlertDecision]) -> list[tuple[str, str, str, int]]:
    """(action, type, subject, ts offset from T0 in s) of each decision: easy to assert on."""
    return [(d.action.value, d.type.value, d.subject, (d.ts_ms - T0) // S) for d in decisions]


def of_type(decisions: Iterable[AlertDecision], *types: str) -> list[AlertDecision]:
    return [d for d in decisions if d.type.value in types]


def engine(reg: Registry | None = None, **config: Any) -> DetectorEngine:
    return DetectorEngine(reg or registry(), DetectorConfig.from_data(config))


def run_until(reg: Registry, messages: Iterable[Message], until_ms: int, **config: Any
              ) -> list[AlertDecision]:
    """Every decision of a fresh engine fed ``messages`` and then advanced to ``until_ms``."""
    eng = engine(reg, **config)
    return feed(eng, messages) + eng.advance(until_ms)

