"""A declarative vendor dialect: how one vendor's MQTT JSON becomes contract v1 payloads.

A mapping file (YAML) names the vendor's topic pattern, where the event time and battery
are, and per device kind the contract messages to make: each rule takes values by JSON
path, converts units, maps values (``contact: false`` -> ``open: true``) and fires only
when every value it needs is there. Whatever no rule reads is kept as extra readings.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from safehood.protocol import ContractViolation, Reason, Scalar, Telemetry, parse_ts_ms
from safehood.protocol.const import DEVICE_KINDS, EVENTS_BY_KIND

from .const import MAX_EXTRAS, NAME_PLACEHOLDER

DialectName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Conversion = Literal["s_to_ms", "f_to_c"]

_CONVERSIONS: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "s_to_ms": (lambda s: s * 1000, lambda ms: ms / 1000),
    "f_to_c": (lambda f: (f - 32) * 5 / 9, lambda c: c * 9 / 5 + 32),
}
_TELEMETRY_FIELDS: dict[str, frozenset[str]] = {
    typing.cast(str, cls.__struct_config__.tag):
        frozenset(cls.__struct_fields__) - {"ts", "seq", "battery"}
    for cls in typing.get_args(Telemetry)
}
_MISSING = object()


class MappingError(ValueError):
    """A mapping file that cannot be read or is not a valid mapping."""


def _key(value: Any) -> tuple[str, Any]:
    """A value as a lookup key: ``true`` and ``1`` stay apart (Python's ``True == 1``)."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", float(value))
    return ("text", value)


def _resolve(document: Any, path: str) -> Any:
    """The value at dotted ``path`` of ``document``, or ``_MISSING``."""
    node = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _assign(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


class ValueSpec(BaseModel):
    """Where one contract value comes from: a JSON ``path`` (dotted) in the vendor payload,
    or a constant ``value``; then ``convert`` (a named unit conversion), ``scale`` and
    ``offset`` (``x * scale + offset``), then ``map`` (vendor value -> contract value; a
    value the map lacks makes the rule not fire). ``optional`` values may be absent."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    value: Scalar | None = None
    convert: Conversion | None = None
    scale: float = 1.0
    offset: float = 0.0
    map: dict[Scalar, Scalar] | None = None
    optional: bool = False
    _table: dict[tuple[str, Any], Scalar] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._table = {_key(k): v for k, v in (self.map or {}).items()}

    @model_validator(mode="after")
    def _one_source(self) -> ValueSpec:
        if (self.path is None) == (self.value is None):
            raise ValueError("give either path or value")
        if self.scale == 0:
            raise ValueError("scale must not be 0")
        return self

    def read(self, document: Any) -> Any:
        """The contract value, or ``_MISSING`` when the payload does not give one."""
        raw = self.value if self.path is None else _resolve(document, self.path)
        if raw is _MISSING or raw is None:
            return _MISSING
        if self.convert is not None or self.scale != 1.0 or self.offset != 0.0:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                return _MISSING
            if self.convert is not None:
                raw = _CONVERSIONS[self.convert][0](raw)
            raw = raw * self.scale + self.offset
        if self.map is not None:
            return self._table.get(_key(raw), _MISSING)
        return raw

    def write(self, document: dict[str, Any], value: Any) -> bool:
        """Put the vendor value that reads back as ``value`` into ``document`` (the mapping
        in reverse, for simulated vendor devices); False when none does."""
        if self.path is None:
            return _key(self.value) == _key(value)
        if self.map is not None:
            vendor = [k for k, v in self.map.items() if _key(v) == _key(value)]
            if not vendor:
                return False
            value = vendor[0]
        if self.convert is not None or self.scale != 1.0 or self.offset != 0.0:
            value = (value - self.offset) / self.scale
            if self.convert is not None:
                value = _CONVERSIONS[self.convert][1](value)
        _assign(document, self.path, value)
        return True


def _value_spec(value: Any) -> Any:
    """A bare scalar in a mapping file is a constant: ``event: tamper``."""
    return value if isinstance(value, dict | ValueSpec) or value is None else {"value": value}


class RuleSpec(BaseModel):
    """One contract message to make: a ``telemetry`` reading with ``fields``, or an
    ``event`` whose value is ``event``. It fires when every non-optional value is there."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["telemetry", "event"]
    event: ValueSpec | None = None
    fields: dict[str, ValueSpec] = Field(default_factory=dict)

    @field_validator("event", mode="before")
    @classmethod
    def _constant_event(cls, value: Any) -> Any:
        return _value_spec(value)

    @model_validator(mode="after")
    def _event_for_events(self) -> RuleSpec:
        if (self.channel == "event") != (self.event is not None):
            raise ValueError("an event rule needs `event`, a telemetry rule has none")
        return self


class AvailabilitySpec(BaseModel):
    """The vendor's (retained) online/offline topic, made into a contract ``status``.

    ``topic`` is a pattern with ``{name}``; a payload that is a JSON object is read at
    ``path``, anything else (``online``, ``true``) is the value itself; ``map`` says which
    values mean online (true) and offline (false)."""

    model_config = ConfigDict(extra="forbid")

    topic: str
    path: str | None = None
    map: dict[Scalar, bool]


class DialectSpec(BaseModel):
    """A mapping file, validated."""

    model_config = ConfigDict(extra="forbid")

    dialect: DialectName
    description: str = ""
    topic: str
    availability: AvailabilitySpec | None = None
    ts: ValueSpec | None = None
    battery: ValueSpec | None = None
    ignore: list[str] = Field(default_factory=list)
    kinds: dict[str, list[RuleSpec]]

    @field_validator("topic")
    @classmethod
    def _one_name(cls, value: str) -> str:
        if value.count(NAME_PLACEHOLDER) != 1 or "+" in value or "#" in value:
            raise ValueError(f"topic must hold {NAME_PLACEHOLDER} once and no wildcard")
        return value

    @model_validator(mode="after")
    def _contract_names(self) -> DialectSpec:
        for kind, rules in self.kinds.items():
            if kind not in DEVICE_KINDS:
                raise ValueError(f"kind {kind!r} is not one of {', '.join(DEVICE_KINDS)}")
            for rule in rules:
                unknown = set(rule.fields) - _TELEMETRY_FIELDS[kind]
                if rule.channel == "event" and rule.fields:
                    raise ValueError(f"{kind}: an event rule has no fields")
                if unknown:
                    raise ValueError(f"{kind}: {', '.join(sorted(unknown))} not a {kind} field")
                if rule.event is not None:
                    events = set(rule.event.map.values()) if rule.event.map else {rule.event.value}
                    if not events <= EVENTS_BY_KIND[kind]:
                        raise ValueError(f"{kind}: events {sorted(map(str, events))} are not all "
                                         f"of {', '.join(sorted(EVENTS_BY_KIND[kind]))}")
        if self.availability is not None and self.availability.topic.count(NAME_PLACEHOLDER) != 1:
            raise ValueError(f"availability.topic must hold {NAME_PLACEHOLDER} once")
        return self


@dataclass(frozen=True, slots=True)
class Translation:
    """A vendor message made into contract v1: the payloads (by channel, in order), whether
    the event time is the receipt time, and the vendor's readings no rule took."""

    payloads: tuple[tuple[str, dict[str, Any]], ...]
    ts_from_receipt: bool
    extras: tuple[tuple[str, Scalar], ...]


def _pattern(topic: str, name: str) -> re.Pattern[str]:
    head, tail = topic.split(NAME_PLACEHOLDER)
    return re.compile(re.escape(head) + f"(?P<name>{name})" + re.escape(tail))


def _leaves(document: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, document


def _under(path: str, roots: frozenset[str]) -> bool:
    """Whether ``path`` is one of ``roots`` or inside one."""
    parts = path.split(".")
    return any(".".join(parts[:i]) in roots for i in range(1, len(parts) + 1))


def _extra_value(value: Any) -> Scalar | None:
    if value is None:
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return orjson.dumps(value).decode()  # a list: kept, as its JSON text


def decode_vendor_json(payload: bytes) -> Any:
    """A vendor payload as JSON; a payload that is not JSON is its (stripped) text."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        try:
            return payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ContractViolation(Reason.BAD_ENCODING, "payload is not UTF-8") from None


class Dialect:
    """A compiled mapping file: matches the vendor's topics and translates its payloads
    (pure: no I/O, no clock; the receipt time is passed in)."""

    def __init__(self, spec: DialectSpec) -> None:
        self.spec = spec
        self.name = spec.dialect
        self._state = _pattern(spec.topic, "[^/]+")
        self._availability = (None if spec.availability is None
                              else _pattern(spec.availability.topic, "[^/]+"))
        self._name_of = _pattern(spec.topic, ".+")
        # Per kind, the paths its rules read and those ignored: the rest are extras.
        self._mapped = {kind: frozenset(self._paths(rules)) | frozenset(spec.ignore)
                        for kind, rules in spec.kinds.items()}
        self._mapped_without_rules = frozenset(self._paths([])) | frozenset(spec.ignore)

    @classmethod
    def load(cls, path: str | Path) -> Dialect:
        """Read a mapping file (YAML); raises :class:`MappingError` saying what is wrong."""
        try:
            return cls(DialectSpec.model_validate(yaml.safe_load(Path(path).read_text("utf-8"))))
        except (OSError, yaml.YAMLError, ValueError) as exc:
            raise MappingError(f"{path}: {exc}") from None

    @property
    def filters(self) -> list[str]:
        """MQTT subscriptions that receive every device of this dialect (one name level)."""
        topics = [self.spec.topic]
        if self.spec.availability is not None:
            topics.append(self.spec.availability.topic)
        return [t.replace(NAME_PLACEHOLDER, "+") for t in topics]

    def matches(self, topic: str) -> bool:
        """Whether ``topic`` is one of this dialect's (state or availability, any name)."""
        return bool(self._state.fullmatch(topic) or (
            self._availability is not None and self._availability.fullmatch(topic)))

    def device_name(self, source_topic: str) -> str | None:
        """The vendor's name of the device publishing on ``source_topic``."""
        match = self._name_of.fullmatch(source_topic)
        return match["name"] if match else None

    def source_topic(self, name: str) -> str:
        return self.spec.topic.replace(NAME_PLACEHOLDER, name)

    def availability_topic(self, source_topic: str) -> str | None:
        """The availability topic of the device on ``source_topic``, if the dialect has one."""
        name = self.device_name(source_topic)
        if self.spec.availability is None or name is None:
            return None
        return self.spec.availability.topic.replace(NAME_PLACEHOLDER, name)

    def translate(self, payload: bytes, kind: str, received_ms: int) -> Translation:
        """Translate a state message of a ``kind`` device; raises :class:`ContractViolation`
        for a payload that is not a JSON object or an event time that is not one."""
        document = decode_vendor_json(payload)
        if not isinstance(document, dict):
            raise ContractViolation(Reason.NOT_AN_OBJECT, f"{self.name} payload is not an object")
        spec = self.spec
        rules = spec.kinds.get(kind, [])
        ts = _MISSING if spec.ts is None else spec.ts.read(document)
        if ts is _MISSING or spec.ts is None:
            ts_ms, from_receipt = received_ms, True
        else:
            try:
                ts_ms = parse_ts_ms(round(ts) if isinstance(ts, float) else ts)
            except (TypeError, ValueError) as exc:
                raise ContractViolation(Reason.BAD_TIMESTAMP, f"{spec.ts.path}: {exc}") from None
            from_receipt = False
        common: dict[str, Any] = {"kind": kind}
        battery = _MISSING if spec.battery is None else spec.battery.read(document)
        if battery is not _MISSING:
            common["battery"] = battery
        payloads: list[tuple[str, dict[str, Any]]] = []
        for rule in rules:
            values = {name: value.read(document) for name, value in rule.fields.items()}
            if any(v is _MISSING and not rule.fields[n].optional for n, v in values.items()):
                continue
            body = {**common, **{n: v for n, v in values.items() if v is not _MISSING}}
            if rule.event is not None:
                event = rule.event.read(document)
                if event is _MISSING:
                    continue
                body["event"] = event
            # Messages of one channel at one time would be one message to the stores (same
            # identity): each further one is a millisecond later.
            later = sum(1 for channel, _ in payloads if channel == rule.channel)
            payloads.append((rule.channel, {"ts": ts_ms + later, **body}))
        if not payloads:
            # Nothing the detectors use, but the device spoke: a status carries the rest.
            status: dict[str, Any] = {"ts": ts_ms, "online": True}
            if battery is not _MISSING:
                status["battery"] = battery
            payloads.append(("status", status))
        mapped = self._mapped.get(kind, self._mapped_without_rules)
        extras = [(path, _extra_value(value)) for path, value in _leaves(document)
                  if not _under(path, mapped)]
        kept = tuple((p, v) for p, v in extras if v is not None)[:MAX_EXTRAS]
        return Translation(tuple(payloads), from_receipt, kept)

    def translate_availability(self, payload: bytes) -> Translation:
        """Translate an availability message into a contract status stamped on receipt."""
        spec = self.spec.availability
        assert spec is not None
        document = decode_vendor_json(payload)
        value = _resolve(document, spec.path) if isinstance(document, dict) and spec.path else document
        table = {_key(k): v for k, v in spec.map.items()}
        online = table.get(_key(value))
        if online is None:
            raise ContractViolation(Reason.BAD_TYPE, f"availability {value!r} is not one of "
                                    f"{', '.join(map(str, spec.map))}")
        return Translation((("status", {"online": online}),), True, ())

    def _paths(self, rules: list[RuleSpec]) -> Iterator[str]:
        specs = [self.spec.ts, self.spec.battery]
        for rule in rules:
            specs.extend([rule.event, *rule.fields.values()])
        for spec in specs:
            if spec is not None and spec.path is not None:
                yield spec.path

    def encode(self, channel: str, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """The vendor payload that translates back into contract ``payload`` (telemetry,
        event, or a status's battery), or ``None`` when this dialect cannot say it: the
        mapping in reverse, so a simulated device can speak the dialect."""
        document: dict[str, Any] = {}
        kind = payload.get("kind")
        # A state message no rule reads carries the battery (see translate).
        said = channel == "status" and "battery" in payload and self.spec.battery is not None
        for rule in self.spec.kinds.get(str(kind), []):
            if rule.channel != channel:
                continue
            if rule.event is not None:
                said = said or rule.event.write(document, payload.get("event"))
                continue
            if all(n in payload or s.optional for n, s in rule.fields.items()):
                said = all(s.write(document, payload[n]) for n, s in rule.fields.items()
                           if n in payload) or said
        if not said:
            return None
        if self.spec.ts is not None and "ts" in payload:
            self.spec.ts.write(document, payload["ts"])
        if self.spec.battery is not None and "battery" in payload:
            self.spec.battery.write(document, payload["battery"])
        return document

    def encode_availability(self, online: bool) -> bytes | None:
        """The vendor's availability payload for ``online`` (a JSON object at ``path``, else
        the bare value as text)."""
        spec = self.spec.availability
        if spec is None:
            return None
        value = next(k for k, v in spec.map.items() if v is online)
        if spec.path is None:
            return value.encode() if isinstance(value, str) else orjson.dumps(value)
        document: dict[str, Any] = {}
        _assign(document, spec.path, value)
        return orjson.dumps(document)
