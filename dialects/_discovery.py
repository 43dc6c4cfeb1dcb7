"""What ``safehood devices discover`` makes of the traffic it heard: payload shapes per
topic and, for each topic the registry does not know, a suggested device entry and mapping."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safehood.protocol import ContractViolation, Registry, parse_topic
from safehood.protocol.const import DEVICE_KINDS

from ._mapping import Dialect, _leaves, decode_vendor_json
from .const import NAME_PLACEHOLDER

# Vendor field names that give a device's kind away, and the contract field they become.
_KIND_HINTS: dict[str, tuple[str, str | None]] = {
    "smoke": ("smoke", None),
    "water_leak": ("water", "leak"), "flood": ("water", "leak"), "leak": ("water", "leak"),
    "contact": ("door", "open"), "door": ("door", "open"), "window": ("door", "open"),
    "occupancy": ("motion", "occupancy"), "motion": ("motion", "occupancy"),
    "presence": ("motion", "occupancy"),
    "action": ("button", None), "sos": ("button", None), "emergency": ("button", None),
}
_TS_HINTS = ("ts", "time", "timestamp", "last_seen", "Time")
_BATTERY_HINTS = ("battery", "percent", "battery_percent", "Battery")
_NOT_AN_ID = re.compile(r"[^A-Za-z0-9_-]+")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    return "null" if value is None else type(value).__name__


@dataclass(slots=True)
class TopicShape:
    """The messages heard on one topic: how many, and the JSON paths seen with their types
    (a payload that is not a JSON object is one value, path ``""``)."""

    topic: str
    messages: int = 0
    retained: bool = False
    paths: dict[str, set[str]] = field(default_factory=dict)
    example: Any = None

    def observe(self, payload: bytes, retained: bool = False) -> None:
        self.messages += 1
        self.retained = self.retained or retained
        try:
            document = decode_vendor_json(payload)
        except ContractViolation:
            document = f"<{len(payload)} bytes, not UTF-8>"
        self.example = document
        for path, value in _leaves(document):
            self.paths.setdefault(path, set()).add(_type_name(value))

    @property
    def shape(self) -> dict[str, str]:
        return {path or "(payload)": "|".join(sorted(types)) for path, types in sorted(self.paths.items())}


def _kind_of(paths: Mapping[str, set[str]]) -> tuple[str | None, str | None, str | None]:
    """The kind the payload's names suggest, its deciding path, and its contract field."""
    for path in paths:
        # Innermost name first: Shelly's params.flood:0.alarm is a leak sensor's.
        for part in reversed(path.split(".")):
            hint = _KIND_HINTS.get(part.split(":")[0].lower())
            if hint is not None:
                return hint[0], path, hint[1]
    return None, None, None


def _mapping_for(shape: TopicShape, kind: str | None, path: str | None,
                 contract_field: str | None) -> dict[str, Any]:
    """A starting point for a mapping file of an unknown dialect (to edit, then load)."""
    head, _, _name = shape.topic.rpartition("/")
    mapping: dict[str, Any] = {
        "dialect": "my-vendor",
        "description": f"written from what was heard on {shape.topic}",
        "topic": f"{head}/{NAME_PLACEHOLDER}" if head else NAME_PLACEHOLDER,
    }
    ts = next((p for p in shape.paths if p.rsplit(".", 1)[-1] in _TS_HINTS), None)
    if ts is not None:
        mapping["ts"] = {"path": ts}
    battery = next((p for p in shape.paths if p.rsplit(".", 1)[-1] in _BATTERY_HINTS), None)
    if battery is not None:
        mapping["battery"] = {"path": battery}
    if kind is not None and path is not None:
        if contract_field is not None:
            rule: dict[str, Any] = {"channel": "telemetry",
                                    "fields": {contract_field: {"path": path}}}
        else:
            event = {"smoke": "alarm", "button": "sos"}.get(kind, "")
            rule = {"channel": "event", "event": {"path": path, "map": {True: event}}}
        mapping["kinds"] = {kind: [rule]}
    else:
        mapping["kinds"] = {k: [] for k in DEVICE_KINDS if k != "wearable"}
    return mapping


def suggest(shape: TopicShape, dialects: Mapping[str, Dialect], registry: Registry,
            topic_prefix: str, site: str = "SITE") -> dict[str, Any] | None:
    """What to add for the devices heard on ``shape.topic``: ``None`` when the registry
    knows it already, else the topic, its payload shape, the dialect that reads it (or a
    mapping to start one from) and a registry entry to complete (``site``, ``household``)."""
    claimed = {d.source_topic for d in registry.devices.values() if d.source_topic}
    for device in registry.devices.values():
        dialect = dialects.get(device.dialect or "")
        if dialect is not None and device.source_topic is not None:
            claimed.add(dialect.availability_topic(device.source_topic) or device.source_topic)
    if shape.topic in claimed:
        return None
    found: dict[str, Any] = {"topic": shape.topic, "messages": shape.messages,
                             "retained": shape.retained, "shape": shape.shape}
    if shape.topic.startswith(f"{topic_prefix}/"):
        try:
            place = parse_topic(shape.topic, topic_prefix)
        except ContractViolation:
            return None  # the dead letters say what is wrong with it
        if place.device_id in registry.devices:
            return None
        kind = shape.example.get("kind") if isinstance(shape.example, dict) else None
        found["dialect"] = "contract v1"
        found["device"] = {"device_id": place.device_id, "site": place.site,
                           "kind": kind or "KIND", "household": "HOUSEHOLD"}
        return found
    kind, path, contract_field = _kind_of(shape.paths)
    for dialect in dialects.values():
        name = dialect.device_name(shape.topic)
        if not dialect.matches(shape.topic):
            continue
        if name is None or shape.topic != dialect.source_topic(name):
            found["dialect"] = f"{dialect.name} (availability: suggested with its device)"
            return found
        found["dialect"] = dialect.name
        found["device"] = {"device_id": _NOT_AN_ID.sub("_", name)[:64], "site": site,
                           "kind": kind or "KIND", "household": "HOUSEHOLD",
                           "source_topic": shape.topic, "dialect": dialect.name}
        return found
    found["dialect"] = None
    found["mapping"] = _mapping_for(shape, kind, path, contract_field)
    name = shape.topic.rpartition("/")[2] or shape.topic
    found["device"] = {"device_id": _NOT_AN_ID.sub("_", name)[:64], "site": site,
                       "kind": kind or "KIND", "household": "HOUSEHOLD",
                       "source_topic": shape.topic, "dialect": "my-vendor"}
    return found
